// The generator's ray tracer: one ray per pixel centre (no antialiasing, so
// colour, depth and instance id describe the same point), Lambert shading
// with ambient light and hard shadows from a fixed directional light.

import type { Camera } from '../../engine/values';
import type { SceneLayout } from './layout';
import { intersect, normal, type Shape } from './shapes';
import { albedo, type Rgb, type Texture } from './textures';

export interface ViewRender {
  width: number;
  height: number;
  /** 8-bit RGBA, straight alpha: 255 on surfaces, 0 on the empty background. */
  rgba: Uint8Array;
  /** Planar depth along the camera's -Z axis; 0 where the ray hits nothing. */
  depth: Float32Array;
  /** Object id per pixel; 0 = ground or background. */
  instances: Uint16Array;
  /** Per object id: pixels whose ray meets the object at all (its silhouette, ignoring what is in front). */
  silhouette: Int32Array;
  /** Per object id: pixels where the object is the first thing hit. */
  visible: Int32Array;
}

interface Placed {
  id: number;
  shape: Shape;
  texture: Texture;
  cx: number;
  cy: number;
  cz: number;
  cos: number;
  sin: number;
}

export function renderView(layout: SceneLayout, camera: Camera): ViewRender {
  const { width, height } = camera;
  const n = width * height;
  const ids = layout.objects.reduce((m, o) => Math.max(m, o.id), 0) + 1;
  const out: ViewRender = {
    width,
    height,
    rgba: new Uint8Array(n * 4),
    depth: new Float32Array(n),
    instances: new Uint16Array(n),
    silhouette: new Int32Array(ids),
    visible: new Int32Array(ids),
  };
  const placed: Placed[] = layout.objects.map((o) => ({ id: o.id, shape: o.shape, texture: o.texture, cx: o.centre[0], cy: o.centre[1], cz: o.centre[2], cos: Math.cos(o.rotation), sin: Math.sin(o.rotation) }));
  const m = camera.cameraToWorld;
  const ox = m[3]!, oy = m[7]!, oz = m[11]!;
  const [lx, ly, lz] = layout.light;
  const half = layout.ground.halfSize;
  const colour: Rgb = [0, 0, 0];

  for (let v = 0, i = 0; v < height; v++) {
    const yc = -(v + 0.5 - camera.cy) / camera.fy;
    for (let u = 0; u < width; u++, i++) {
      const xc = (u + 0.5 - camera.cx) / camera.fx;
      // Camera-space (xc, yc, -1) to world; its length converts ray distance to planar depth.
      let dx = m[0]! * xc + m[1]! * yc - m[2]!, dy = m[4]! * xc + m[5]! * yc - m[6]!, dz = m[8]! * xc + m[9]! * yc - m[10]!;
      const len = Math.sqrt(dx * dx + dy * dy + dz * dz);
      dx /= len; dy /= len; dz /= len;

      let best = Infinity, hit = -1;
      if (dz < 0) {
        const t = -oz / dz, x = ox + t * dx, y = oy + t * dy;
        if (t > 0 && Math.abs(x) <= half && Math.abs(y) <= half) (best = t), (hit = 0);
      }
      let hitObject: Placed | undefined;
      for (const p of placed) {
        const t = hitLocal(p, ox, oy, oz, dx, dy, dz);
        if (t === Infinity) continue;
        out.silhouette[p.id]++;
        if (t < best) (best = t), (hit = p.id), (hitObject = p);
      }
      if (hit < 0) continue; // background: transparent, depth 0, id 0
      if (hit > 0) out.visible[hit]++;
      out.depth[i] = best / len;
      out.instances[i] = hit;

      const px = ox + best * dx, py = oy + best * dy, pz = oz + best * dz;
      let nx = 0, ny = 0, nz = 1;
      if (hitObject) {
        const o = hitObject;
        const [lx0, ly0, lz0] = toLocal(o, px, py, pz);
        const [ax, ay, az] = normal(o.shape, lx0, ly0, lz0);
        // Back to world: rotate by +rotation about Z.
        nx = o.cos * ax - o.sin * ay;
        ny = o.sin * ax + o.cos * ay;
        nz = az;
        albedo(o.texture, lx0, ly0, lz0, colour);
      } else albedo(layout.ground.texture, px, py, pz, colour);
      if (nx * dx + ny * dy + nz * dz > 0) (nx = -nx), (ny = -ny), (nz = -nz);

      let diffuse = Math.max(0, nx * lx + ny * ly + nz * lz);
      if (diffuse > 0) {
        const sx = px + nx * 1e-4, sy = py + ny * 1e-4, sz = pz + nz * 1e-4;
        for (const p of placed) if (hitLocal(p, sx, sy, sz, lx, ly, lz) !== Infinity) {
          diffuse = 0;
          break;
        }
      }
      const shade = layout.ambient + (1 - layout.ambient) * diffuse;
      const o4 = i * 4;
      for (let c = 0; c < 3; c++) out.rgba[o4 + c] = Math.min(255, Math.round(colour[c]! * shade * 255));
      out.rgba[o4 + 3] = 255;
    }
  }
  return out;
}

function toLocal(p: Placed, x: number, y: number, z: number): [number, number, number] {
  const rx = x - p.cx, ry = y - p.cy;
  return [p.cos * rx + p.sin * ry, -p.sin * rx + p.cos * ry, z - p.cz];
}

/** Ray distance to an object (world ray, unit direction). */
function hitLocal(p: Placed, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number): number {
  const rx = ox - p.cx, ry = oy - p.cy;
  return intersect(p.shape, p.cos * rx + p.sin * ry, -p.sin * rx + p.cos * ry, oz - p.cz, p.cos * dx + p.sin * dy, -p.sin * dx + p.cos * dy, dz);
}
