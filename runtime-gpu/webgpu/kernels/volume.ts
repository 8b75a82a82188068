// Volume rendering on WebGPU, forward and backward, one thread per ray: the
// WGSL counterpart of runtime-gpu/nerf/volume.ts (same quadrature, same
// early termination after the sample that brings T below minT, same
// gradient formulas).
//
// Rays are ranges of a flat sample buffer: rayRange[2 r] = first sample,
// rayRange[2 r + 1] = sample count, in order along the ray; per sample
// stepT = [delta, t]. Forward writes per ray (RAY_OUT floats)
// [T, r, g, b, depth, acc, C.r, C.g, C.b, used]: the CPU's RAY_STATE, the
// colour with the background C = rgb + T bg, and how many samples entered
// the sum; per sample (SAMPLE_OUT floats) [delta, T after, w, P.r, P.g, P.b]
// with P the running colour. Backward takes dL/dC per ray and writes
// dL/dsigma and dL/drgb per sample (0 past the terminating sample):
//   dC/dc_i = w_i,   dC/dsigma_i = delta_i (T_{i+1} c_i - (C - P_i)).
// Every kernel binds at most 8 storage buffers (WebGPU's default limit).

import { Kernel, THREAD_INDEX, uniformBuffer, WORKGROUP, type Binding } from '../compute';
import type { GpuContext } from '../device';

export const RAY_OUT = 10;
export const SAMPLE_OUT = 6;

export const VOLUME_FORWARD_WGSL = /* wgsl */ `${THREAD_INDEX}
struct Args { rays: u32, minT: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> rayRange: array<u32>;
@group(0) @binding(2) var<storage, read> sigma: array<f32>;
@group(0) @binding(3) var<storage, read> rgb: array<f32>;
@group(0) @binding(4) var<storage, read> stepT: array<f32>;
@group(0) @binding(5) var<storage, read> background: array<f32>;
@group(0) @binding(6) var<storage, read_write> rayOut: array<f32>;
@group(0) @binding(7) var<storage, read_write> sampleOut: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = threadIndex(gid, nwg);
  if (r >= args.rays) { return; }
  let s0 = rayRange[2u * r];
  let s1 = s0 + rayRange[2u * r + 1u];
  var T = 1.0;
  var c = vec3<f32>(0.0);
  var depth = 0.0;
  var acc = 0.0;
  var s = s0;
  loop {
    if (s >= s1) { break; }
    let delta = stepT[2u * s];
    let alpha = 1.0 - exp(-sigma[s] * delta);
    let w = T * alpha;
    c += w * vec3<f32>(rgb[3u * s], rgb[3u * s + 1u], rgb[3u * s + 2u]);
    depth += w * stepT[2u * s + 1u];
    acc += w;
    T *= 1.0 - alpha;
    let o = ${SAMPLE_OUT}u * s;
    sampleOut[o] = delta;
    sampleOut[o + 1u] = T;
    sampleOut[o + 2u] = w;
    sampleOut[o + 3u] = c.x;
    sampleOut[o + 4u] = c.y;
    sampleOut[o + 5u] = c.z;
    s++;
    if (T < args.minT) { break; }
  }
  let bg = vec3<f32>(background[3u * r], background[3u * r + 1u], background[3u * r + 2u]);
  let withBg = c + T * bg;
  let o = ${RAY_OUT}u * r;
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
@group(0) @binding(1) var<storage, read> rayRange: array<u32>;
@group(0) @binding(2) var<storage, read> rgb: array<f32>;
@group(0) @binding(3) var<storage, read> rayOut: array<f32>;
@group(0) @binding(4) var<storage, read> sampleOut: array<f32>;
@group(0) @binding(5) var<storage, read> dColor: array<f32>;
@group(0) @binding(6) var<storage, read_write> dSigma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dRgb: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = threadIndex(gid, nwg);
  if (r >= args.rays) { return; }
  let s0 = rayRange[2u * r];
  let s1 = s0 + rayRange[2u * r + 1u];
  let used = s0 + u32(rayOut[${RAY_OUT}u * r + 9u]);
  let C = vec3<f32>(rayOut[${RAY_OUT}u * r + 6u], rayOut[${RAY_OUT}u * r + 7u], rayOut[${RAY_OUT}u * r + 8u]);
  let g = vec3<f32>(dColor[3u * r], dColor[3u * r + 1u], dColor[3u * r + 2u]);
  for (var s = s0; s < s1; s++) {
    if (s >= used) {
      dSigma[s] = 0.0;
      dRgb[3u * s] = 0.0;
      dRgb[3u * s + 1u] = 0.0;
      dRgb[3u * s + 2u] = 0.0;
      continue;
    }
    let o = ${SAMPLE_OUT}u * s;
    let delta = sampleOut[o];
    let tAfter = sampleOut[o + 1u];
    let w = sampleOut[o + 2u];
    let P = vec3<f32>(sampleOut[o + 3u], sampleOut[o + 4u], sampleOut[o + 5u]);
    let c = vec3<f32>(rgb[3u * s], rgb[3u * s + 1u], rgb[3u * s + 2u]);
    dSigma[s] = delta * dot(tAfter * c - (C - P), g);
    dRgb[3u * s] = w * g.x;
    dRgb[3u * s + 1u] = w * g.y;
    dRgb[3u * s + 2u] = w * g.z;
  }
}
`;

export interface VolumeBuffers {
  /** 2 u32 per ray: first sample, sample count. */
  rayRange: Binding;
  sigma: Binding;
  rgb: Binding;
  /** 2 floats per sample: delta, t. */
  stepT: Binding;
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
    this.fwd.record(encoder, this.fwd.bind([this.args(rays, minT), b.rayRange, b.sigma, b.rgb, b.stepT, b.background, b.rayOut, b.sampleOut]), rays);
  }

  /** dColor: dL/dC per ray (3 floats); writes dSigma (1 float) and dRgb (3 floats) per sample. */
  recordBackward(encoder: GPUCommandEncoder, b: VolumeBuffers, dColor: Binding, dSigma: Binding, dRgb: Binding, rays: number): void {
    this.bwd.record(encoder, this.bwd.bind([this.args(rays, 0), b.rayRange, b.rgb, b.rayOut, b.sampleOut, dColor, dSigma, dRgb]), rays);
  }
}
