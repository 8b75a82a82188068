// One training step's work on a range of the step's rays: march, evaluate,
// loss, backward through compositing and the field, accumulating parameter
// gradients into a buffer. The main thread runs one shard itself; a
// platform adapter (node/shard-pool.ts with worker_threads, a Web Worker in
// the browser) may run more on other cores over shared memory. The code is
// the same in every thread, so a fixed split gives deterministic results.

import type { FieldConfig } from './config';
import type { TrainingSet } from './dataset';
import type { FieldEvaluator } from './field-kernels';
import { RAY_DONE, RayBatch } from './marcher';
import type { OccupancyGrid } from './occupancy';
import { pixelRay } from './rays';
import { compositeBackwardSample } from './volume';

/** The rays of one step, drawn by the main thread's RNG (typed arrays, shareable between threads). */
export interface RayPlan {
  capacity: number;
  /** Training view index per ray. */
  view: Int32Array;
  /** Pixel index (v * width + u) per ray. */
  pixel: Int32Array;
  /** Offset of the first sample, in march steps (0-1). */
  jitter: Float32Array;
  /** Background colour per ray (3 floats). */
  background: Float32Array;
}

export function createRayPlan(capacity: number, shared = false): RayPlan {
  const buf = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return {
    capacity,
    view: new Int32Array(buf(4 * capacity)),
    pixel: new Int32Array(buf(4 * capacity)),
    jitter: new Float32Array(buf(4 * capacity)),
    background: new Float32Array(buf(12 * capacity)),
  };
}

export interface ShardStats {
  /** Sum of squared errors over the rays that finished, and their count. */
  sse: number;
  used: number;
  /** Samples that entered the backward pass. */
  samples: number;
  /** Field evaluations. */
  evaluated: number;
  /** Samples kept by the march (what the next batch size adapts to). */
  kept: number;
}

export class TrainShard {
  readonly batch: RayBatch;
  private readonly target: Float32Array;
  private readonly final: Float32Array;
  private readonly dC: Float32Array;
  private readonly positions: Float32Array;
  private readonly sh: Float32Array;
  private readonly dSigma: Float32Array;
  private readonly dRgb: Float32Array;
  private readonly enc: Float32Array;
  private readonly ray = new Float64Array(6);

  constructor(
    readonly config: FieldConfig,
    readonly evaluator: FieldEvaluator,
    readonly set: TrainingSet,
    capacityRays: number,
    sampleBudget: number,
  ) {
    this.batch = new RayBatch(config, capacityRays, sampleBudget, { keepEncoding: true });
    const R = capacityRays, S = sampleBudget;
    this.target = new Float32Array(3 * R);
    this.final = new Float32Array(3 * R);
    this.dC = new Float32Array(3 * R);
    this.positions = new Float32Array(3 * S);
    this.sh = new Float32Array(this.batch.nSh * S);
    this.dSigma = new Float32Array(S);
    this.dRgb = new Float32Array(3 * S);
    this.enc = new Float32Array(S * this.batch.encodingWidth);
  }

  /**
   * Rays [begin, end) of the plan. The loss is sum over rays and channels of
   * lossScale / 2 * (C - target)^2 (lossScale = 2 / (3 n) gives the mean
   * squared error of an n-ray step); gradients are added to `grad`.
   */
  async run(params: Float32Array, grid: OccupancyGrid, plan: RayPlan, begin: number, end: number, lossScale: number, grad: Float32Array): Promise<ShardStats> {
    const { batch, ray, set } = this;
    const views = set.views;
    const compositeBg = set.compositeBackground;
    batch.reset();
    // 1. Rays and their targets (re-composited over the plan's background where alpha is known).
    for (let i = begin; i < end; i++) {
      const view = views[plan.view[i]!]!;
      const width = view.image.width;
      const p = plan.pixel[i]!;
      const z = pixelRay(view.camera, p % width, Math.floor(p / width), ray);
      const r = batch.addRay(ray[0]!, ray[1]!, ray[2]!, ray[3]!, ray[4]!, ray[5]!, plan.jitter[i]!, z);
      const d = view.image.data;
      let tr = d[3 * p]! / 255, tg = d[3 * p + 1]! / 255, tb = d[3 * p + 2]! / 255;
      if (compositeBg && view.alpha) {
        // I' = I + (1 - a) (b - B): exact from the composite and alpha.
        const t = 1 - view.alpha[p]! / 255;
        tr += t * (plan.background[3 * i]! - compositeBg[0]);
        tg += t * (plan.background[3 * i + 1]! - compositeBg[1]);
        tb += t * (plan.background[3 * i + 2]! - compositeBg[2]);
      }
      this.target[3 * r] = tr;
      this.target[3 * r + 1] = tg;
      this.target[3 * r + 2] = tb;
    }
    const nRays = end - begin;
    // 2. March and evaluate (forward), feeding the occupancy grid.
    await batch.march(this.evaluator, params, grid, { observe: true, retain: true });
    // 3. Loss over the rays that finished (a ray that ran out of sample buffer is left out).
    let used = 0, sse = 0;
    const fin = this.final, dC = this.dC;
    for (let r = 0; r < nRays; r++) {
      if (batch.status[r] !== RAY_DONE) {
        dC[3 * r] = dC[3 * r + 1] = dC[3 * r + 2] = 0;
        continue;
      }
      used++;
      const i = begin + r;
      batch.colorOf(r, plan.background[3 * i]!, plan.background[3 * i + 1]!, plan.background[3 * i + 2]!, fin, 3 * r);
      for (let c = 0; c < 3; c++) {
        const e = fin[3 * r + c]! - this.target[3 * r + c]!;
        sse += e * e;
        dC[3 * r + c] = lossScale * e;
      }
    }
    // 4. Backward through compositing, gathering the samples that contributed.
    let n = 0;
    const nSh = batch.nSh;
    const E = batch.encodingWidth;
    const enc = batch.enc!;
    for (let s = 0; s < batch.sampleCount; s++) {
      if (!batch.used[s]) continue;
      const r = batch.ray[s]!;
      if (batch.status[r] !== RAY_DONE) continue;
      compositeBackwardSample(
        batch.sigma[s]!, batch.delta[s]!, batch.tBefore[s]!,
        batch.rgb[3 * s]!, batch.rgb[3 * s + 1]!, batch.rgb[3 * s + 2]!,
        batch.prefix[3 * s]!, batch.prefix[3 * s + 1]!, batch.prefix[3 * s + 2]!,
        fin[3 * r]!, fin[3 * r + 1]!, fin[3 * r + 2]!,
        dC[3 * r]!, dC[3 * r + 1]!, dC[3 * r + 2]!,
        this.dSigma, this.dRgb, n,
      );
      this.positions[3 * n] = batch.positions[3 * s]!;
      this.positions[3 * n + 1] = batch.positions[3 * s + 1]!;
      this.positions[3 * n + 2] = batch.positions[3 * s + 2]!;
      const so = s * nSh, bo = n * nSh;
      for (let c = 0; c < nSh; c++) this.sh[bo + c] = batch.sampleSh[so + c]!;
      const eo = s * E, eb = n * E;
      for (let c = 0; c < E; c++) this.enc[eb + c] = enc[eo + c]!;
      n++;
    }
    // 5. Backward through the field.
    if (n > 0) await this.evaluator.backward(params, this.positions, this.sh, n, this.dSigma, this.dRgb, grad, this.enc);
    return { sse, used, samples: n, evaluated: batch.evaluated, kept: batch.sampleCount };
  }
}

/** Another thread's shard: the same work on its own gradient buffer and occupancy observations. */
export interface RemoteShard {
  /** Its gradient buffer (shared memory); the main thread adds it to its own and zeroes it. */
  readonly grad: Float32Array;
  /** Its occupancy observations (shared memory), folded in at grid updates. */
  readonly observed: Float32Array;
  run(begin: number, end: number, lossScale: number): Promise<ShardStats>;
  dispose(): Promise<void>;
}
