// Ray marching through the occupancy grid on WebGPU, with a fixed sample
// budget per step and stream compaction (the GPU replacement of the CPU's
// marching in waves, runtime-gpu/nerf/marcher.ts; box mode, and contract
// mode with its growing step and mip-NeRF 360 contraction):
//
//   count   one thread per ray marches the whole ray through the occupied
//           cells (empty cells are skipped to where the ray leaves them,
//           then to the ray's sampling lattice, exactly as the CPU) and
//           counts its samples;
//   scan    one workgroup computes each ray's first sample (exclusive
//           prefix sum); a ray whose samples would pass the buffer's
//           capacity is dropped (left out of the loss, as the CPU's
//           RAY_DROPPED); the kept total is written for later dispatches;
//   write   one thread per kept ray marches again and writes its samples
//           (normalised position, delta, t, the ray's SH encoding)
//           contiguously, so the field kernels run on compacted samples.
//
// Every sample up to the ray's exit is emitted: early termination (T < minT)
// is applied by compositing (volume.ts), so samples after it are evaluated
// but get no gradient. Also here: the occupancy observation (the maximum
// density training saw per cell) and the loss with its per-ray gradient.

import { Kernel, THREAD_INDEX, uniformBuffer, WORKGROUP, type Binding } from '../compute';
import type { GpuContext } from '../device';

/** Floats per ray of the ray buffer: normalised origin (3), direction (3), tStart, tEnd. */
export const RAY_IN = 8;
/** u32 of the totals buffer: [kept samples, emitted samples, dropped rays, _]. */
export const TOTALS = 4;
/** Floats of the loss statistics: [sum of squared errors, rays used, samples used, _]. */
export const LOSS_STATS = 4;
const SCAN_THREADS = 256;

const MARCH_COMMON = /* wgsl */ `${THREAD_INDEX}
struct Args { rays: u32, G: u32, capacity: u32, maxIter: u32, dt: f32, nSh: u32, contract: u32, cone: f32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> rays: array<f32>;
@group(0) @binding(2) var<storage, read> occupied: array<u32>;

fn occupiedAt(p: vec3<f32>) -> vec4<i32> {
  let G = i32(args.G);
  let c = clamp(vec3<i32>(floor(p * f32(args.G))), vec3<i32>(0), vec3<i32>(G - 1));
  return vec4<i32>(c, i32(occupied[u32(c.x + G * (c.y + G * c.z))]));
}

// Marches ray r; calls emit(n, ray, position, t, delta) for its first limit samples; returns the sample count.
fn march(r: u32, limit: u32, write: bool, first: u32) -> u32 {
  let o = vec3<f32>(rays[${RAY_IN}u * r], rays[${RAY_IN}u * r + 1u], rays[${RAY_IN}u * r + 2u]);
  let d = vec3<f32>(rays[${RAY_IN}u * r + 3u], rays[${RAY_IN}u * r + 4u], rays[${RAY_IN}u * r + 5u]);
  let t0 = rays[${RAY_IN}u * r + 6u];
  let tEnd = rays[${RAY_IN}u * r + 7u];
  let dt = args.dt;
  let G = f32(args.G);
  var t = t0;
  var n = 0u;
  if (args.contract != 0u) {
    // Contract mode (RayBatch.emitWave): the step grows with distance, the sample sits mid-step,
    // q = o + t d (divided by halfSize) is contracted (L-inf, mip-NeRF 360), empty cells are stepped through.
    let maxStep = dt * 1e4;
    for (var it = 0u; it < args.maxIter; it++) {
      if (n >= limit || t >= tEnd) { break; }
      let step = clamp(t * args.cone, dt, maxStep);
      let tm = t + 0.5 * step;
      var q = o + tm * d;
      let m = max(abs(q.x), max(abs(q.y), abs(q.z)));
      if (m > 1.0) { q = q * ((2.0 - 1.0 / m) / m); }
      let p = (q + vec3<f32>(2.0)) * 0.25;
      if (occupiedAt(p).w != 0) {
        if (write) { emit(first + n, r, p, tm, step); }
        n++;
      }
      t += step;
    }
    return n;
  }
  // Box mode: samples sit on the ray's lattice t0 + k dt. t is recomputed from the integer k rather than
  // accumulated: in f32, t += dt drifts by about one ulp per step, enough over the 1000+ steps of a fine
  // render step to move a ray's last sample across tEnd (the CPU accumulates in f64).
  var k = 0u;
  for (var it = 0u; it < args.maxIter; it++) {
    if (n >= limit || t >= tEnd) { break; }
    let p = o + t * d;
    let c = occupiedAt(p);
    if (c.w != 0) {
      if (write) { emit(first + n, r, p, t, dt); }
      n++;
      k++;
      t = t0 + f32(k) * dt;
    } else {
      let cf = vec3<f32>(c.xyz);
      let hi = (cf + vec3<f32>(1.0)) / G;
      let lo = cf / G;
      var tx = 1e30; var ty = 1e30; var tz = 1e30;
      if (d.x > 0.0) { tx = (hi.x - o.x) / d.x; } else if (d.x < 0.0) { tx = (lo.x - o.x) / d.x; }
      if (d.y > 0.0) { ty = (hi.y - o.y) / d.y; } else if (d.y < 0.0) { ty = (lo.y - o.y) / d.y; }
      if (d.z > 0.0) { tz = (hi.z - o.z) / d.z; } else if (d.z < 0.0) { tz = (lo.z - o.z) / d.z; }
      let tExit = min(tx, min(ty, tz));
      let kExit = ceil((tExit - t0) / dt);
      k = select(k + 1u, u32(kExit), kExit > f32(k));
      t = t0 + f32(k) * dt;
    }
  }
  return n;
}
`;

export const MARCH_COUNT_WGSL = /* wgsl */ `${MARCH_COMMON}
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;
fn emit(s: u32, r: u32, p: vec3<f32>, t: f32, delta: f32) {}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = threadIndex(gid, nwg);
  if (r >= args.rays) { return; }
  counts[r] = march(r, args.maxIter, false, 0u);
}
`;

export const MARCH_WRITE_WGSL = /* wgsl */ `${MARCH_COMMON}
@group(0) @binding(3) var<storage, read> rayRange: array<u32>;
@group(0) @binding(4) var<storage, read> raySh: array<f32>;
@group(0) @binding(5) var<storage, read_write> positions: array<f32>;
@group(0) @binding(6) var<storage, read_write> stepT: array<f32>;
@group(0) @binding(7) var<storage, read_write> sh: array<f32>;

fn emit(s: u32, r: u32, p: vec3<f32>, t: f32, delta: f32) {
  positions[3u * s] = p.x;
  positions[3u * s + 1u] = p.y;
  positions[3u * s + 2u] = p.z;
  stepT[2u * s] = delta;
  stepT[2u * s + 1u] = t;
  for (var k = 0u; k < args.nSh; k++) { sh[args.nSh * s + k] = raySh[args.nSh * r + k]; }
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = threadIndex(gid, nwg);
  if (r >= args.rays) { return; }
  let n = rayRange[2u * r + 1u];
  if (n == 0u) { return; }
  march(r, n, true, rayRange[2u * r]);
}
`;

/** One workgroup: rayRange = [exclusive prefix sum of counts, count]; rays past the capacity are dropped (count 0, flagged). */
export const SCAN_WGSL = /* wgsl */ `
struct Args { rays: u32, G: u32, capacity: u32, maxIter: u32, dt: f32, nSh: u32, contract: u32, cone: f32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> counts: array<u32>;
@group(0) @binding(2) var<storage, read_write> rayRange: array<u32>;
@group(0) @binding(3) var<storage, read_write> dropped: array<u32>;
@group(0) @binding(4) var<storage, read_write> totals: array<u32>;
var<workgroup> sums: array<u32, ${SCAN_THREADS}>;

@compute @workgroup_size(${SCAN_THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  let per = (args.rays + ${SCAN_THREADS - 1}u) / ${SCAN_THREADS}u;
  let r0 = min(tid * per, args.rays);
  let r1 = min(r0 + per, args.rays);
  var localSum = 0u;
  for (var r = r0; r < r1; r++) { localSum += counts[r]; }
  sums[tid] = localSum;
  workgroupBarrier();
  if (tid == 0u) {
    var acc = 0u;
    for (var k = 0u; k < ${SCAN_THREADS}u; k++) { let v = sums[k]; sums[k] = acc; acc += v; }
    totals[1] = acc;
  }
  workgroupBarrier();
  var offset = sums[tid];
  var kept = 0u;
  var lost = 0u;
  for (var r = r0; r < r1; r++) {
    let c = counts[r];
    rayRange[2u * r] = offset;
    if (offset + c <= args.capacity) {
      rayRange[2u * r + 1u] = c;
      dropped[r] = 0u;
      kept += c;
    } else {
      rayRange[2u * r + 1u] = 0u;
      dropped[r] = 1u;
      lost++;
    }
    offset += c;
  }
  sums[tid] = kept;
  workgroupBarrier();
  if (tid == 0u) {
    var total = 0u;
    for (var k = 0u; k < ${SCAN_THREADS}u; k++) { total += sums[k]; }
    totals[0] = total;
  }
  workgroupBarrier();
  sums[tid] = lost;
  workgroupBarrier();
  if (tid == 0u) {
    var total = 0u;
    for (var k = 0u; k < ${SCAN_THREADS}u; k++) { total += sums[k]; }
    totals[2] = total;
  }
}
`;

/** observed[cell] = max(observed[cell], sigma) over the kept samples (floats >= 0 order as their bits). */
export const OBSERVE_WGSL = /* wgsl */ `${THREAD_INDEX}
struct Args { G: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> totals: array<u32>;
@group(0) @binding(2) var<storage, read> positions: array<f32>;
@group(0) @binding(3) var<storage, read> sigma: array<f32>;
@group(0) @binding(4) var<storage, read_write> observed: array<atomic<u32>>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = threadIndex(gid, nwg);
  if (s >= totals[0]) { return; }
  let G = i32(args.G);
  let p = vec3<f32>(positions[3u * s], positions[3u * s + 1u], positions[3u * s + 2u]);
  let c = clamp(vec3<i32>(floor(p * f32(args.G))), vec3<i32>(0), vec3<i32>(G - 1));
  atomicMax(&observed[u32(c.x + G * (c.y + G * c.z))], bitcast<u32>(max(sigma[s], 0.0)));
}
`;

/**
 * One workgroup over the rays: a ray is used unless dropped; its loss is
 * lossScale / 2 * |C - target|^2 (lossScale = 2 / (3 n): the MSE), dColor its
 * gradient (0 for dropped rays); stats = [sse, used rays, used samples].
 */
export const LOSS_WGSL = /* wgsl */ `
struct Args { rays: u32, lossScale: f32, p0: u32, p1: u32 }
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> rayOut: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read> dropped: array<u32>;
@group(0) @binding(4) var<storage, read_write> dColor: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
var<workgroup> sse: array<f32, ${SCAN_THREADS}>;
var<workgroup> used: array<f32, ${SCAN_THREADS}>;
var<workgroup> samples: array<f32, ${SCAN_THREADS}>;

@compute @workgroup_size(${SCAN_THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  var e2 = 0.0;
  var u = 0.0;
  var n = 0.0;
  for (var r = tid; r < args.rays; r += ${SCAN_THREADS}u) {
    if (dropped[r] != 0u) {
      dColor[3u * r] = 0.0;
      dColor[3u * r + 1u] = 0.0;
      dColor[3u * r + 2u] = 0.0;
      continue;
    }
    u += 1.0;
    n += rayOut[10u * r + 9u];
    for (var c = 0u; c < 3u; c++) {
      let e = rayOut[10u * r + 6u + c] - targets[3u * r + c];
      e2 += e * e;
      dColor[3u * r + c] = args.lossScale * e;
    }
  }
  sse[tid] = e2;
  used[tid] = u;
  samples[tid] = n;
  workgroupBarrier();
  for (var w = ${SCAN_THREADS / 2}u; w > 0u; w = w / 2u) {
    if (tid < w) {
      sse[tid] += sse[tid + w];
      used[tid] += used[tid + w];
      samples[tid] += samples[tid + w];
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    stats[0] = sse[0];
    stats[1] = used[0];
    stats[2] = samples[0];
  }
}
`;

export interface MarchBuffers {
  /** RAY_IN floats per ray. */
  rays: Binding;
  /** One u32 per grid cell (1 = occupied). */
  occupied: Binding;
  /** SH coefficients per ray. */
  raySh: Binding;
  counts: Binding;
  /** 2 u32 per ray: first sample, sample count (written by the scan). */
  rayRange: Binding;
  dropped: Binding;
  /** TOTALS u32. */
  totals: Binding;
  positions: Binding;
  /** 2 floats per sample: delta, t. */
  stepT: Binding;
  sh: Binding;
}

export interface MarchSettings {
  gridResolution: number;
  /** March step in normalised units. */
  dt: number;
  /** Upper bound on loop iterations per ray (samples plus empty-cell jumps). */
  maxIterations: number;
  nSh: number;
  /** Contract mode: positions contracted, step clamp(t * cone, dt, 10^4 dt) (box mode when absent). */
  contract?: { cone: number };
}

export class MarchKernels {
  private constructor(
    private readonly ctx: GpuContext,
    private readonly count: Kernel,
    private readonly write: Kernel,
    private readonly scan: Kernel,
    private readonly observeKernel: Kernel,
    private readonly loss: Kernel,
  ) {}

  static async create(ctx: GpuContext): Promise<MarchKernels> {
    const [count, write, scan, observe, loss] = await Promise.all([
      Kernel.create(ctx, 'march-count', MARCH_COUNT_WGSL),
      Kernel.create(ctx, 'march-write', MARCH_WRITE_WGSL),
      Kernel.create(ctx, 'march-scan', SCAN_WGSL),
      Kernel.create(ctx, 'occupancy-observe', OBSERVE_WGSL),
      Kernel.create(ctx, 'loss', LOSS_WGSL),
    ]);
    return new MarchKernels(ctx, count, write, scan, observe, loss);
  }

  private args(rays: number, capacity: number, m: MarchSettings): GPUBuffer {
    const a = new ArrayBuffer(32);
    const u32 = new Uint32Array(a), f32 = new Float32Array(a);
    u32[0] = rays;
    u32[1] = m.gridResolution;
    u32[2] = capacity;
    u32[3] = m.maxIterations;
    f32[4] = m.dt;
    u32[5] = m.nSh;
    u32[6] = m.contract ? 1 : 0;
    f32[7] = m.contract?.cone ?? 0;
    return uniformBuffer(this.ctx, new Uint8Array(a), 'march-args');
  }

  /** Count, scan and write: the rays' samples, compacted, at most `capacity` of them (totals[0] = how many). */
  record(encoder: GPUCommandEncoder, b: MarchBuffers, rays: number, capacity: number, m: MarchSettings): void {
    const args = this.args(rays, capacity, m);
    this.count.record(encoder, this.count.bind([args, b.rays, b.occupied, b.counts]), rays);
    const pass = encoder.beginComputePass({ label: 'march-scan' });
    pass.setPipeline(this.scan.pipeline);
    pass.setBindGroup(0, this.scan.bind([args, b.counts, b.rayRange, b.dropped, b.totals]));
    pass.dispatchWorkgroups(1);
    pass.end();
    this.write.record(encoder, this.write.bind([args, b.rays, b.occupied, b.rayRange, b.raySh, b.positions, b.stepT, b.sh]), rays);
  }

  /** Folds the kept samples' densities into `observed` (one u32 per cell: float bits). */
  recordObserve(encoder: GPUCommandEncoder, totals: Binding, positions: Binding, sigma: Binding, observed: Binding, gridResolution: number, capacity: number): void {
    const args = uniformBuffer(this.ctx, new Uint32Array([gridResolution, 0, 0, 0]), 'observe-args');
    this.observeKernel.record(encoder, this.observeKernel.bind([args, totals, positions, sigma, observed]), capacity);
  }

  /** dColor and the step's loss statistics (LOSS_STATS floats) from the composited rays. */
  recordLoss(encoder: GPUCommandEncoder, rayOut: Binding, target: Binding, dropped: Binding, dColor: Binding, stats: Binding, rays: number, lossScale: number): void {
    const a = new ArrayBuffer(16);
    new Uint32Array(a)[0] = rays;
    new Float32Array(a)[1] = lossScale;
    const pass = encoder.beginComputePass({ label: 'loss' });
    pass.setPipeline(this.loss.pipeline);
    pass.setBindGroup(0, this.loss.bind([uniformBuffer(this.ctx, new Uint8Array(a), 'loss-args'), rayOut, target, dropped, dColor, stats]));
    pass.dispatchWorkgroups(1);
    pass.end();
  }
}
