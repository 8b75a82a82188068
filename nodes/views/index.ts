// Posed-image datasets: find the format of a folder, plan its frames, load
// them into a Views value. Platform-neutral: everything goes through the
// host's file access and image codec.

import { NodeError } from '../../engine';
import type { ViewsValue } from '../../engine/values';
import type { SamnerfHost } from '../host';
import { BLENDER_FILES, planBlender } from './blender';
import { basename, dirname, FolderIndex, joinPath } from './files';
import { LLFF_FILE, planLlff } from './llff';
import { loadPlan, type LoadOptions } from './load';
import { planNerfstudio } from './nerfstudio';
import type { DatasetFormat, DatasetPlan, PlanOptions } from './plan';

export type { DatasetFormat, DatasetPlan, FramePlan, PlanOptions, DepthEncoding } from './plan';
export { DATASET_FORMATS, parseSplits, holdOutSplit } from './plan';
export type { LoadOptions } from './load';
export { cameraCentre, cameraForward, pixelRay, project, unproject, resizeCamera, type Vec3 } from './camera';
export { llffPoseToCameraToWorld } from './llff';
export { readNpy, writeNpy, NpyError, type NpyArray } from './npy';
export { decodeRawPng, encodeRawPng, type RawPng } from './png-raw';

export interface DatasetLocation {
  /** The dataset folder. */
  root: string;
  format: DatasetFormat;
  /** The metadata file when `path` named one (nerfstudio files may have another name than transforms.json). */
  file?: string;
}

/**
 * Where the dataset behind `path` is and its format: `path` may be the folder
 * or one of its metadata files. undefined when `format` is 'auto' and `path`
 * holds no dataset (the caller then treats it as plain images).
 */
export async function locateDataset(host: SamnerfHost, path: string, format: DatasetFormat | 'auto'): Promise<DatasetLocation | undefined> {
  const stat = await host.files.stat(path);
  if (!stat) return undefined;
  const index = new FolderIndex(host.files);
  if (!stat.isDirectory) {
    const name = basename(path);
    const root = dirname(path);
    const byName: DatasetFormat | undefined = BLENDER_FILES.includes(name) ? 'blender' : name === LLFF_FILE ? 'llff' : /\.json$/i.test(name) ? 'nerfstudio' : undefined;
    if (format === 'auto') {
      if (!byName) return undefined;
      if (byName === 'nerfstudio' && !(await looksLikeTransforms(host, path))) return undefined;
      return { root, format: byName, file: name };
    }
    if (byName && byName !== format && !(format === 'nerfstudio' && /\.json$/i.test(name)))
      throw new NodeError(`"${name}" is a ${byName} file but format is ${format}`, { param: 'format', fix: `set "format" to ${byName} or auto` });
    return { root, format, file: format === 'nerfstudio' ? name : undefined };
  }
  if (format !== 'auto') return { root: path, format };
  const has = (file: string) => index.exists(joinPath(path, file));
  for (const file of BLENDER_FILES) if (await has(file)) return { root: path, format: 'blender' };
  if (await has('transforms.json')) return { root: path, format: 'nerfstudio' };
  if (await has(LLFF_FILE)) return { root: path, format: 'llff' };
  return undefined;
}

async function looksLikeTransforms(host: SamnerfHost, path: string): Promise<boolean> {
  try {
    const json = JSON.parse(new TextDecoder().decode(await host.files.readFile(path))) as { frames?: unknown };
    return Array.isArray(json.frames);
  } catch {
    return false;
  }
}

/** The frames and scene of a dataset, from its metadata only. */
export async function planDataset(host: SamnerfHost, location: DatasetLocation, options: PlanOptions): Promise<DatasetPlan> {
  const index = new FolderIndex(host.files);
  switch (location.format) {
    case 'blender':
      return planBlender(index, location.root, options);
    case 'nerfstudio':
      return planNerfstudio(index, location.root, options, location.file);
    case 'llff':
      return planLlff(index, location.root, options);
  }
}

/** Size and time of every file a plan reads, so an edit to any of them changes the cache key. */
export async function planStamp(host: SamnerfHost, plan: DatasetPlan): Promise<string> {
  const paths = [...plan.metaFiles];
  for (const f of plan.frames) paths.push(f.image, ...(f.depth ? [f.depth.path] : []), ...(f.instances ? [f.instances] : []));
  const stats = await Promise.all(paths.map((p) => host.files.stat(p)));
  let h = 0x811c9dc5;
  const text = stats.map((s, i) => `${paths[i]}:${s?.size}:${s?.mtimeMs}`).join('|');
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return `${plan.format}:${paths.length}:${(h >>> 0).toString(16)}`;
}

export async function loadDataset(host: SamnerfHost, location: DatasetLocation, options: PlanOptions & LoadOptions): Promise<{ views: ViewsValue; plan: DatasetPlan }> {
  const plan = await planDataset(host, location, options);
  return { views: await loadPlan(plan, host, options), plan };
}
