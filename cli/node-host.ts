// SamnerfHost for the command line: the file system, sharp for images
// (pngjs where sharp's native binary is missing), onnxruntime-node for
// models, tuned sessions and worker shards for NeRF training, WebGPU (Dawn)
// for NeRF training on a GPU.

import type { SamnerfHost } from '../nodes/host';
import { registerOrtNode } from '../runtime-gpu/backends/ort-node';
import type { ImageCodec } from '../runtime-gpu/image/codec';
import { registerNerfNode } from '../runtime-gpu/nerf/node';
import { registerWebGpuNode } from '../runtime-gpu/webgpu/node';
import { FolderOutputWriter, nodeFiles } from './node-files';
import { createNodeModelProvider } from './node-models';

export const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type DeviceChoice = (typeof DEVICES)[number];

export interface NodeHostOptions {
  out: string;
  device: DeviceChoice;
  /** Model cache folder (default: $SAMNERF_CACHE or ~/.cache/samnerf). */
  cacheDir?: string;
}

export async function createNodeHost(options: NodeHostOptions): Promise<SamnerfHost & { output: FolderOutputWriter }> {
  registerOrtNode();
  registerNerfNode();
  // Dawn loads on first use only (device webgpu, or auto finding a hardware adapter).
  registerWebGpuNode();
  return {
    files: nodeFiles,
    output: new FolderOutputWriter(options.out),
    images: await nodeImageCodec(),
    models: createNodeModelProvider(options.device, options.cacheDir),
    device: options.device,
  };
}

let codec: Promise<ImageCodec> | undefined;

/** sharp when its native binary loads; else pngjs (PNG only; JPEG then fails naming the fix). */
export function nodeImageCodec(): Promise<ImageCodec> {
  codec ??= import('../runtime-gpu/image/codec-sharp').then(
    (m) => m.sharpImageCodec,
    async (e: unknown) => {
      process.emitWarning(`sharp did not load (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); reading PNG only, with pngjs`);
      return (await import('../runtime-gpu/image/codec-pngjs')).pngjsImageCodec;
    },
  );
  return codec;
}
