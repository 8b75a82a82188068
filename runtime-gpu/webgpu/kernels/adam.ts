// Adam on WebGPU, one thread per parameter: the WGSL counterpart of
// runtime-gpu/nerf/adam.ts. Parameters below `sparseEnd` (the hash tables)
// skip an entry whose gradient is exactly 0 this step (instant-ngp), keeping
// its value and moments; the others always update. The gradient is zeroed
// as it is consumed. The bias corrections are folded into the step size and
// epsilon on the host, exactly as the CPU does.

import type { AdamConfig } from '../../nerf/adam';
import { ADAM_DEFAULTS } from '../../nerf/adam';
import { Kernel, THREAD_INDEX, uniformBuffer, WORKGROUP, type Binding } from '../compute';
import type { GpuContext } from '../device';

export const ADAM_WGSL = /* wgsl */ `${THREAD_INDEX}
struct Args { count: u32, sparseEnd: u32, stepSize: f32, eps: f32, beta1: f32, beta2: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = threadIndex(gid, nwg);
  if (i >= args.count) { return; }
  let g = grad[i];
  if (i < args.sparseEnd && g == 0.0) { return; }
  grad[i] = 0.0;
  let mi = args.beta1 * m[i] + (1.0 - args.beta1) * g;
  let vi = args.beta2 * v[i] + (1.0 - args.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  params[i] = params[i] - args.stepSize * mi / (sqrt(vi) + args.eps);
}
`;

export class AdamKernel {
  private constructor(
    private readonly ctx: GpuContext,
    private readonly kernel: Kernel,
    readonly config: AdamConfig,
  ) {}

  static async create(ctx: GpuContext, config: AdamConfig = ADAM_DEFAULTS): Promise<AdamKernel> {
    return new AdamKernel(ctx, await Kernel.create(ctx, 'adam', ADAM_WGSL), config);
  }

  /** Step `t` (1-based, after the CPU's nextStep()) over params[0, count), sparse below sparseEnd. */
  record(encoder: GPUCommandEncoder, params: Binding, grad: Binding, m: Binding, v: Binding, count: number, sparseEnd: number, lr: number, t: number): void {
    const { beta1, beta2, epsilon } = this.config;
    const c1 = 1 - beta1 ** t, c2 = 1 - beta2 ** t;
    const a = new ArrayBuffer(32);
    const u32 = new Uint32Array(a), f32 = new Float32Array(a);
    u32[0] = count;
    u32[1] = sparseEnd;
    f32[2] = (lr * Math.sqrt(c2)) / c1;
    f32[3] = epsilon * Math.sqrt(c2);
    f32[4] = beta1;
    f32[5] = beta2;
    const args = uniformBuffer(this.ctx, new Uint8Array(a), 'adam-args');
    this.kernel.record(encoder, this.kernel.bind([args, params, grad, m, v]), count);
  }
}
