// The support plane: the floor or table the objects stand on, found by
// RANSAC over the fused views' surface points. SAM segments an object with a
// hole (a ring, a handle, a chair's back) as a filled outline, so its masks
// include the floor seen through the hole, in every view alike: multi-view
// agreement cannot remove it, but geometry can. For an object that covers
// little of the plane, mask pixels whose surface lies on the plane (close to
// it and facing along its normal) are dropped. docs/lock3d.md, "Support
// plane".

import type { Camera } from '../../engine/values';
import type { DepthRender } from './geometry';
import { forEachSurfacePoint } from './mask-grid';

export interface Plane {
  /** Unit normal n and offset d: points p with |n·p − d| <= tolerance are on it. */
  normal: [number, number, number];
  offset: number;
  tolerance: number;
  /** Share of the sampled surface points on the plane. */
  inlierFraction: number;
}

export interface SupportPlaneOptions {
  /** Distance (world units) within which a point is on the plane. */
  tolerance: number;
  /** A plane holding less than this share of the surface points is not a support. */
  minInlierFraction?: number;
  iterations?: number;
  maxPoints?: number;
  seed?: number;
}

/** RANSAC plane over surface points (xyz triples); deterministic for a seed. */
export function findSupportPlane(points: Float32Array, options: SupportPlaneOptions): Plane | undefined {
  const n = Math.floor(points.length / 3);
  if (n < 3) return undefined;
  const iterations = options.iterations ?? 300, tol = options.tolerance;
  let state = (options.seed ?? 1) >>> 0 || 1;
  const random = (k: number) => {
    // xorshift32: small, seeded, the same everywhere.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % k;
  };
  let best: { normal: [number, number, number]; offset: number; count: number } | undefined;
  for (let it = 0; it < iterations; it++) {
    const a = random(n) * 3, b = random(n) * 3, c = random(n) * 3;
    const ux = points[b]! - points[a]!, uy = points[b + 1]! - points[a + 1]!, uz = points[b + 2]! - points[a + 2]!;
    const vx = points[c]! - points[a]!, vy = points[c + 1]! - points[a + 1]!, vz = points[c + 2]! - points[a + 2]!;
    let nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    const len = Math.hypot(nx, ny, nz);
    if (!(len > 1e-12)) continue;
    nx /= len;
    ny /= len;
    nz /= len;
    const d = nx * points[a]! + ny * points[a + 1]! + nz * points[a + 2]!;
    let count = 0;
    for (let i = 0; i < n * 3; i += 3) if (Math.abs(nx * points[i]! + ny * points[i + 1]! + nz * points[i + 2]! - d) <= tol) count++;
    if (!best || count > best.count) best = { normal: [nx, ny, nz], offset: d, count };
  }
  if (!best) return undefined;
  // Refine by least squares over the inliers: through their centroid, normal
  // along the covariance's smallest eigenvector (refinePlane).
  const refined = refinePlane(points, best.normal, best.offset, tol) ?? best;
  let count = 0;
  for (let i = 0; i < n * 3; i += 3)
    if (Math.abs(refined.normal[0] * points[i]! + refined.normal[1] * points[i + 1]! + refined.normal[2] * points[i + 2]! - refined.offset) <= tol) count++;
  const inlierFraction = count / n;
  if (inlierFraction < (options.minInlierFraction ?? 0.15)) return undefined;
  return { normal: refined.normal, offset: refined.offset, tolerance: tol, inlierFraction };
}

function refinePlane(points: Float32Array, normal: [number, number, number], offset: number, tol: number) {
  let cx = 0, cy = 0, cz = 0, k = 0;
  const on = (i: number) => Math.abs(normal[0] * points[i]! + normal[1] * points[i + 1]! + normal[2] * points[i + 2]! - offset) <= tol;
  for (let i = 0; i < points.length - 2; i += 3) {
    if (!on(i)) continue;
    cx += points[i]!;
    cy += points[i + 1]!;
    cz += points[i + 2]!;
    k++;
  }
  if (k < 3) return undefined;
  cx /= k;
  cy /= k;
  cz /= k;
  const c = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < points.length - 2; i += 3) {
    if (!on(i)) continue;
    const x = points[i]! - cx, y = points[i + 1]! - cy, z = points[i + 2]! - cz;
    c[0]! += x * x; c[1]! += x * y; c[2]! += x * z;
    c[4]! += y * y; c[5]! += y * z; c[8]! += z * z;
  }
  c[3] = c[1]!; c[6] = c[2]!; c[7] = c[5]!;
  // Smallest eigenvector: power iteration on (trace·I − C), whose largest
  // eigenvector it is, starting from the RANSAC normal.
  const t = c[0]! + c[4]! + c[8]!;
  let v: [number, number, number] = [...normal];
  for (let it = 0; it < 50; it++) {
    const w: [number, number, number] = [
      t * v[0] - (c[0]! * v[0] + c[1]! * v[1] + c[2]! * v[2]),
      t * v[1] - (c[3]! * v[0] + c[4]! * v[1] + c[5]! * v[2]),
      t * v[2] - (c[6]! * v[0] + c[7]! * v[1] + c[8]! * v[2]),
    ];
    const len = Math.hypot(...w);
    if (!(len > 0)) return undefined;
    v = [w[0] / len, w[1] / len, w[2] / len];
  }
  return { normal: v, offset: v[0] * cx + v[1] * cy + v[2] * cz };
}

/** Up to `maxPoints` surface points (xyz) of the views, evenly strided. */
export function surfacePointSample(
  cameras: readonly Camera[],
  renders: readonly DepthRender[],
  minAccumulation: number,
  maxPoints = 40000,
): Float32Array {
  let total = 0;
  for (const r of renders) total += r.width * r.height;
  const stride = Math.max(1, Math.ceil(total / maxPoints));
  const out: number[] = [];
  let k = 0;
  cameras.forEach((camera, i) =>
    forEachSurfacePoint(camera, renders[i]!, minAccumulation, (_p, x, y, z) => {
      if (k++ % stride === 0) out.push(x, y, z);
    }),
  );
  return Float32Array.from(out);
}

/**
 * Per pixel: 1 where the view's surface lies on the plane — within its
 * tolerance *and* facing along its normal (|cos| >= `minCos`), so that an
 * object's sides where they meet the floor (within the tolerance, but
 * vertical or slanted) stay the object's. Normals come from the depth map:
 * per axis the one-sided difference to the neighbour nearer in depth, which
 * does not straddle occlusion edges; `step` pixels apart (wider = smoother
 * normals on a noisy depth map).
 */
export function planePixels(camera: Camera, render: DepthRender, minAccumulation: number, plane: Plane, minCos = 0.9, step = 1): Uint8Array {
  const { width, height } = render;
  const xyz = new Float32Array(width * height * 3);
  const has = new Uint8Array(width * height);
  forEachSurfacePoint(camera, render, minAccumulation, (p, x, y, z) => {
    xyz[p * 3] = x;
    xyz[p * 3 + 1] = y;
    xyz[p * 3 + 2] = z;
    has[p] = 1;
  });
  const out = new Uint8Array(width * height);
  const [nx, ny, nz] = plane.normal;
  const d = render.depth;
  // The neighbour along one axis nearer in depth (-1 when neither has a surface).
  const nearer = (p: number, a: number, b: number) => {
    const ha = a >= 0 && has[a], hb = b >= 0 && has[b];
    if (ha && hb) return Math.abs(d[a]! - d[p]!) <= Math.abs(d[b]! - d[p]!) ? a : b;
    return ha ? a : hb ? b : -1;
  };
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const p = v * width + u;
      if (!has[p]) continue;
      const x = xyz[p * 3]!, y = xyz[p * 3 + 1]!, z = xyz[p * 3 + 2]!;
      if (Math.abs(nx * x + ny * y + nz * z - plane.offset) > plane.tolerance) continue;
      const h = nearer(p, u >= step ? p - step : -1, u < width - step ? p + step : -1);
      const w = nearer(p, v >= step ? p - step * width : -1, v < height - step ? p + step * width : -1);
      if (h < 0 || w < 0) continue;
      const ax = xyz[h * 3]! - x, ay = xyz[h * 3 + 1]! - y, az = xyz[h * 3 + 2]! - z;
      const bx = xyz[w * 3]! - x, by = xyz[w * 3 + 1]! - y, bz = xyz[w * 3 + 2]! - z;
      const cx = ay * bz - az * by, cy = az * bx - ax * bz, cz = ax * by - ay * bx;
      const len = Math.hypot(cx, cy, cz);
      if (len > 0 && Math.abs(cx * nx + cy * ny + cz * nz) / len >= minCos) out[p] = 1;
    }
  }
  return out;
}

/**
 * Whether an object whose mask in a view is `mask` stands on the plane
 * rather than being it: the plane's pixels there are mostly outside the mask.
 */
export function standsOnPlane(mask: Uint8Array, onPlane: Uint8Array, maxShareInside = 0.3): boolean {
  let plane = 0, inside = 0, body = 0;
  for (let p = 0; p < mask.length; p++) {
    if (onPlane[p]) {
      plane++;
      if (mask[p]) inside++;
    } else if (mask[p]) body++;
  }
  return plane > 0 && body > 0 && inside / plane <= maxShareInside;
}

/** The mask without the pixels on the plane. */
export function dropPlanePixels(mask: Uint8Array, onPlane: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let p = 0; p < mask.length; p++) out[p] = mask[p] && !onPlane[p] ? 1 : 0;
  return out;
}
