// LLFF: poses_bounds.npy holds N rows of 17 numbers: a 3x5 matrix, row-major
// ([R | t | hwf], whose rotation columns are the camera's [down, right,
// back] axes in world space, and hwf = height, width, focal of the
// full-resolution images), then the near and far depth bounds of the view.
// Images are images/ (full size) or images_k/ (downscaled by k), sorted by
// name, one per row. Also the layout of the mip-NeRF 360 captures.
//
// Conversion to ours ([right, up, back]): columns (c1, -c0, c2), as NeRF's
// load_llff does. Views 0, N, 2N, ... are test (`evalEvery`, llffhold).

import { NodeError } from '../../engine';
import type { Camera } from '../../engine/values';
import { resizeCamera, unproject, type Vec3 } from './camera';
import { FolderIndex, isImageName, joinPath } from './files';
import { readNpy } from './npy';
import { holdOutSplit, integerFactor, type DatasetPlan, type FramePlan, type PlanOptions } from './plan';
import { extentAroundFocus, isForwardFacing } from './scene-extent';

export const LLFF_FILE = 'poses_bounds.npy';

/** Our camera-to-world (4x4 row-major) from one LLFF row's 3x5 matrix. */
export function llffPoseToCameraToWorld(row: ArrayLike<number>): number[] {
  const m = (r: number, c: number) => row[r * 5 + c]!;
  const out: number[] = [];
  for (let r = 0; r < 3; r++) out.push(m(r, 1), 0 - m(r, 0), m(r, 2), m(r, 3)); // 0 - x: no negative zeros
  out.push(0, 0, 0, 1);
  return out;
}

export async function planLlff(index: FolderIndex, root: string, options: PlanOptions): Promise<DatasetPlan> {
  const path = joinPath(root, LLFF_FILE);
  if (!(await index.exists(path))) throw new NodeError(`"${root}" has no ${LLFF_FILE}`, { param: 'format', fix: 'point "path" at an LLFF dataset folder, or set "format" to auto' });
  let array;
  try {
    array = readNpy(await index.files.readFile(path));
  } catch (e) {
    throw new NodeError(`${LLFF_FILE}: ${(e as Error).message}`, { param: 'path', fix: 'write it with np.save("poses_bounds.npy", array.astype(np.float64))' });
  }
  if (array.shape.length !== 2 || array.shape[1] !== 17)
    throw new NodeError(`${LLFF_FILE} has shape (${array.shape.join(', ')}); LLFF expects (N, 17): a 3x5 pose matrix and near, far per image`, { param: 'path', fix: 'regenerate it with LLFF\'s imgs2poses.py (or colmap2nerf-style tools)' });
  const n = array.shape[0]!;
  if (n === 0) throw new NodeError(`${LLFF_FILE} holds no poses`, { param: 'path' });

  // Which image folder: images_k when the scale asks for exactly 1/k and it exists, else images/, else the finest images_k.
  const entries = await index.list(root);
  const folders = [...entries].filter((e) => /^images(_\d+)?$/.test(e)).map((e) => ({ name: e, k: e === 'images' ? 1 : Number(e.slice(7)) })).sort((a, b) => a.k - b.k);
  const factor = integerFactor(options.scale);
  const folder = folders.find((f) => f.k === factor) ?? folders.find((f) => f.k === 1) ?? folders[0];
  if (!folder) throw new NodeError(`"${root}" has ${LLFF_FILE} but no images/ or images_N/ folder`, { param: 'path', fix: 'put the photos in images/ (one per row of poses_bounds.npy, sorted by name)' });
  const images = [...(await index.list(joinPath(root, folder.name)))].filter(isImageName).sort();
  if (images.length !== n)
    throw new NodeError(`${LLFF_FILE} has ${n} poses but ${folder.name}/ holds ${images.length} images`, { param: 'path', fix: `make ${folder.name}/ hold exactly one image per pose (sorted by name, in pose order)` });

  const frames: FramePlan[] = [];
  const poses: Camera[] = [];
  let nearMin = Infinity, farMax = 0;
  for (let i = 0; i < n; i++) {
    const row = array.data.subarray(i * 17, i * 17 + 17);
    const where = `${LLFF_FILE} row ${i}`;
    const [h, w, f] = [row[4]!, row[9]!, row[14]!];
    if (!(h > 0 && w > 0 && f > 0)) throw new NodeError(`${where}: height, width, focal = ${h}, ${w}, ${f}; all must be positive`, { param: 'path' });
    const cameraToWorld = llffPoseToCameraToWorld(row);
    const full: Camera = { width: w, height: h, fx: f, fy: f, cx: w / 2, cy: h / 2, cameraToWorld };
    poses.push(full);
    const [near, far] = [row[15]!, row[16]!];
    if (near > 0 && far > near) (nearMin = Math.min(nearMin, near)), (farMax = Math.max(farMax, far));
    const split = holdOutSplit(i, options.evalEvery);
    if (!options.splits.has(split)) continue;
    const stem = images[i]!.replace(/\.[^.]+$/, '');
    frames.push({
      // Named after the full-size image whichever folder is read, so names do not change with `scale`.
      name: `images/${stem}`,
      split,
      image: joinPath(root, `${folder.name}/${images[i]}`),
      resize: options.scale * folder.k,
      where: `${where} (${folder.name}/${images[i]})`,
      declared: { width: w / folder.k, height: h / folder.k, tolerance: folder.k === 1 ? 0 : 1, source: `${LLFF_FILE} (h, w${folder.k > 1 ? ` / ${folder.k} for ${folder.name}` : ''})` },
      camera: (width, height) => resizeCamera(full, width, height),
    });
  }
  if (frames.length === 0) throw new NodeError(`no view of ${LLFF_FILE} is in the splits asked for`, { param: 'splits', fix: 'include "train" or "test" (held out every evalEvery-th view)' });
  if (!(farMax > 0)) throw new NodeError(`${LLFF_FILE}: no row has valid near/far bounds (columns 15 and 16)`, { param: 'path' });
  // The bounds are percentiles of the points each view saw; widen them a little.
  const near = 0.9 * nearMin, far = 1.1 * farMax;
  const scene = isForwardFacing(poses) ? forwardExtent(poses, near, far) : extentAroundFocus(poses, near, far);
  return { format: 'llff', root, frames, scene, metaFiles: [path], notes: [] };
}

/** Forward-facing: the box around every view's frustum between near and far. */
function forwardExtent(cameras: Camera[], near: number, far: number) {
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const c of cameras)
    for (const depth of [near, far])
      for (const [u, v] of [[-0.5, -0.5], [c.width - 0.5, -0.5], [-0.5, c.height - 0.5], [c.width - 0.5, c.height - 0.5]] as const) {
        const p = unproject(c, u, v, depth);
        for (let i = 0; i < 3; i++) (min[i] = Math.min(min[i]!, p[i]!)), (max[i] = Math.max(max[i]!, p[i]!));
      }
  return { bounds: { min, max }, near, far, sceneKind: 'forward' as const };
}
