// Volume rendering on WebGPU, forward and backward, one thread per ray: the
// WGSL counterpart of runtime-gpu/nerf/volume.ts (same quadrature, same
// early termination after the sample that brings T below minT, same
// gradient formulas).
//
// Rays are ranges of a flat sample buffer: ray r owns samples
// [rayStart[r], rayStart[r] + rayCount[r]), in order along the ray.
// Forward writes per ray [T, r, g, b, depth, acc] (the CPU's RAY_STATE, with
// the background not yet added), the colour with background
// C = rgb + T bg, and how many samples entered the sum; per sample the
// transmittance before it and the running colour P_i. Backward takes dL/dC
// per ray and writes dL/dsigma and dL/drgb per sample (0 past the
// terminating sample).

import { Kernel, THREAD_INDEX, uniformBuffer, WORKGROUP, type Binding } from '../compute';
import type { GpuContext } from '../device';

export const VOLUME_FORWARD_WGSL = /* wgsl */ `${THREAD_INDEX}
struct Args { rays: u32, minT: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> rayStart: array<u32>;
@group(0) @binding(2) var<storage, read> rayCount: array<u32>;
@group(0) @binding(3) var<storage, read> sigma: array<f32>;
@group(0) @binding(4) var<storage, read> rgb: array<f32>;
@group(0) @binding(5) var<storage, read> delta: array<f32>;
@group(0) @binding(6) var<storage, read> tMid: array<f32>;
@group(0) @binding(7) var<storage, read> background: array<f32>;
// Per ray: [T, r, g, b, depth, acc, C.r, C.g, C.b, used] (10 floats; used as f32).
@group(0) @binding(8) var<storage, read_write> rayOut: array<f32>;
// Per sample: [T before, P.r, P.g, P.b].
@group(0) @binding(9) var<storage, read_write> sampleOut: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = threadIndex(gid, nwg);
  if (r >= args.rays) { return; }
  let s0 = rayStart[r];
  let s1 = s0 + rayCount[r];
  var T = 1.0;
  var c = vec3<f32>(0.0);
  var depth = 0.0;
  var acc = 0.0;
  var s = s0;
  loop {
    if (s >= s1) { break; }
    let alpha = 1.0 - exp(-sigma[s] * delta[s]);
    let w = T * alpha;
    sampleOut[4u * s] = T;
    c += w * vec3<f32>(rgb[3u * s], rgb[3u * s + 1u], rgb[3u * s + 2u]);
    sampleOut[4u * s + 1u] = c.x;
    sampleOut[4u * s + 2u] = c.y;
    sampleOut[4u * s + 3u] = c.z;
    depth += w * tMid[s];
    acc += w;
    T *= 1.0 - alpha;
    s++;
    if (T < args.minT) { break; }
  }
  let bg = vec3<f32>(background[3u * r], background[3u * r + 1u], background[3u * r + 2u]);
  let withBg = c + T * bg;
  let o = 10u * r;
  rayOut[o] = T;
  rayOut[o + 1u] = c.x;
  rayOut[o + 2u] = c.y;
  rayOut[o + 3u] = c.z;
  rayOut[o + 4u] = depth;
  rayOut[o + 5u] = acc;
  rayOut[o + 6u] = withBg.x;
  rayOut[o + 7u] = withBg.y;
  rayOut[o + 8u] = withBg.z;
  rayOut[o + 9u] = f32(s - s0);
}
`;

export const VOLUME_BACKWARD_WGSL = /* wgsl */ `${THREAD_INDEX}
struct Args { rays: u32, minT: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> rayStart: array<u32>;
@group(0) @binding(2) var<storage, read> rayCount: array<u32>;
@group(0) @binding(3) var<storage, read> sigma: array<f32>;
@group(0) @binding(4) var<storage, read> rgb: array<f32>;
@group(0) @binding(5) var<storage, read> delta: array<f32>;
@group(0) @binding(6) var<storage, read> rayOut: array<f32>;
@group(0) @binding(7) var<storage, read> sampleOut: array<f32>;
@group(0) @binding(8) var<storage, read> dColor: array<f32>;
@group(0) @binding(9) var<storage, read_write> dSigma: array<f32>;
@group(0) @binding(10) var<storage, read_write> dRgb: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = threadIndex(gid, nwg);
  if (r >= args.rays) { return; }
  let s0 = rayStart[r];
  let s1 = s0 + rayCount[r];
  let used = s0 + u32(rayOut[10u * r + 9u]);
  let C = vec3<f32>(rayOut[10u * r + 6u], rayOut[10u * r + 7u], rayOut[10u * r + 8u]);
  let g = vec3<f32>(dColor[3u * r], dColor[3u * r + 1u], dColor[3u * r + 2u]);
  for (var s = s0; s < s1; s++) {
    if (s >= used) {
      dSigma[s] = 0.0;
      dRgb[3u * s] = 0.0;
      dRgb[3u * s + 1u] = 0.0;
      dRgb[3u * s + 2u] = 0.0;
      continue;
    }
    let e = exp(-sigma[s] * delta[s]);
    let tBefore = sampleOut[4u * s];
    let w = tBefore * (1.0 - e);
    let tAfter = tBefore * e;
    let c = vec3<f32>(rgb[3u * s], rgb[3u * s + 1u], rgb[3u * s + 2u]);
    let P = vec3<f32>(sampleOut[4u * s + 1u], sampleOut[4u * s + 2u], sampleOut[4u * s + 3u]);
    dSigma[s] = delta[s] * dot(tAfter * c - (C - P), g);
    dRgb[3u * s] = w * g.x;
    dRgb[3u * s + 1u] = w * g.y;
    dRgb[3u * s + 2u] = w * g.z;
  }
}
`;

export const RAY_OUT = 10;
export const SAMPLE_OUT = 4;

export interface VolumeBuffers {
  rayStart: Binding;
  rayCount: Binding;
  sigma: Binding;
  rgb: Binding;
  delta: Binding;
  tMid: Binding;
  /** 3 floats per ray. */
  background: Binding;
  /** RAY_OUT floats per ray. */
  rayOut: Binding;
  /** SAMPLE_OUT floats per sample. */
  sampleOut: Binding;
}

export class VolumeKernels {
  private constructor(
    private readonly ctx: GpuContext,
    private readonly fwd: Kernel,
    private readonly bwd: Kernel,
  ) {}

  static async create(ctx: GpuContext): Promise<VolumeKernels> {
    const [fwd, bwd] = await Promise.all([Kernel.create(ctx, 'volume-forward', VOLUME_FORWARD_WGSL), Kernel.create(ctx, 'volume-backward', VOLUME_BACKWARD_WGSL)]);
    return new VolumeKernels(ctx, fwd, bwd);
  }

  private args(rays: number, minT: number): GPUBuffer {
    const a = new ArrayBuffer(16);
    new Uint32Array(a)[0] = rays;
    new Float32Array(a)[1] = minT;
    return uniformBuffer(this.ctx, new Uint8Array(a), 'volume-args');
  }

  recordForward(encoder: GPUCommandEncoder, b: VolumeBuffers, rays: number, minT: number): void {
    this.fwd.record(encoder, this.fwd.bind([this.args(rays, minT), b.rayStart, b.rayCount, b.sigma, b.rgb, b.delta, b.tMid, b.background, b.rayOut, b.sampleOut]), rays);
  }

  /** dColor: dL/dC per ray (3 floats); writes dSigma (1 float) and dRgb (3 floats) per sample. */
  recordBackward(encoder: GPUCommandEncoder, b: VolumeBuffers, dColor: Binding, dSigma: Binding, dRgb: Binding, rays: number): void {
    this.bwd.record(encoder, this.bwd.bind([this.args(rays, 0), b.rayStart, b.rayCount, b.sigma, b.rgb, b.delta, b.rayOut, b.sampleOut, dColor, dSigma, dRgb]), rays);
  }
}
