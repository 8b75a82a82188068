// NeRF Blender synthetic: transforms_{train,val,test}.json, each with
// camera_angle_x and frames of {file_path (no extension), transform_matrix
// (camera-to-world, OpenGL axes: already our convention)}. RGBA images are
// composited over the `background` colour when decoded.
//
// Ground truth read when present next to a frame's image (docs/cameras.md):
//   <name>_depth.npy         float32 planar depth (samnerf scene)
//   <name>_depth.png         16-bit planar depth in 1/1000 units (samnerf scene)
//   <name>_depth_0001.png    NeRF-synthetic test depth, 8-bit (mapping measured, see docs)
//   <name>_instances.png     8- or 16-bit instance ids (samnerf scene)
// Scene: the ±1.5 cube, near 2, far 6, as NeRF's load_blender / instant-ngp use.

import { NodeError } from '../../engine';
import type { ViewSplit } from '../../engine/values';
import { readMatrix4 } from './camera';
import { FolderIndex, joinPath, normalizeRelative, stripImageExtension } from './files';
import { cameraFromSpec, hasIntrinsics, readIntrinsics } from './intrinsics';
import { parseJson, SPLITS, type DatasetPlan, type FramePlan, type PlanOptions } from './plan';

export const BLENDER_FILES = SPLITS.map((s) => `transforms_${s}.json`);

export async function planBlender(index: FolderIndex, root: string, options: PlanOptions): Promise<DatasetPlan> {
  const available: ViewSplit[] = [];
  for (const split of SPLITS) if (await index.exists(joinPath(root, `transforms_${split}.json`))) available.push(split);
  if (available.length === 0)
    throw new NodeError(`"${root}" has no transforms_train.json, transforms_val.json or transforms_test.json`, { param: 'format', fix: 'point "path" at a NeRF Blender dataset folder, or set "format" to auto' });
  const chosen = available.filter((s) => options.splits.has(s));
  if (chosen.length === 0)
    throw new NodeError(`the dataset has the splits ${available.join(', ')}, none of those asked for`, { param: 'splits', fix: `use some of: ${available.join(', ')}` });

  const frames: FramePlan[] = [];
  const metaFiles: string[] = [];
  for (const split of chosen) {
    const file = `transforms_${split}.json`;
    const path = joinPath(root, file);
    metaFiles.push(path);
    const json = parseJson(new TextDecoder().decode(await index.files.readFile(path)), file) as Record<string, unknown>;
    if (typeof json !== 'object' || json === null || !Array.isArray(json.frames))
      throw new NodeError(`${file} has no "frames" array`, { param: 'path', fix: 'a Blender transforms file holds {"camera_angle_x", "frames": [{"file_path", "transform_matrix"}]}' });
    const useSpec = hasIntrinsics(json);
    if (!useSpec && typeof json.camera_angle_x !== 'number')
      throw new NodeError(`${file} has no camera_angle_x`, { param: 'path', fix: 'add "camera_angle_x" (horizontal field of view in radians)' });
    const planned = await Promise.all(
      (json.frames as unknown[]).map(async (raw, i): Promise<FramePlan> => {
        const where = `${file} frame ${i}`;
        const frame = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        if (typeof frame.file_path !== 'string') throw new NodeError(`${where} has no "file_path"`, { param: 'path', fix: `give every frame of ${file} a file_path` });
        const matrix = readMatrix4(frame.transform_matrix);
        if (typeof matrix === 'string')
          throw new NodeError(`${where} ("${frame.file_path}"): transform_matrix ${matrix}`, { param: 'path', fix: 'each transform_matrix must be a 4x4 camera-to-world matrix (rows of 4 numbers)' });
        const image = await index.resolveImage(joinPath(root, frame.file_path));
        if (!image)
          throw new NodeError(`${where}: the image "${frame.file_path}" does not exist (looked for .png, .jpg, .jpeg, .webp)`, { param: 'path', fix: `restore the file or remove the frame from ${file}` });
        const relative = normalizeRelative(image.slice(root.replace(/[\\/]+$/, '').length + 1));
        const base = stripImageExtension(image);
        const spec = readIntrinsics(frame, json);
        const plan: FramePlan = {
          name: stripImageExtension(relative),
          split,
          image,
          resize: options.scale,
          where,
          camera: (width, height) => cameraFromSpec(spec, width, height, matrix, where),
        };
        if (useSpec && spec.w !== undefined && spec.h !== undefined) plan.declared = { width: spec.w, height: spec.h, tolerance: 0, source: `${file} (w, h)` };
        if (options.groundTruth) await findGroundTruth(index, root, base, frame, plan);
        return plan;
      }),
    );
    frames.push(...planned);
  }
  return {
    format: 'blender',
    root,
    frames,
    scene: { bounds: { min: [-1.5, -1.5, -1.5], max: [1.5, 1.5, 1.5] }, near: 2, far: 6, sceneKind: 'object' },
    metaFiles,
    notes: [],
  };
}

async function findGroundTruth(index: FolderIndex, root: string, base: string, frame: Record<string, unknown>, plan: FramePlan): Promise<void> {
  if (typeof frame.depth_file_path === 'string') {
    const path = joinPath(root, frame.depth_file_path);
    plan.depth = { path, encoding: path.toLowerCase().endsWith('.npy') ? 'npy' : 'png16' };
  } else if (await index.exists(`${base}_depth.npy`)) plan.depth = { path: `${base}_depth.npy`, encoding: 'npy' };
  else if (await index.exists(`${base}_depth.png`)) plan.depth = { path: `${base}_depth.png`, encoding: 'png16' };
  else
    for (const suffix of ['_depth_0001.png', '_depth_0000.png'])
      if (await index.exists(base + suffix)) {
        plan.depth = { path: base + suffix, encoding: 'blender8' };
        break;
      }
  if (typeof frame.instances_file_path === 'string') plan.instances = joinPath(root, frame.instances_file_path);
  else if (await index.exists(`${base}_instances.png`)) plan.instances = `${base}_instances.png`;
}
