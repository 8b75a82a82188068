// The scene as a coloured point cloud (from the views' surfaces) and an
// orbit of novel cameras around the segmented objects, rendered by
// splatting that cloud with a z-buffer: a preview that needs no renderer
// beyond the depth maps, so it works for dataset depth and fields alike.

import type { Camera, View } from '../../engine/values';
import { cameraCentre, normalize, type Vec3 } from '../views/camera';
import type { PointCloud } from './export';
import type { DepthRender } from './geometry';
import { forEachSurfacePoint } from './mask-grid';

/**
 * Surface points of the views merged per cell of `cellSize` (colours
 * averaged), at most one point per cell.
 */
export function surfaceCloud(views: ReadonlyArray<{ camera: Camera; render: DepthRender; image?: Uint8Array }>, cellSize: number, minAccumulation: number): Omit<PointCloud, 'labels'> {
  const cells = new Map<string, number>();
  const pos: number[] = [], col: number[] = [], count: number[] = [];
  for (const { camera, render, image } of views) {
    forEachSurfacePoint(camera, render, minAccumulation, (p, x, y, z) => {
      const key = `${Math.floor(x / cellSize)},${Math.floor(y / cellSize)},${Math.floor(z / cellSize)}`;
      let i = cells.get(key);
      const r = image ? image[3 * p]! : Math.round(255 * Math.min(1, render.rgb?.[3 * p] ?? 0.5));
      const g = image ? image[3 * p + 1]! : Math.round(255 * Math.min(1, render.rgb?.[3 * p + 1] ?? 0.5));
      const b = image ? image[3 * p + 2]! : Math.round(255 * Math.min(1, render.rgb?.[3 * p + 2] ?? 0.5));
      if (i === undefined) {
        i = count.length;
        cells.set(key, i);
        pos.push(x, y, z);
        col.push(r, g, b);
        count.push(1);
      } else {
        const n = ++count[i]!;
        for (let a = 0; a < 3; a++) pos[3 * i + a] += ([x, y, z][a]! - pos[3 * i + a]!) / n;
        col[3 * i] += r;
        col[3 * i + 1] += g;
        col[3 * i + 2] += b;
      }
    });
  }
  const colors = new Uint8Array(col.length);
  for (let i = 0; i < count.length; i++) for (let a = 0; a < 3; a++) colors[3 * i + a] = Math.round(col[3 * i + a]! / count[i]!);
  return { positions: Float32Array.from(pos), colors };
}

/**
 * `frames` cameras on a circle around `centre`, at the median distance and
 * elevation of the dataset's cameras, about their mean up direction; the
 * field of view of the first view, `size` pixels square.
 */
export function orbitCameras(views: readonly View[], centre: Vec3, frames: number, size: number): Camera[] {
  const up = normalize(views.reduce<Vec3>((u, v) => [u[0] + v.camera.cameraToWorld[1]!, u[1] + v.camera.cameraToWorld[5]!, u[2] + v.camera.cameraToWorld[9]!], [0, 0, 0]));
  const offsets = views.map((v) => {
    const c = cameraCentre(v.camera);
    return [c[0] - centre[0], c[1] - centre[1], c[2] - centre[2]] as Vec3;
  });
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const radius = median(offsets.map((o) => Math.hypot(...o)));
  const elevation = median(offsets.map((o) => Math.asin(Math.max(-1, Math.min(1, (o[0] * up[0] + o[1] * up[1] + o[2] * up[2]) / (Math.hypot(...o) || 1))))));
  // A basis of the plane orthogonal to up, starting from the first camera's azimuth.
  const o0 = offsets[0]!;
  const along = o0[0] * up[0] + o0[1] * up[1] + o0[2] * up[2];
  let e1 = normalize([o0[0] - along * up[0], o0[1] - along * up[1], o0[2] - along * up[2]]);
  if (!Number.isFinite(e1[0]) || Math.hypot(...e1) < 0.5) e1 = normalize(Math.abs(up[0]) < 0.9 ? cross(up, [1, 0, 0]) : cross(up, [0, 1, 0]));
  const e2 = cross(up, e1);
  const first = views[0]!.camera;
  const f = (first.fx * size) / first.width;
  const cams: Camera[] = [];
  for (let i = 0; i < frames; i++) {
    const a = (2 * Math.PI * i) / frames;
    const dir: Vec3 = [0, 1, 2].map((k) => Math.cos(elevation) * (Math.cos(a) * e1[k]! + Math.sin(a) * e2[k]!) + Math.sin(elevation) * up[k]!) as Vec3;
    const eye: Vec3 = [centre[0] + radius * dir[0], centre[1] + radius * dir[1], centre[2] + radius * dir[2]];
    const z = dir; // the camera looks down -Z, towards the centre
    const x = normalize(cross(up, z));
    const y = cross(z, x);
    cams.push({
      width: size,
      height: size,
      fx: f,
      fy: f,
      cx: size / 2,
      cy: size / 2,
      cameraToWorld: [x[0], y[0], z[0], eye[0], x[1], y[1], z[1], eye[1], x[2], y[2], z[2], eye[2], 0, 0, 0, 1],
    });
  }
  return cams;
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/**
 * Splats a cloud into a camera (squares of twice `pointSize` world units
 * across, so that points `pointSize` apart close up; nearest first), over
 * `background`. Returns RGB and, per pixel, the label
 * of the point drawn (0 = none or background).
 */
export function splat(cloud: PointCloud, camera: Camera, pointSize: number, background: readonly number[]): { rgb: Uint8Array; labels: Uint8Array } {
  const { width, height } = camera;
  const zbuf = new Float32Array(width * height).fill(Infinity);
  const rgb = new Uint8Array(width * height * 3);
  const labels = new Uint8Array(width * height);
  for (let p = 0; p < width * height; p++) rgb.set(background.slice(0, 3), 3 * p);
  const m = camera.cameraToWorld;
  const n = cloud.labels.length;
  for (let i = 0; i < n; i++) {
    const d0 = cloud.positions[3 * i]! - m[3]!, d1 = cloud.positions[3 * i + 1]! - m[7]!, d2 = cloud.positions[3 * i + 2]! - m[11]!;
    const xc = m[0]! * d0 + m[4]! * d1 + m[8]! * d2;
    const yc = m[1]! * d0 + m[5]! * d1 + m[9]! * d2;
    const depth = -(m[2]! * d0 + m[6]! * d1 + m[10]! * d2);
    if (!(depth > 1e-6)) continue;
    const x = camera.cx + (camera.fx * xc) / depth, y = camera.cy - (camera.fy * yc) / depth;
    const r = Math.max(0.75, (pointSize * camera.fx) / depth);
    const u0 = Math.max(0, Math.floor(x - r)), u1 = Math.min(width - 1, Math.floor(x + r));
    const v0 = Math.max(0, Math.floor(y - r)), v1 = Math.min(height - 1, Math.floor(y + r));
    for (let v = v0; v <= v1; v++)
      for (let u = u0; u <= u1; u++) {
        const p = v * width + u;
        if (depth >= zbuf[p]!) continue;
        zbuf[p] = depth;
        rgb[3 * p] = cloud.colors[3 * i]!;
        rgb[3 * p + 1] = cloud.colors[3 * i + 1]!;
        rgb[3 * p + 2] = cloud.colors[3 * i + 2]!;
        labels[p] = cloud.labels[i]!;
      }
  }
  return { rgb, labels };
}
