// Lifting clicks to 3D and re-projecting 3D points into other views with an
// occlusion test (docs/lock3d.md). Pure functions over a camera and a
// DepthRender; pixel coordinates follow SAM's convention (integer = a pixel,
// its centre at +0.5, docs/cameras.md).

import type { Camera } from '../../engine/values';
import { project, unproject, type Vec3 } from '../views/camera';
import type { DepthRender } from './geometry';

export type LiftResult = { ok: true; position: Vec3; depth: number; accumulation: number } | { ok: false; reason: string };

/**
 * The world point under a click: the pixel's ray at its rendered planar
 * depth (expected termination depth for a field). Refused where the
 * accumulated opacity is below `minAccumulation` (nothing solid there: the
 * depth of a mostly transparent pixel is not a surface).
 */
export function liftClick(camera: Camera, render: DepthRender, x: number, y: number, minAccumulation: number): LiftResult {
  const u = Math.floor(x), v = Math.floor(y);
  if (u < 0 || v < 0 || u >= render.width || v >= render.height) return { ok: false, reason: `outside the ${render.width}x${render.height} view` };
  const p = v * render.width + u;
  const acc = render.accumulation[p]!, depth = render.depth[p]!;
  if (!(acc >= minAccumulation) || !(depth > 0))
    return { ok: false, reason: `accumulation ${acc.toFixed(2)} < minAccumulation ${minAccumulation} (no solid surface under the click)` };
  return { ok: true, position: unproject(camera, u, v, depth), depth, accumulation: acc };
}

export type DropReason = 'behind' | 'outside' | 'hidden' | 'off-surface';

export type ReprojectResult = { visible: true; x: number; y: number; depth: number } | { visible: false; reason: DropReason };

export interface OcclusionOptions {
  /** false: every point inside the frame is kept (the original's behaviour, no occlusion test). */
  occlusion: boolean;
  /** A surface within this fraction of the point's depth counts as the point's own surface. */
  depthTolerance: number;
  minAccumulation: number;
  /** Pixels searched around the projection for the point's own surface (edges, pixel rounding). */
  snapRadius?: number;
}

/**
 * Where a world point appears in a view, or why it does not: behind the
 * camera, outside the frame, hidden behind a nearer surface, or off every
 * surface (the pixel sees something farther, i.e. the point is not on what
 * the view sees there). With the occlusion test on, a visible point is
 * snapped to the nearest pixel (within snapRadius) whose surface is at the
 * point's depth.
 */
export function reprojectPoint(camera: Camera, render: DepthRender, position: ArrayLike<number>, options: OcclusionOptions): ReprojectResult {
  const q = project(camera, [position[0]!, position[1]!, position[2]!]);
  if (!(q.depth > 1e-6)) return { visible: false, reason: 'behind' };
  // The pixel holding the projection (its centre at +0.5); SAM takes pixel indices.
  const u = Math.floor(q.x), v = Math.floor(q.y);
  const { width, height } = render;
  if (u < 0 || v < 0 || u >= width || v >= height) return { visible: false, reason: 'outside' };
  if (!options.occlusion) return { visible: true, x: u, y: v, depth: q.depth };
  const tol = options.depthTolerance * q.depth;
  const radius = options.snapRadius ?? 1;
  let best = -1, bestDist = Infinity, nearer = 0;
  for (let dv = -radius; dv <= radius; dv++) {
    for (let du = -radius; du <= radius; du++) {
      const x = u + du, y = v + dv;
      if (x < 0 || y < 0 || x >= width || y >= height) continue;
      const p = y * width + x;
      if (!(render.accumulation[p]! >= options.minAccumulation)) continue;
      const d = render.depth[p]!;
      if (!(d > 0)) continue;
      if (Math.abs(d - q.depth) <= tol) {
        const dist = du * du + dv * dv;
        if (dist < bestDist) {
          bestDist = dist;
          best = p;
        }
      } else if (d < q.depth) nearer++;
    }
  }
  if (best >= 0) return { visible: true, x: best % width, y: Math.floor(best / width), depth: q.depth };
  return { visible: false, reason: nearer > 0 ? 'hidden' : 'off-surface' };
}
