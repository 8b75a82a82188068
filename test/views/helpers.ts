// Shared bits of the dataset tests: a host over the file system, running
// ImageLoader directly, and writing tiny datasets.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import type { NodeContext } from '../../engine';
import { nodeFiles } from '../../cli/node-files';
import type { SamnerfHost } from '../../nodes/host';
import { ImageLoader } from '../../nodes/image-loader';
import { sharpImageCodec } from '../../runtime-gpu/image/codec-sharp';

export const host = { files: nodeFiles, images: sharpImageCodec } as unknown as SamnerfHost;

export const LOADER_DEFAULTS = Object.fromEntries(Object.entries(ImageLoader.params).map(([k, spec]) => [k, spec.default]));

/** Runs ImageLoader's run() with its defaults overridden by `params`. */
export async function runLoader(params: Record<string, unknown>, logs: string[] = []) {
  const ctx: NodeContext<SamnerfHost> = {
    nodeId: 'load',
    signal: new AbortController().signal,
    progress: () => {},
    log: (m) => logs.push(m),
    host,
    inputSignature: () => undefined,
    memo: (_key, compute) => compute(),
  };
  return ImageLoader.run(ctx, {}, { ...LOADER_DEFAULTS, ...params });
}

/** The NodeError a promise rejects with (message and param), or fails the test when it resolves. */
export async function failure(promise: Promise<unknown>): Promise<{ message: string; param?: string }> {
  try {
    await promise;
  } catch (e) {
    return { message: (e as Error).message, param: (e as { param?: string }).param };
  }
  throw new Error('expected a failure');
}

export function write(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

/** A w x h PNG filled with one colour. */
export async function solidPng(path: string, width: number, height: number, rgb: [number, number, number]): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  mkdirSync(dirname(path), { recursive: true });
  await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

/** A .npy (v1.0, little-endian float64, C order) built by hand, independent of the reader under test. */
export function npyFloat64(values: number[], shape: number[]): Uint8Array {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = Buffer.alloc(10 + header.length + values.length * 8);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  values.forEach((v, i) => out.writeDoubleLE(v, 10 + header.length + i * 8));
  return out;
}
