// Camera rays in the convention of engine/values.ts: OpenGL (camera looks
// down -Z, +Y up), pixel centres at +0.5, camera-to-world row-major 4x4.
// With OpenCV distortion coefficients, the pixel is first undistorted
// (Newton iterations on the radial-tangential model, in OpenCV's y-down
// normalised coordinates) before the direction is formed.

import type { Camera } from '../../engine/values';

/**
 * The world-space ray through pixel (u + 0.5, v + 0.5) (u, v may be fractional):
 * out[0..2] = origin, out[3..5] = unit direction; returns the direction's
 * z-depth factor: z-depth along the camera's -Z axis = t * factor.
 */
export function pixelRay(camera: Camera, u: number, v: number, out: Float64Array | Float32Array): number {
  let x = (u + 0.5 - camera.cx) / camera.fx;
  let y = (v + 0.5 - camera.cy) / camera.fy; // OpenCV: y down
  const dist = camera.distortion;
  if (dist && (dist.k1 || dist.k2 || dist.p1 || dist.p2)) [x, y] = undistort(x, y, dist.k1, dist.k2, dist.p1, dist.p2);
  const m = camera.cameraToWorld;
  // Camera-space direction (x, -y, -1).
  const cx = x, cy = -y, cz = -1;
  let dx = m[0]! * cx + m[1]! * cy + m[2]! * cz;
  let dy = m[4]! * cx + m[5]! * cy + m[6]! * cz;
  let dz = m[8]! * cx + m[9]! * cy + m[10]! * cz;
  const len = Math.hypot(dx, dy, dz);
  dx /= len;
  dy /= len;
  dz /= len;
  out[0] = m[3]!;
  out[1] = m[7]!;
  out[2] = m[11]!;
  out[3] = dx;
  out[4] = dy;
  out[5] = dz;
  // The unnormalised direction has z = -1 in camera space: z-depth = t / len.
  return 1 / len;
}

/** Inverse of OpenCV's radial-tangential model x_d = x (1 + k1 r^2 + k2 r^4) + tangential terms. */
export function undistort(xd: number, yd: number, k1: number, k2: number, p1: number, p2: number): [number, number] {
  let x = xd, y = yd;
  for (let i = 0; i < 10; i++) {
    const r2 = x * x + y * y;
    const radial = 1 + k1 * r2 + k2 * r2 * r2;
    const fx = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) - xd;
    const fy = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y - yd;
    // Jacobian of the distortion.
    const dr = 2 * k1 + 4 * k2 * r2;
    const j00 = radial + x * dr * x + 2 * p1 * y + 6 * p2 * x;
    const j01 = x * dr * y + 2 * p1 * x + 2 * p2 * y;
    const j10 = y * dr * x + 2 * p1 * x + 2 * p2 * y;
    const j11 = radial + y * dr * y + 6 * p1 * y + 2 * p2 * x;
    const det = j00 * j11 - j01 * j10;
    if (Math.abs(det) < 1e-12) break;
    const sx = (fx * j11 - fy * j01) / det;
    const sy = (fy * j00 - fx * j10) / det;
    x -= sx;
    y -= sy;
    if (Math.abs(sx) + Math.abs(sy) < 1e-12) break;
  }
  return [x, y];
}

/** Camera centre (world). */
export function cameraCenter(camera: Camera): [number, number, number] {
  const m = camera.cameraToWorld;
  return [m[3]!, m[7]!, m[11]!];
}

/** The camera's viewing axis (-Z in world coordinates). */
export function cameraForward(camera: Camera): [number, number, number] {
  const m = camera.cameraToWorld;
  return [-m[2]!, -m[6]!, -m[10]!];
}

/** A camera at `eye` looking at `target` with world up `up` (OpenGL convention). */
export function lookAt(
  eye: readonly number[], target: readonly number[], up: readonly number[],
  width: number, height: number, focal: number,
): Camera {
  let fx = eye[0]! - target[0]!, fy = eye[1]! - target[1]!, fz = eye[2]! - target[2]!; // +Z axis (backwards)
  let n = Math.hypot(fx, fy, fz);
  fx /= n; fy /= n; fz /= n;
  let rx = up[1]! * fz - up[2]! * fy, ry = up[2]! * fx - up[0]! * fz, rz = up[0]! * fy - up[1]! * fx;
  n = Math.hypot(rx, ry, rz);
  if (n < 1e-9) throw new Error('lookAt: the up vector is parallel to the viewing direction');
  rx /= n; ry /= n; rz /= n;
  const ux = fy * rz - fz * ry, uy = fz * rx - fx * rz, uz = fx * ry - fy * rx;
  return {
    width, height, fx: focal, fy: focal, cx: width / 2, cy: height / 2,
    cameraToWorld: [rx, ux, fx, eye[0]!, ry, uy, fy, eye[1]!, rz, uz, fz, eye[2]!, 0, 0, 0, 1],
  };
}
