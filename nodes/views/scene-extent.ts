// Scene extent for captures whose files give no bounds box (nerfstudio,
// instant-ngp, LLFF): whether the capture is forward-facing, and a box,
// near and far from the cameras (docs/cameras.md says where each comes from).

import type { Camera, ViewsValue } from '../../engine/values';
import { cameraCentre, cameraForward, focusPoint, normalize, type Vec3 } from './camera';

type Extent = Pick<ViewsValue, 'bounds' | 'near' | 'far' | 'sceneKind'>;

/** Forward-facing when every camera looks within 50° of the mean viewing direction (LLFF-style). */
export function isForwardFacing(cameras: readonly Camera[]): boolean {
  const sum: Vec3 = [0, 0, 0];
  for (const c of cameras) {
    const f = normalize(cameraForward(c));
    for (let i = 0; i < 3; i++) sum[i] += f[i]!;
  }
  const m = normalize(sum);
  const cos50 = Math.cos((50 * Math.PI) / 180);
  return cameras.every((c) => {
    const f = normalize(cameraForward(c));
    return f[0] * m[0] + f[1] * m[1] + f[2] * m[2] > cos50;
  });
}

/**
 * Without any bounds in the files: nerfstudio's defaults for its own format
 * (centre on the mean camera position, scale so the cameras fit in ±1, scene
 * box ±1, near 0.05, far 1000), expressed back in the file's units.
 */
export function extentFromCameraPositions(cameras: readonly Camera[]): Extent {
  const mean: Vec3 = [0, 0, 0];
  for (const c of cameras) cameraCentre(c).forEach((v, i) => (mean[i] += v / cameras.length));
  let s = 0;
  for (const c of cameras) cameraCentre(c).forEach((v, i) => (s = Math.max(s, Math.abs(v - mean[i]!))));
  if (!(s > 0)) s = 1;
  return {
    bounds: { min: [mean[0] - s, mean[1] - s, mean[2] - s], max: [mean[0] + s, mean[1] + s, mean[2] + s] },
    near: 0.05 * s,
    far: 1000 * s,
    sceneKind: isForwardFacing(cameras) ? 'forward' : 'unbounded',
  };
}

/** instant-ngp's box: aabb_scale unit cubes, where the unit cube is [0, 1]^3 after p * scale + offset (axes cycled y, z, x). */
export function extentFromAabbScale(cameras: readonly Camera[], aabbScale: number, scale = 0.33, offset: readonly number[] = [0.5, 0.5, 0.5]): Extent {
  // ngp axis 0 <- world y, 1 <- world z, 2 <- world x (nerf_matrix_to_ngp).
  const ngpAxis = [2, 0, 1];
  const min: Vec3 = [0, 0, 0];
  const max: Vec3 = [0, 0, 0];
  for (let w = 0; w < 3; w++) {
    const o = offset[ngpAxis[w]!] ?? 0.5;
    min[w] = (0.5 - aabbScale / 2 - o) / scale;
    max[w] = (0.5 + aabbScale / 2 - o) / scale;
  }
  const bounds = { min, max };
  const { near, far } = rangeToBox(cameras, bounds);
  return { bounds, near, far, sceneKind: aabbScale <= 1 ? 'object' : isForwardFacing(cameras) ? 'forward' : 'unbounded' };
}

/** 360° capture without a box: centred where the cameras look, radius their mean distance from there. */
export function extentAroundFocus(cameras: readonly Camera[], near: number, far: number): Extent {
  const box = extentFromCameraPositions(cameras).bounds;
  const centre: Vec3 = focusPoint(cameras) ?? [0, 1, 2].map((i) => (box.min[i]! + box.max[i]!) / 2) as Vec3;
  let r = 0;
  for (const c of cameras) {
    const p = cameraCentre(c);
    r += Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]) / cameras.length;
  }
  return {
    bounds: { min: [centre[0] - r, centre[1] - r, centre[2] - r], max: [centre[0] + r, centre[1] + r, centre[2] + r] },
    near,
    far,
    sceneKind: 'unbounded',
  };
}

/** Near: closest approach of any camera to the box (a small floor when inside); far: its farthest corner. */
function rangeToBox(cameras: readonly Camera[], bounds: { min: Vec3; max: Vec3 }): { near: number; far: number } {
  let near = Infinity;
  let far = 0;
  const size = Math.max(...bounds.max.map((v, i) => v - bounds.min[i]!));
  for (const c of cameras) {
    const p = cameraCentre(c);
    let inside = 0, outside = 0;
    for (let i = 0; i < 3; i++) {
      const d = Math.max(bounds.min[i]! - p[i]!, 0, p[i]! - bounds.max[i]!);
      outside += d * d;
      const e = Math.max(Math.abs(p[i]! - bounds.min[i]!), Math.abs(p[i]! - bounds.max[i]!));
      inside += e * e;
    }
    near = Math.min(near, Math.sqrt(outside));
    far = Math.max(far, Math.sqrt(inside));
  }
  return { near: Math.max(near, 0.01 * size), far };
}
