// Multiresolution hash encoding on WebGPU, forward and backward: the WGSL
// counterpart of runtime-gpu/nerf/hash-encoding.ts, with the same
// conventions (tcnn's pos * scale + 0.5, dense levels x + yR + zR^2, the
// spatial hash with primes 1, 2654435761, 805459861) and the same layout
// (tables first in the parameter buffer, level after level, 2 floats per
// entry; features per sample as [l0 f0, l0 f1, l1 f0, ...]).
//
// One thread per (level, sample), level-major like the CPU loops, so the
// threads of a workgroup read one level's table. The backward pass scatters
// into the gradient with a compare-and-swap loop on the float's bits (WGSL
// has no float atomics): every add is exact float addition, only their order
// varies, so sums differ from the CPU's sequential order by rounding
// (relative 1e-6 for the sums here). A sample whose two feature gradients
// are both 0 adds nothing, as on the CPU, so the zero-gradient skip of Adam
// sees the same untouched entries.

import type { ParamLayout } from '../../nerf/config';
import { countArgs, countMax, Kernel, storageBuffer, THREAD_INDEX, WORKGROUP, type Binding, type Count } from '../compute';
import type { GpuContext } from '../device';

/** What the kernels need of a layout: the levels and the encoding width (a NeRF ParamLayout or a feature field's FeatureLayout). */
export type HashLayout = Pick<ParamLayout, 'levels' | 'encodingWidth'>;

/** Per-level table of the kernels: scale, resolution, dense, offset, mask (5 x 32 bits). */
export function levelTable(layout: HashLayout): Uint32Array {
  const t = new Uint32Array(layout.levels.length * 8);
  const f = new Float32Array(t.buffer);
  layout.levels.forEach((l, i) => {
    f[8 * i] = l.scale;
    t[8 * i + 1] = l.resolution;
    t[8 * i + 2] = l.dense ? 1 : 0;
    t[8 * i + 3] = l.offset;
    t[8 * i + 4] = l.size - 1;
  });
  return t;
}

const COMMON = /* wgsl */ `
struct Level { scale: f32, res: u32, dense: u32, offset: u32, mask: u32, p0: u32, p1: u32, p2: u32 }
struct Args { count: u32, levels: u32, encWidth: u32, p0: u32 }
${THREAD_INDEX}

struct Corners { index: array<u32, 8>, weight: array<f32, 8> }

// The 8 corners of a position in level l: parameter index of feature 0, trilinear weight.
fn corners(lv: Level, pos: vec3<f32>) -> Corners {
  let p = clamp(pos, vec3<f32>(0.0), vec3<f32>(1.0)) * lv.scale + vec3<f32>(0.5);
  let fl = floor(p);
  let f = p - fl;
  let g = vec3<f32>(1.0) - f;
  let i = vec3<u32>(fl);
  var out: Corners;
  for (var c = 0u; c < 8u; c++) {
    let b = vec3<u32>(c & 1u, (c >> 1u) & 1u, (c >> 2u) & 1u);
    let q = i + b;
    var idx: u32;
    if (lv.dense == 1u) {
      idx = q.x + q.y * lv.res + q.z * lv.res * lv.res;
    } else {
      idx = (q.x ^ (q.y * 2654435761u) ^ (q.z * 805459861u)) & lv.mask;
    }
    out.index[c] = lv.offset + 2u * idx;
    out.weight[c] = select(g.x, f.x, b.x == 1u) * select(g.y, f.y, b.y == 1u) * select(g.z, f.z, b.z == 1u);
  }
  return out;
}
`;

export const HASH_FORWARD_WGSL = /* wgsl */ `${COMMON}
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> levels: array<Level>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> positions: array<f32>;
@group(0) @binding(4) var<storage, read_write> enc: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = threadIndex(gid, nwg);
  if (t >= args.count * args.levels) { return; }
  let l = t / args.count;
  let s = t - l * args.count;
  let c = corners(levels[l], vec3<f32>(positions[3u * s], positions[3u * s + 1u], positions[3u * s + 2u]));
  var f0 = 0.0;
  var f1 = 0.0;
  for (var k = 0u; k < 8u; k++) {
    f0 += c.weight[k] * params[c.index[k]];
    f1 += c.weight[k] * params[c.index[k] + 1u];
  }
  let o = s * args.encWidth + 2u * l;
  enc[o] = f0;
  enc[o + 1u] = f1;
}
`;

export const HASH_BACKWARD_WGSL = /* wgsl */ `${COMMON}
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> levels: array<Level>;
@group(0) @binding(2) var<storage, read_write> grad: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> positions: array<f32>;
@group(0) @binding(4) var<storage, read> dEnc: array<f32>;

fn addFloat(i: u32, v: f32) {
  var old = atomicLoad(&grad[i]);
  loop {
    let r = atomicCompareExchangeWeak(&grad[i], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = threadIndex(gid, nwg);
  if (t >= args.count * args.levels) { return; }
  let l = t / args.count;
  let s = t - l * args.count;
  let o = s * args.encWidth + 2u * l;
  let g0 = dEnc[o];
  let g1 = dEnc[o + 1u];
  if (g0 == 0.0 && g1 == 0.0) { return; }
  let c = corners(levels[l], vec3<f32>(positions[3u * s], positions[3u * s + 1u], positions[3u * s + 2u]));
  for (var k = 0u; k < 8u; k++) {
    addFloat(c.index[k], c.weight[k] * g0);
    addFloat(c.index[k] + 1u, c.weight[k] * g1);
  }
}
`;

/** The two hash-encoding pipelines for one parameter layout. */
export class HashEncodingKernels {
  private constructor(
    private readonly ctx: GpuContext,
    readonly layout: HashLayout,
    private readonly levels: GPUBuffer,
    private readonly fwd: Kernel,
    private readonly bwd: Kernel,
  ) {}

  static async create(ctx: GpuContext, layout: HashLayout): Promise<HashEncodingKernels> {
    const levels = storageBuffer(ctx, levelTable(layout), 'hash-levels');
    const [fwd, bwd] = await Promise.all([Kernel.create(ctx, 'hash-forward', HASH_FORWARD_WGSL), Kernel.create(ctx, 'hash-backward', HASH_BACKWARD_WGSL)]);
    return new HashEncodingKernels(ctx, layout, levels, fwd, bwd);
  }

  private args(encoder: GPUCommandEncoder, count: Count): GPUBuffer {
    return countArgs(this.ctx, encoder, count, new Uint32Array([0, this.layout.levels.length, this.layout.encodingWidth, 0]), 'hash-args');
  }

  /** enc[s * encodingWidth + 2 l + f] = level l's features at positions[3 s..] (normalised cube). */
  forward(encoder: GPUCommandEncoder, params: Binding, positions: Binding, enc: Binding, count: Count): void {
    const group = this.fwd.bind([this.args(encoder, count), this.levels, params, positions, enc]);
    this.fwd.record(encoder, group, countMax(count) * this.layout.levels.length);
  }

  /** grad (the parameter-gradient buffer) += the transpose of forward applied to dEnc. */
  backward(encoder: GPUCommandEncoder, grad: Binding, positions: Binding, dEnc: Binding, count: Count): void {
    const group = this.bwd.bind([this.args(encoder, count), this.levels, grad, positions, dEnc]);
    this.bwd.record(encoder, group, countMax(count) * this.layout.levels.length);
  }
}
