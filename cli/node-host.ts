// SamnerfHost for the command line: the file system, sharp for images,
// onnxruntime-node for models.

import type { SamnerfHost } from '../nodes/host';
import { registerOrtNode } from '../runtime-gpu/backends/ort-node';
import { sharpImageCodec } from '../runtime-gpu/image/codec-sharp';
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
  return {
    files: nodeFiles,
    output: new FolderOutputWriter(options.out),
    images: sharpImageCodec,
    models: createNodeModelProvider(options.device, options.cacheDir),
    device: options.device,
  };
}
