// Decoding a planned dataset into a Views value: images (composited over the
// background), the size check against the metadata, the `scale` resize with
// intrinsics scaled to match, and ground-truth depth and instance ids.

import { NodeError } from '../../engine';
import type { Camera, ImageValue, View, ViewsValue } from '../../engine/values';
import { resizeRgb8 } from '../../runtime-gpu/image/resize';
import type { SamnerfHost } from '../host';
import { resizeCamera } from './camera';
import { readNpy } from './npy';
import type { DatasetPlan, DepthEncoding, FramePlan } from './plan';
import { decodeRawPng } from './png-raw';

export interface LoadOptions {
  background: [number, number, number];
  signal?: AbortSignal;
  progress?: (done: number, total: number) => void;
  /** Decodes in flight at once (the host's codec may use a thread pool). */
  concurrency?: number;
}

export async function loadPlan(plan: DatasetPlan, host: SamnerfHost, options: LoadOptions): Promise<ViewsValue> {
  const views: View[] = new Array(plan.frames.length);
  let done = 0;
  await pool(plan.frames.length, options.concurrency ?? 8, async (i) => {
    options.signal?.throwIfAborted();
    views[i] = await loadFrame(plan.frames[i]!, host, options);
    options.progress?.(++done, plan.frames.length);
  });
  return { kind: 'Views', views, ...plan.scene, source: plan.root, format: plan.format };
}

async function loadFrame(frame: FramePlan, host: SamnerfHost, options: LoadOptions): Promise<View> {
  const bytes = await readOrFail(host, frame.image, frame);
  let decoded;
  try {
    decoded = await host.images.decode(bytes, { name: frame.image, background: options.background });
  } catch (e) {
    throw new NodeError(`${frame.where}: ${(e as Error).message}`, { param: 'path', fix: 'replace the file with a readable PNG or JPEG' });
  }
  const { width, height } = decoded.image;
  const d = frame.declared;
  if (d && (Math.abs(width - d.width) > d.tolerance || Math.abs(height - d.height) > d.tolerance))
    throw new NodeError(`${frame.where}: the image "${frame.image}" is ${width}x${height} but ${d.source} says ${fmt(d.width)}x${fmt(d.height)}`, {
      param: 'path',
      fix: 'fix the intrinsics in the metadata (w, h and the focal length and centre with them) or restore the image at its original size',
    });
  let camera = frame.camera(width, height);
  let depth = frame.depth ? await readDepth(host, frame, frame.depth.path, frame.depth.encoding, width, height, camera, decoded.alpha) : undefined;
  let instances = frame.instances ? await readInstances(host, frame, frame.instances, width, height) : undefined;
  let rgb = decoded.image.data;
  let alpha = decoded.alpha;

  const outW = Math.max(1, Math.round(width * frame.resize));
  const outH = Math.max(1, Math.round(height * frame.resize));
  if (outW !== width || outH !== height) {
    rgb = resizeRgb8(rgb, width, height, outW, outH);
    if (alpha) alpha = resizeGray8(alpha, width, height, outW, outH);
    if (depth) depth = resampleNearest(depth, width, height, outW, outH);
    if (instances) instances = resampleNearest(instances, width, height, outW, outH);
    camera = resizeCamera(camera, outW, outH);
  }
  const image: ImageValue = { kind: 'Image', width: outW, height: outH, data: rgb, name: frame.name };
  const view: View = { name: frame.name, split: frame.split, image, camera };
  if (alpha) view.alpha = alpha;
  if (depth) view.depth = depth;
  if (instances) view.instances = instances;
  return view;
}

async function readOrFail(host: SamnerfHost, path: string, frame: FramePlan): Promise<Uint8Array> {
  try {
    return await host.files.readFile(path);
  } catch (e) {
    throw new NodeError(`${frame.where}: cannot read "${path}" (${(e as Error).message})`, { param: 'path', fix: 'restore the file or remove the frame from the dataset' });
  }
}

/**
 * Planar depth along -Z for each pixel, 0 where there is none. The NeRF
 * synthetic 8-bit maps store distance along the ray as 8 * (1 - v / 255)
 * (measured: docs/cameras.md); they are trusted only where the image is
 * fully opaque, since edge pixels blend object and background.
 */
async function readDepth(host: SamnerfHost, frame: FramePlan, path: string, encoding: DepthEncoding, width: number, height: number, camera: Camera, alpha?: Uint8Array): Promise<Float32Array> {
  const bytes = await readOrFail(host, path, frame);
  const bad = (what: string) => new NodeError(`${frame.where}: depth file "${path}" ${what}`, { param: 'path', fix: 'regenerate the depth file, or turn groundTruth off' });
  let out: Float32Array;
  try {
    if (encoding === 'npy') {
      const a = readNpy(bytes);
      if (a.shape[0] !== height || a.shape[1] !== width || a.shape.slice(2).some((s) => s !== 1)) throw bad(`has shape (${a.shape.join(', ')}), the image is ${width}x${height}`);
      return a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
    }
    const png = decodeRawPng(bytes, path, true);
    if (png.width !== width || png.height !== height) throw bad(`is ${png.width}x${png.height}, the image is ${width}x${height}`);
    out = new Float32Array(width * height);
    if (encoding === 'png16') {
      if (png.bitDepth !== 16) throw bad('is not a 16-bit PNG');
      for (let i = 0; i < out.length; i++) out[i] = png.data[i]! / 1000;
      return out;
    }
    const max = png.bitDepth === 16 ? 65535 : 255;
    for (let y = 0, i = 0; y < height; y++) {
      const dy = (y + 0.5 - camera.cy) / camera.fy;
      for (let x = 0; x < width; x++, i++) {
        const v = png.data[i]!;
        if (v === 0 || (alpha && alpha[i] !== 255)) continue;
        const dx = (x + 0.5 - camera.cx) / camera.fx;
        out[i] = (8 * (1 - v / max)) / Math.sqrt(dx * dx + dy * dy + 1);
      }
    }
    return out;
  } catch (e) {
    if (e instanceof NodeError) throw e;
    throw bad(`cannot be read: ${(e as Error).message}`);
  }
}

async function readInstances(host: SamnerfHost, frame: FramePlan, path: string, width: number, height: number): Promise<Uint16Array> {
  const bytes = await readOrFail(host, path, frame);
  let png;
  try {
    png = decodeRawPng(bytes, path, true);
  } catch (e) {
    throw new NodeError(`${frame.where}: instance mask "${path}" cannot be read: ${(e as Error).message}`, { param: 'path', fix: 'regenerate it, or turn groundTruth off' });
  }
  if (png.width !== width || png.height !== height)
    throw new NodeError(`${frame.where}: instance mask "${path}" is ${png.width}x${png.height}, the image is ${width}x${height}`, { param: 'path', fix: 'regenerate it, or turn groundTruth off' });
  const out = new Uint16Array(width * height);
  out.set(png.data);
  return out;
}

/** One 8-bit channel through the PIL-style RGB resize (so alpha and colour are filtered alike). */
export function resizeGray8(src: Uint8Array, w: number, h: number, outW: number, outH: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < src.length; i++) rgb[3 * i] = src[i]!;
  const resized = resizeRgb8(rgb, w, h, outW, outH);
  const out = new Uint8Array(outW * outH);
  for (let i = 0; i < out.length; i++) out[i] = resized[3 * i]!;
  return out;
}

/** Data maps (depth, ids) must not blend: each output pixel takes the input pixel under its centre. */
export function resampleNearest<T extends Float32Array | Uint16Array>(src: T, w: number, h: number, outW: number, outH: number): T {
  const out = new (src.constructor as new (n: number) => T)(outW * outH);
  for (let y = 0; y < outH; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH));
    for (let x = 0; x < outW; x++) out[y * outW + x] = src[sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW))]!;
  }
  return out;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      try {
        await work(next++);
      } catch (e) {
        next = count; // stop the other workers too
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
