// Training rays formed on the device from the step's ray plan (view,
// pixel, jitter, background: drawn on the host by the seeded RNG, 24 bytes
// per ray) and the training views uploaded once (pixels packed RGBA8, one
// pinhole camera each): the camera ray of rays.ts's pixelRay (OpenGL
// convention, pixel centres at +0.5; OpenCV radial-tangential distortion
// undone by rays.ts's Newton iterations, in float32), the box clipping (or contract mode's scaling) and jitter
// of RayBatch.addRay, the SH
// encoding of sh.ts (degree 4), and the target re-composited over the
// ray's background where the view has alpha, I' = I + (1 - a)(b - B).
// Writes the buffers the march reads (RAY_IN floats, SH, background,
// target per ray).

import { Kernel, THREAD_INDEX, uniformBuffer, WORKGROUP, type Binding } from '../compute';
import type { GpuContext } from '../device';
import { RAY_IN } from './march';

/** Words per ray of the plan: view (u32), pixel (u32), jitter, background r, g, b (f32). */
export const PLAN = 6;
/** Floats per view of the camera table: camera-to-world rows 0-2 (12), fx, fy, cx, cy, then width, height, first pixel, alpha (as f32 bits of u32), then k1, k2, p1, p2. */
export const VIEW_TABLE = 24;

export const RAYS_WGSL = /* wgsl */ `${THREAD_INDEX}
struct Args {
  rays: u32, composite: u32, contract: u32, p1: u32,
  center: vec4<f32>,      // xyz: scene centre; w: 1 / (2 halfSize) (box), 1 / halfSize (contract)
  clip: vec4<f32>,        // near, far, march step, origin offset (0.5 box, 0 contract)
  compositeBg: vec4<f32>, // the colour the RGBA images were composited on
}
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> plan: array<u32>;
@group(0) @binding(2) var<storage, read> viewTable: array<f32>;
@group(0) @binding(3) var<storage, read> pixels: array<u32>;
@group(0) @binding(4) var<storage, read_write> rays: array<f32>;
@group(0) @binding(5) var<storage, read_write> raySh: array<f32>;
@group(0) @binding(6) var<storage, read_write> background: array<f32>;
@group(0) @binding(7) var<storage, read_write> targets: array<f32>;

// rays.ts's undistort: Newton iterations on x_d = x (1 + k1 r^2 + k2 r^4) + tangential terms (OpenCV, y down).
fn undistort(xd: f32, yd: f32, k1: f32, k2: f32, p1: f32, p2: f32) -> vec2<f32> {
  var x = xd;
  var y = yd;
  for (var i = 0; i < 10; i++) {
    let r2 = x * x + y * y;
    let radial = 1.0 + k1 * r2 + k2 * r2 * r2;
    let fx = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x) - xd;
    let fy = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y - yd;
    let dr = 2.0 * k1 + 4.0 * k2 * r2;
    let j00 = radial + x * dr * x + 2.0 * p1 * y + 6.0 * p2 * x;
    let j01 = x * dr * y + 2.0 * p1 * x + 2.0 * p2 * y;
    let j10 = y * dr * x + 2.0 * p1 * x + 2.0 * p2 * y;
    let j11 = radial + y * dr * y + 6.0 * p1 * y + 2.0 * p2 * x;
    let det = j00 * j11 - j01 * j10;
    if (abs(det) < 1e-12) { break; }
    let sx = (fx * j11 - fy * j01) / det;
    let sy = (fy * j00 - fx * j10) / det;
    x -= sx;
    y -= sy;
    if (abs(sx) + abs(sy) < 1e-9) { break; }
  }
  return vec2<f32>(x, y);
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = threadIndex(gid, nwg);
  if (i >= args.rays) { return; }
  let view = plan[${PLAN}u * i];
  let p = plan[${PLAN}u * i + 1u];
  let jitter = bitcast<f32>(plan[${PLAN}u * i + 2u]);
  let bg = vec3<f32>(bitcast<f32>(plan[${PLAN}u * i + 3u]), bitcast<f32>(plan[${PLAN}u * i + 4u]), bitcast<f32>(plan[${PLAN}u * i + 5u]));
  let v = ${VIEW_TABLE}u * view;
  let width = bitcast<u32>(viewTable[v + 16u]);
  let first = bitcast<u32>(viewTable[v + 18u]);
  let hasAlpha = bitcast<u32>(viewTable[v + 19u]);
  let u = p % width;
  let row = p / width;
  // pixelRay: camera-space direction (x, -y, -1), rotated, normalised.
  var x = (f32(u) + 0.5 - viewTable[v + 14u]) / viewTable[v + 12u];
  var y = (f32(row) + 0.5 - viewTable[v + 15u]) / viewTable[v + 13u];
  let dist = vec4<f32>(viewTable[v + 20u], viewTable[v + 21u], viewTable[v + 22u], viewTable[v + 23u]);
  if (any(dist != vec4<f32>(0.0))) {
    let xy = undistort(x, y, dist.x, dist.y, dist.z, dist.w);
    x = xy.x;
    y = xy.y;
  }
  let r0 = vec3<f32>(viewTable[v], viewTable[v + 1u], viewTable[v + 2u]);
  let r1 = vec3<f32>(viewTable[v + 4u], viewTable[v + 5u], viewTable[v + 6u]);
  let r2 = vec3<f32>(viewTable[v + 8u], viewTable[v + 9u], viewTable[v + 10u]);
  let c = vec3<f32>(x, -y, -1.0);
  let d = normalize(vec3<f32>(dot(r0, c), dot(r1, c), dot(r2, c)));
  let origin = vec3<f32>(viewTable[v + 3u], viewTable[v + 7u], viewTable[v + 11u]);
  // RayBatch.addRay. Box mode: normalised origin and direction, slabs of the unit cube;
  // contract mode: origin and direction divided by halfSize, from near to far.
  let s = args.center.w;
  let on = (origin - args.center.xyz) * s + vec3<f32>(args.clip.w);
  let dn = d * s;
  var t0 = args.clip.x;
  var t1 = args.clip.y;
  for (var a = 0u; a < 3u && args.contract == 0u; a++) {
    if (abs(dn[a]) < 1e-12) {
      if (on[a] < 0.0 || on[a] > 1.0) { t1 = -1.0; }
      continue;
    }
    var ta = (0.0 - on[a]) / dn[a];
    var tb = (1.0 - on[a]) / dn[a];
    if (ta > tb) { let tmp = ta; ta = tb; tb = tmp; }
    t0 = max(t0, ta);
    t1 = min(t1, tb);
  }
  let start = t0 + jitter * args.clip.z;
  let o = ${RAY_IN}u * i;
  rays[o] = on.x; rays[o + 1u] = on.y; rays[o + 2u] = on.z;
  rays[o + 3u] = dn.x; rays[o + 4u] = dn.y; rays[o + 5u] = dn.z;
  rays[o + 6u] = start;
  rays[o + 7u] = select(start, t1, start < t1);
  // SH degree 4 of the unit direction (sh.ts).
  let xy = d.x * d.y; let xz = d.x * d.z; let yz = d.y * d.z;
  let x2 = d.x * d.x; let y2 = d.y * d.y; let z2 = d.z * d.z;
  let h = 16u * i;
  raySh[h] = 0.28209479177387814;
  raySh[h + 1u] = -0.48860251190291987 * d.y;
  raySh[h + 2u] = 0.48860251190291987 * d.z;
  raySh[h + 3u] = -0.48860251190291987 * d.x;
  raySh[h + 4u] = 1.0925484305920792 * xy;
  raySh[h + 5u] = -1.0925484305920792 * yz;
  raySh[h + 6u] = 0.94617469575755997 * z2 - 0.31539156525251999;
  raySh[h + 7u] = -1.0925484305920792 * xz;
  raySh[h + 8u] = 0.54627421529603959 * x2 - 0.54627421529603959 * y2;
  raySh[h + 9u] = 0.59004358992664352 * d.y * (-3.0 * x2 + y2);
  raySh[h + 10u] = 2.8906114426405538 * xy * d.z;
  raySh[h + 11u] = 0.45704579946446572 * d.y * (1.0 - 5.0 * z2);
  raySh[h + 12u] = 0.3731763325901154 * d.z * (5.0 * z2 - 3.0);
  raySh[h + 13u] = 0.45704579946446572 * d.x * (1.0 - 5.0 * z2);
  raySh[h + 14u] = 1.4453057213202769 * d.z * (x2 - y2);
  raySh[h + 15u] = 0.59004358992664352 * d.x * (-x2 + 3.0 * y2);
  // Target: the pixel, re-composited over the ray's background where the view has alpha.
  let px = pixels[first + p];
  var tc = vec3<f32>(f32(px & 255u), f32((px >> 8u) & 255u), f32((px >> 16u) & 255u)) / 255.0;
  if (args.composite == 1u && hasAlpha == 1u) {
    let transparent = 1.0 - f32(px >> 24u) / 255.0;
    tc += transparent * (bg - args.compositeBg.xyz);
  }
  background[3u * i] = bg.x; background[3u * i + 1u] = bg.y; background[3u * i + 2u] = bg.z;
  targets[3u * i] = tc.x; targets[3u * i + 1u] = tc.y; targets[3u * i + 2u] = tc.z;
}
`;

export interface RayGenBuffers {
  plan: Binding;
  viewTable: Binding;
  pixels: Binding;
  rays: Binding;
  raySh: Binding;
  background: Binding;
  target: Binding;
}

export interface RayGenSettings {
  mode: 'box' | 'contract';
  center: readonly number[];
  halfSize: number;
  near: number;
  far: number;
  step: number;
  /** The background the RGBA images were composited on; undefined when the views have no alpha. */
  compositeBackground?: readonly number[];
}

export class RayGenKernel {
  private constructor(
    private readonly ctx: GpuContext,
    private readonly kernel: Kernel,
  ) {}

  static async create(ctx: GpuContext): Promise<RayGenKernel> {
    return new RayGenKernel(ctx, await Kernel.create(ctx, 'rays-from-plan', RAYS_WGSL));
  }

  record(encoder: GPUCommandEncoder, b: RayGenBuffers, rays: number, s: RayGenSettings): void {
    const a = new ArrayBuffer(64);
    const u32 = new Uint32Array(a), f32 = new Float32Array(a);
    u32[0] = rays;
    u32[1] = s.compositeBackground ? 1 : 0;
    const contract = s.mode === 'contract';
    u32[2] = contract ? 1 : 0;
    f32.set([s.center[0]!, s.center[1]!, s.center[2]!, contract ? 1 / s.halfSize : 1 / (2 * s.halfSize)], 4);
    f32.set([s.near, s.far, s.step, contract ? 0 : 0.5], 8);
    if (s.compositeBackground) f32.set([s.compositeBackground[0]!, s.compositeBackground[1]!, s.compositeBackground[2]!, 0], 12);
    const args = uniformBuffer(this.ctx, new Uint8Array(a), 'rays-args');
    this.kernel.record(encoder, this.kernel.bind([args, b.plan, b.viewTable, b.pixels, b.rays, b.raySh, b.background, b.target]), rays);
  }
}

/** The views packed for the kernel: the camera table and the RGBA8 pixels (alpha 255 where the view has none). */
export function packViews(views: readonly { camera: { width: number; height: number; fx: number; fy: number; cx: number; cy: number; cameraToWorld: readonly number[]; distortion?: { k1: number; k2: number; p1: number; p2: number } }; image: { data: Uint8Array }; alpha?: Uint8Array }[]): { table: Float32Array; pixels: Uint32Array } {
  const table = new Float32Array(VIEW_TABLE * views.length);
  const bits = new Uint32Array(table.buffer);
  let total = 0;
  for (const v of views) total += v.camera.width * v.camera.height;
  const pixels = new Uint32Array(total);
  let first = 0;
  views.forEach((v, k) => {
    const c = v.camera, o = VIEW_TABLE * k;
    for (let j = 0; j < 12; j++) table[o + j] = c.cameraToWorld[j]!;
    table[o + 12] = c.fx;
    table[o + 13] = c.fy;
    table[o + 14] = c.cx;
    table[o + 15] = c.cy;
    bits[o + 16] = c.width;
    bits[o + 17] = c.height;
    bits[o + 18] = first;
    bits[o + 19] = v.alpha ? 1 : 0;
    const lens = c.distortion;
    if (lens) table.set([lens.k1 || 0, lens.k2 || 0, lens.p1 || 0, lens.p2 || 0], o + 20);
    const n = c.width * c.height, d = v.image.data, al = v.alpha;
    for (let p = 0; p < n; p++) pixels[first + p] = d[3 * p]! | (d[3 * p + 1]! << 8) | (d[3 * p + 2]! << 16) | ((al ? al[p]! : 255) << 24 >>> 0);
    first += n;
  });
  return { table, pixels };
}
