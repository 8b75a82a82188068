// The generator's ray tracer: one ray per pixel centre (no antialiasing, so
// colour, depth and instance id describe the same point), Lambert shading
// with ambient light and hard shadows from a fixed directional light.

import type { Camera } from '../../engine/values';
import { undistort } from '../../runtime-gpu/nerf/rays';
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

export interface RenderOptions {
  /**
   * What rays that meet nothing show: 'transparent' (alpha 0, the Blender
   * export) or 'sky', an opaque environment at infinity whose colour depends
   * only on the ray's direction (the photo-like captures: LLFF).
   */
  background?: 'transparent' | 'sky';
}

const HORIZON: Rgb = [0.83, 0.86, 0.9];
const ZENITH: Rgb = [0.33, 0.52, 0.84];
const NADIR: Rgb = [0.42, 0.4, 0.36];

/** The sky colour for a unit world direction (+Z up): zenith blue to a pale horizon to a dim ground haze. */
export function skyColour(dz: number, out: Rgb): Rgb {
  const to = dz >= 0 ? ZENITH : NADIR;
  const k = Math.min(1, Math.abs(dz) * (dz >= 0 ? 1.6 : 2.5));
  for (let c = 0; c < 3; c++) out[c] = HORIZON[c]! + (to[c]! - HORIZON[c]!) * k;
  return out;
}

/**
 * Renders one view. A camera with OpenCV distortion (k1 k2 p1 p2) is
 * rendered distorted: pixel centre (u + 0.5, v + 0.5) is the distorted image
 * of the ray through the undistorted normalised point, as a real lens would
 * produce (the inverse is solved per pixel by Newton iterations).
 */
export function renderView(layout: SceneLayout, camera: Camera, options: RenderOptions = {}): ViewRender {
  const sky = options.background === 'sky';
  const dist = camera.distortion && (camera.distortion.k1 || camera.distortion.k2 || camera.distortion.p1 || camera.distortion.p2) ? camera.distortion : undefined;
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
    const yd = (v + 0.5 - camera.cy) / camera.fy; // OpenCV: y down
    for (let u = 0; u < width; u++, i++) {
      let xc = (u + 0.5 - camera.cx) / camera.fx, yc = -yd;
      if (dist) {
        const [x, y] = undistort(xc, yd, dist.k1, dist.k2, dist.p1, dist.p2);
        (xc = x), (yc = -y);
      }
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
      if (hit < 0) {
        // background: depth 0, id 0; transparent, or the sky at infinity
        if (sky) {
          skyColour(dz, colour);
          const o4 = i * 4;
          for (let c = 0; c < 3; c++) out.rgba[o4 + c] = Math.min(255, Math.round(colour[c]! * 255));
          out.rgba[o4 + 3] = 255;
        }
        continue;
      }
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
