// What a dataset reader produces before any pixel is decoded: one entry per
// frame (files, camera, split, name) and the scene's bounds. Planning is
// cheap (metadata only), so the node's cache key can stat every file it names.

import { NodeError } from '../../engine';
import type { Camera, ViewSplit, ViewsValue } from '../../engine/values';

export type DatasetFormat = 'blender' | 'nerfstudio' | 'llff';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['blender', 'nerfstudio', 'llff'];
export const SPLITS: readonly ViewSplit[] = ['train', 'val', 'test'];

/** How a ground-truth depth file encodes depth (docs/cameras.md). */
export type DepthEncoding =
  /** float32 .npy [H, W], planar depth along -Z, 0 = no surface (samnerf scene). */
  | 'npy'
  /** 16-bit gray PNG, planar depth = value / 1000, 0 = no surface (samnerf scene). */
  | 'png16'
  /** NeRF-synthetic test depth: 8-bit, distance along the ray = 8 * (1 - value / 255), 0 = background. */
  | 'blender8';

export interface FramePlan {
  /** Image path relative to the dataset folder without extension, e.g. "train/r_0". */
  name: string;
  split: ViewSplit;
  /** The file to decode (may be a pre-downscaled copy, e.g. images_4/...). */
  image: string;
  /** Camera for the image as decoded, from its decoded size (Blender derives intrinsics from it). */
  camera(width: number, height: number): Camera;
  /** Size the metadata declares for `image`; a decoded size further than `tolerance` px from it is an error. */
  declared?: { width: number; height: number; tolerance: number; source: string };
  /** Resize factor still to apply after decoding (the `scale` param over what a downscaled folder already did). */
  resize: number;
  depth?: { path: string; encoding: DepthEncoding };
  instances?: string;
  /** Where the frame is described, for messages: "transforms_train.json frame 12". */
  where: string;
}

export interface DatasetPlan {
  format: DatasetFormat;
  root: string;
  frames: FramePlan[];
  scene: Pick<ViewsValue, 'bounds' | 'near' | 'far' | 'sceneKind'>;
  /** Metadata files read while planning (for the cache key). */
  metaFiles: string[];
  /** Remarks for the node log (ignored distortion terms and the like). */
  notes: string[];
}

export interface PlanOptions {
  splits: ReadonlySet<ViewSplit>;
  /** Hold out every Nth view as test for formats without split files; 0 = none. */
  evalEvery: number;
  /** Image scale in (0, 1]. */
  scale: number;
  /** Look for depth and instance files. */
  groundTruth: boolean;
}

/** Parses the `splits` param: "train,test" -> {train, test}. */
export function parseSplits(text: string): Set<ViewSplit> {
  const parts = text.split(/[\s,]+/).filter((s) => s !== '');
  if (parts.length === 0) throw new NodeError('no split chosen', { param: 'splits', fix: 'use a comma-separated list of train, val and test, e.g. "train,test"' });
  const out = new Set<ViewSplit>();
  for (const p of parts) {
    if (!(SPLITS as readonly string[]).includes(p)) throw new NodeError(`unknown split "${p}"`, { param: 'splits', fix: 'use a comma-separated list of train, val and test, e.g. "train,test"' });
    out.add(p as ViewSplit);
  }
  return out;
}

/** Hold-out rule for datasets without split files (LLFF's llffhold): views 0, N, 2N, ... are test. */
export function holdOutSplit(index: number, evalEvery: number): ViewSplit {
  return evalEvery > 0 && index % evalEvery === 0 ? 'test' : 'train';
}

export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new NodeError(`${file} is not valid JSON (${(e as Error).message})`, { param: 'path', fix: 'repair the file or point "path" at another dataset' });
  }
}

export function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** 1/scale as an integer factor when it is one (0.25 -> 4), for picking images_4/-style folders. */
export function integerFactor(scale: number): number | undefined {
  const k = Math.round(1 / scale);
  return k > 1 && Math.abs(1 / scale - k) < 1e-6 ? k : undefined;
}
