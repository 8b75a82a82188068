// Camera arithmetic in the project's convention (engine/values.ts Camera,
// docs/cameras.md): OpenGL axes (+X right, +Y up, looking down -Z),
// camera-to-world 4x4 row-major, pixel centres at (u + 0.5, v + 0.5).

import type { Camera } from '../../engine/values';

export type Vec3 = [number, number, number];

/**
 * A matrix from JSON as 4x4 row-major numbers, or a description of what is
 * wrong with it ("3x4", "row 2 holds a string"). A 3x4 matrix is refused
 * rather than completed: the files this reads always store 4x4.
 */
export function readMatrix4(value: unknown): number[] | string {
  if (!Array.isArray(value)) return `expected a 4x4 array of numbers, got ${typeof value}`;
  const rows = value.length;
  const shape = `${rows}x${value.map((r) => (Array.isArray(r) ? r.length : '?')).join('/')}`;
  if (rows !== 4 || value.some((r) => !Array.isArray(r) || r.length !== 4)) return `expected 4x4, got ${rows === 0 ? 'an empty array' : shape.replace(/x(\d+)(\/\1)+$/, 'x$1')}`;
  const out: number[] = [];
  for (const row of value as unknown[][]) for (const v of row) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return `holds ${JSON.stringify(v)}, not a finite number`;
    out.push(v);
  }
  return out;
}

/** Whether the upper 3x3 is a rotation (orthonormal, det +1) within `tol`; scaled poses are refused downstream. */
export function rotationError(m: readonly number[]): number {
  let err = 0;
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let dot = 0;
      for (let k = 0; k < 3; k++) dot += m[k * 4 + i]! * m[k * 4 + j]!;
      err = Math.max(err, Math.abs(dot - (i === j ? 1 : 0)));
    }
  return err;
}

export function cameraCentre(c: Camera): Vec3 {
  const m = c.cameraToWorld;
  return [m[3]!, m[7]!, m[11]!];
}

/** The camera's viewing direction (its -Z axis) in world space, unit length for a rigid pose. */
export function cameraForward(c: Camera): Vec3 {
  const m = c.cameraToWorld;
  return [-m[2]!, -m[6]!, -m[10]!];
}

/** World-space ray through continuous pixel coordinates (x, y); direction has camera-space z = -1 (not normalised). */
export function pixelRay(c: Camera, x: number, y: number): { origin: Vec3; direction: Vec3 } {
  const m = c.cameraToWorld;
  const dx = (x - c.cx) / c.fx;
  const dy = -(y - c.cy) / c.fy;
  return {
    origin: [m[3]!, m[7]!, m[11]!],
    direction: [m[0]! * dx + m[1]! * dy - m[2]!, m[4]! * dx + m[5]! * dy - m[6]!, m[8]! * dx + m[9]! * dy - m[10]!],
  };
}

/** The world point seen at pixel centre (u, v) (integers) at planar depth `depth` along -Z. */
export function unproject(c: Camera, u: number, v: number, depth: number): Vec3 {
  const { origin, direction } = pixelRay(c, u + 0.5, v + 0.5);
  return [origin[0] + depth * direction[0], origin[1] + depth * direction[1], origin[2] + depth * direction[2]];
}

/** Continuous pixel coordinates (pixel centres at +0.5) and planar depth of a world point; depth <= 0 is behind the camera. */
export function project(c: Camera, p: readonly number[]): { x: number; y: number; depth: number } {
  const m = c.cameraToWorld;
  const d0 = p[0]! - m[3]!, d1 = p[1]! - m[7]!, d2 = p[2]! - m[11]!;
  // World-to-camera rotation is the transpose of camera-to-world's (rigid poses).
  const xc = m[0]! * d0 + m[4]! * d1 + m[8]! * d2;
  const yc = m[1]! * d0 + m[5]! * d1 + m[9]! * d2;
  const zc = m[2]! * d0 + m[6]! * d1 + m[10]! * d2;
  const depth = -zc;
  return { x: c.cx + (c.fx * xc) / depth, y: c.cy - (c.fy * yc) / depth, depth };
}

/** The same camera for the image resized to width x height: intrinsics scale with each axis. */
export function resizeCamera(c: Camera, width: number, height: number): Camera {
  const sx = width / c.width, sy = height / c.height;
  return { ...c, width, height, fx: c.fx * sx, fy: c.fy * sy, cx: c.cx * sx, cy: c.cy * sy };
}

/** The point closest (least squares) to every camera's optical axis: where a 360° capture looks. */
export function focusPoint(cameras: readonly Camera[]): Vec3 | undefined {
  // Sum over cameras of (I - d d^T) p = (I - d d^T) o.
  const a = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const b = [0, 0, 0];
  for (const c of cameras) {
    const o = cameraCentre(c);
    const d = normalize(cameraForward(c));
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const w = (i === j ? 1 : 0) - d[i]! * d[j]!;
        a[i * 3 + j] += w;
        b[i] += w * o[j]!;
      }
  }
  return solve3(a, b);
}

export function normalize(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

function solve3(a: number[], b: number[]): Vec3 | undefined {
  const det = (m: number[]) =>
    m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  const d = det(a);
  const scale = Math.abs(a[0]!) + Math.abs(a[4]!) + Math.abs(a[8]!);
  if (!(Math.abs(d) > 1e-9 * scale ** 3)) return undefined;
  const out: number[] = [];
  for (let k = 0; k < 3; k++) {
    const m = a.slice();
    for (let i = 0; i < 3; i++) m[i * 3 + k] = b[i]!;
    out.push(det(m) / d);
  }
  return out as Vec3;
}
