// nerfstudio / instant-ngp transforms.json: one file, intrinsics at the top
// (fl_x fl_y cx cy w h, OpenCV k1 k2 p1 p2, or camera_angle_x) that a frame
// may override, frames of {file_path with extension, transform_matrix}
// (camera-to-world, OpenGL axes: our convention as is). No split files: the
// optional train/val/test_filenames lists when present, else every
// `evalEvery`-th view (sorted by file name) is test. With scale 1/k and an
// images_k/ folder (ns-process-data's downscales) the smaller copies are read.

import { NodeError } from '../../engine';
import type { Camera, ViewSplit } from '../../engine/values';
import { readMatrix4, resizeCamera } from './camera';
import { FolderIndex, joinPath, normalizeRelative, stripImageExtension } from './files';
import { cameraFromSpec, readIntrinsics } from './intrinsics';
import { finiteNumber, holdOutSplit, integerFactor, parseJson, SPLITS, type DatasetPlan, type FramePlan, type PlanOptions } from './plan';
import { extentFromAabbScale, extentFromCameraPositions } from './scene-extent';

const PINHOLE_MODELS = ['OPENCV', 'PINHOLE', 'SIMPLE_PINHOLE', 'RADIAL', 'SIMPLE_RADIAL'];

export async function planNerfstudio(index: FolderIndex, root: string, options: PlanOptions, file = 'transforms.json'): Promise<DatasetPlan> {
  const path = joinPath(root, file);
  if (!(await index.exists(path))) throw new NodeError(`"${root}" has no ${file}`, { param: 'format', fix: 'point "path" at a nerfstudio / instant-ngp dataset folder, or set "format" to auto' });
  const top = parseJson(new TextDecoder().decode(await index.files.readFile(path)), file) as Record<string, unknown>;
  if (typeof top !== 'object' || top === null || !Array.isArray(top.frames))
    throw new NodeError(`${file} has no "frames" array`, { param: 'path', fix: 'a transforms.json holds {"fl_x", ..., "frames": [{"file_path", "transform_matrix"}]}' });
  const notes: string[] = [];
  const explicit = explicitSplits(top);
  const factor = integerFactor(options.scale);

  interface Entry { i: number; frame: Record<string, unknown>; rel: string; matrix: number[] }
  const entries: Entry[] = (top.frames as unknown[]).map((raw, i) => {
    const frame = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const where = `${file} frame ${i}`;
    if (typeof frame.file_path !== 'string') throw new NodeError(`${where} has no "file_path"`, { param: 'path', fix: `give every frame of ${file} a file_path` });
    const matrix = readMatrix4(frame.transform_matrix);
    if (typeof matrix === 'string')
      throw new NodeError(`${where} ("${frame.file_path}"): transform_matrix ${matrix}`, { param: 'path', fix: 'each transform_matrix must be a 4x4 camera-to-world matrix (rows of 4 numbers)' });
    return { i, frame, rel: normalizeRelative(frame.file_path), matrix };
  });
  // nerfstudio sorts images by file name before splitting; so do we, so the held-out views match.
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : a.i - b.i));

  const frames: FramePlan[] = [];
  const poses: Camera[] = [];
  await Promise.all(
    entries.map(async (entry, order) => {
      const { frame, rel, matrix, i } = entry;
      const where = `${file} frame ${i}`;
      poses[order] = { width: 1, height: 1, fx: 1, fy: 1, cx: 0, cy: 0, cameraToWorld: matrix };
      const split = explicit ? explicit.get(rel) : holdOutSplit(order, options.evalEvery);
      if (!split || !options.splits.has(split)) return;
      const spec = readIntrinsics(frame, top);
      if (spec.cameraModel && !PINHOLE_MODELS.includes(spec.cameraModel))
        throw new NodeError(`${where}: camera_model ${spec.cameraModel} is not supported`, { param: 'path', fix: `undistort the images to a pinhole model first (supported: ${PINHOLE_MODELS.join(', ')})` });
      if (spec.ignored.length) notes.push(`${where}: distortion terms ${spec.ignored.join(', ')} are ignored (only k1 k2 p1 p2 are kept)`);
      const original = await index.resolveImage(joinPath(root, rel));
      if (!original) throw new NodeError(`${where}: the image "${frame.file_path}" does not exist`, { param: 'path', fix: `restore the file or remove the frame from ${file}` });
      let image = original;
      let k = 1;
      if (factor) {
        const slash = rel.indexOf('/');
        const smaller = slash > 0 ? await index.resolveImage(joinPath(root, `${rel.slice(0, slash)}_${factor}${rel.slice(slash)}`)) : undefined;
        if (smaller) (image = smaller), (k = factor);
      }
      const plan: FramePlan = {
        name: stripImageExtension(normalizeRelative(original.slice(root.replace(/[\\/]+$/, '').length + 1))),
        split,
        image,
        resize: options.scale * k,
        where,
        camera: (width, height) =>
          k === 1 ? cameraFromSpec(spec, width, height, matrix, where) : resizeCamera(cameraFromSpec(spec, spec.w ?? width * k, spec.h ?? height * k, matrix, where), width, height),
      };
      if (spec.w !== undefined && spec.h !== undefined)
        plan.declared = { width: spec.w / k, height: spec.h / k, tolerance: k === 1 ? 0 : 1, source: `${file} (w, h${k > 1 ? ` / ${k} for ${image.slice(root.length + 1).split('/')[0]}` : ''})` };
      if (options.groundTruth && typeof frame.depth_file_path === 'string') {
        const depth = joinPath(root, frame.depth_file_path);
        if (depth.toLowerCase().endsWith('.npy')) plan.depth = { path: depth, encoding: 'npy' };
        else notes.push(`${where}: depth_file_path ${frame.depth_file_path} is not read (its units are dataset-specific); only .npy depth is`);
      }
      frames[order] = plan;
    }),
  );
  const planned = frames.filter((f) => f !== undefined);
  if (planned.length === 0) throw new NodeError(`no view of ${file} is in the splits asked for`, { param: 'splits', fix: explicit ? 'choose splits the file lists' : 'include "train" or "test" (held out every evalEvery-th view)' });

  const aabbScale = finiteNumber(top.aabb_scale);
  const scene = aabbScale !== undefined
    ? extentFromAabbScale(poses, aabbScale, finiteNumber(top.scale) ?? 0.33, Array.isArray(top.offset) ? (top.offset as number[]) : undefined)
    : extentFromCameraPositions(poses);
  return { format: 'nerfstudio', root, frames: planned, scene, metaFiles: [path], notes };
}

/** nerfstudio's optional train_filenames / val_filenames / test_filenames. */
function explicitSplits(top: Record<string, unknown>): Map<string, ViewSplit> | undefined {
  let found = false;
  const map = new Map<string, ViewSplit>();
  for (const split of SPLITS) {
    const list = top[`${split}_filenames`];
    if (!Array.isArray(list)) continue;
    found = true;
    for (const name of list) if (typeof name === 'string') map.set(normalizeRelative(name), split);
  }
  return found ? map : undefined;
}
