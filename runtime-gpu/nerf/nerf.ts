// The training and rendering state of one radiance field on the CPU:
// parameters, gradients, Adam, the occupancy grid, the seeded RNG, and the
// ray batches. The hot per-sample work goes through a FieldEvaluator (the
// TypeScript reference or onnxruntime for the MLPs); ray sampling, marching,
// compositing and the optimiser run here.
//
// A GPU backend implements the same three operations (trainStep,
// updateOccupancy, renderRays) with its state resident on the device; the
// trainer and the nodes only see this surface (see docs/nerf.md).

import type { Camera, RadianceFieldValue } from '../../engine/values';
import { Adam } from './adam';
import { carveFromAlpha } from './carve';
import { resumeState, type Checkpoint } from './checkpoint';
import { paramLayout, type FieldConfig, type ParamLayout } from './config';
import type { TrainingSet } from './dataset';
import type { FieldEvaluator } from './field-kernels';
import { marchStep, RayBatch } from './marcher';
import { OccupancyGrid } from './occupancy';
import { pixelRay } from './rays';
import { Rng } from './rng';
import { createRayPlan, TrainShard, type RayPlan, type RemoteShard } from './shard';
import { RAY_STATE } from './volume';

export interface StepStats {
  /** Mean squared error of the batch (over rays and channels, random backgrounds included). */
  loss: number;
  rays: number;
  /** Samples that entered the loss (before termination). */
  samples: number;
  /** Field evaluations (samples marched). */
  evaluated: number;
}

export interface RenderOutput {
  width: number;
  height: number;
  /** Linear 0-1 RGB, 3 per pixel. */
  rgb: Float32Array;
  /** z-depth along the camera's -Z axis, divided by accumulation (0 where nothing was hit). */
  depth: Float32Array;
  /** Accumulated opacity 0-1. */
  accumulation: Float32Array;
}

export interface NerfOptions {
  seed: number;
  /** Keep parameters, occupancy and the ray plan in shared memory (for shards on other threads). */
  shared?: boolean;
  /** Target rays per training step (fewer while rays are long, see sampleBudget). */
  raysPerBatch?: number;
  /** Samples kept per training step at most (default raysPerBatch * 48). */
  sampleBudget?: number;
}

function sharedCopy(a: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** Xavier-uniform MLP weights and U(-1e-4, 1e-4) hash entries (instant-ngp), from the seed. */
export function initParams(layout: ParamLayout, rng: Rng): Float32Array {
  const params = new Float32Array(layout.count);
  for (let i = 0; i < layout.hashCount; i++) params[i] = rng.uniform(-1e-4, 1e-4);
  for (const slot of [layout.density1, layout.density2, ...layout.color]) {
    const bound = Math.sqrt(6 / (slot.rows + slot.cols));
    for (let i = 0; i < slot.rows * slot.cols; i++) params[slot.offset + i] = rng.uniform(-bound, bound);
  }
  return params;
}

export class Nerf {
  readonly layout: ParamLayout;
  readonly params: Float32Array;
  readonly grad: Float32Array;
  readonly adam: Adam;
  readonly grid: OccupancyGrid;
  readonly rng: Rng;
  readonly stepSize: number;
  readonly raysPerBatch: number;
  readonly sampleBudget: number;
  private shard?: TrainShard;
  /** Shards on other threads (attachShards). */
  private remoteShards: RemoteShard[] = [];
  readonly plan: RayPlan;
  private renderBatch?: RayBatch;
  /** Running estimate of samples kept per ray, to size the next batch. */
  private samplesPerRay = 64;
  private readonly ray = new Float64Array(6);

  constructor(
    readonly config: FieldConfig,
    readonly evaluator: FieldEvaluator,
    options: NerfOptions,
    from?: { params: Float32Array; occupancy?: { density: Float32Array; occupied: Uint8Array }; adam?: { m: Float32Array; v: Float32Array; step: number }; rngState?: number[] },
  ) {
    this.layout = paramLayout(config);
    this.rng = new Rng(options.seed);
    if (from && from.params.length !== this.layout.count)
      throw new Error(`the parameters have ${from.params.length} values but the config needs ${this.layout.count}`);
    const initial = from ? from.params : initParams(this.layout, this.rng);
    // With `shared`, what other threads read lives in SharedArrayBuffers (parameters, occupancy, ray plan).
    this.shared = !!options.shared;
    this.params = this.shared ? sharedCopy(initial) : initial.slice();
    if (from?.rngState) this.rng.setState(from.rngState);
    this.grad = new Float32Array(this.layout.count);
    this.adam = new Adam(this.layout.count, undefined, from?.adam);
    this.grid = new OccupancyGrid(config.occupancy, from?.occupancy, { shared: this.shared });
    this.stepSize = marchStep(config);
    this.raysPerBatch = options.raysPerBatch ?? 4096;
    this.sampleBudget = options.sampleBudget ?? this.raysPerBatch * 48;
    this.plan = createRayPlan(this.raysPerBatch, this.shared);
  }

  readonly shared: boolean;

  /**
   * Shards on other threads that take a share of every step's rays (see
   * node/shard-pool.ts). They read the parameters, the occupancy grid and
   * the ray plan from shared memory, so the Nerf must be `shared`.
   */
  attachShards(shards: RemoteShard[]): void {
    if (shards.length && !this.shared) throw new Error('attachShards: create the Nerf with { shared: true }');
    this.remoteShards = shards;
    this.grid.extraObserved = shards.map((s) => s.observed);
  }

  /** Sets the views trained on (images stay where they are; nothing is copied). */
  setTrainingSet(set: TrainingSet, options: { carve?: boolean } = {}): void {
    this.shard = new TrainShard(this.config, this.evaluator, set, this.raysPerBatch, this.sampleBudget);
    // Start from the visual hull when the views have alpha (box mode only).
    if ((options.carve ?? true) && !this.grid.hull && set.views.some((v) => v.alpha))
      this.grid.hull = carveFromAlpha(this.grid, this.config.scene, set.views);
  }

  /** One optimisation step on a fresh random batch of rays. */
  async trainStep(lr: number): Promise<StepStats> {
    const shard = this.shard;
    if (!shard) throw new Error('trainStep: call setTrainingSet first');
    const { rng, plan } = this;
    const nRays = Math.min(this.raysPerBatch, Math.max(64, Math.floor(this.sampleBudget / Math.max(1, this.samplesPerRay))));
    const views = shard.set.views;
    const randomBg = !!shard.set.compositeBackground;
    const fixedBg = this.config.render.background;
    // 1. Rays: random view, random pixel, random offset along the ray; random background where alpha is known.
    for (let i = 0; i < nRays; i++) {
      const v = rng.int(views.length);
      const { width, height } = views[v]!.image;
      plan.view[i] = v;
      const u = rng.int(width);
      plan.pixel[i] = rng.int(height) * width + u;
      plan.jitter[i] = rng.next();
      const withAlpha = randomBg && views[v]!.alpha;
      for (let c = 0; c < 3; c++) plan.background[3 * i + c] = withAlpha ? rng.next() : fixedBg[c]!;
    }
    // 2. Forward and backward, split over the shards (fixed split: deterministic).
    const lossScale = 2 / (3 * nRays);
    const remote = this.remoteShards;
    const parts = remote.length + 1;
    const bounds = Array.from({ length: parts + 1 }, (_, k) => Math.round((k * nRays) / parts));
    const results = await Promise.all([
      shard.run(this.params, this.grid, plan, 0, bounds[1]!, lossScale, this.grad),
      ...remote.map((r, k) => r.run(bounds[k + 1]!, bounds[k + 2]!, lossScale)),
    ]);
    for (const r of remote) {
      const g = r.grad, grad = this.grad;
      for (let i = 0; i < g.length; i++) {
        const x = g[i]!;
        if (x !== 0) {
          grad[i] += x;
          g[i] = 0;
        }
      }
    }
    // 3. Adam (sparse over the hash tables).
    this.adam.nextStep();
    this.adam.update(this.params, this.grad, 0, this.layout.hashCount, lr, true);
    this.adam.update(this.params, this.grad, this.layout.hashCount, this.layout.count, lr, false);
    let used = 0, sse = 0, samples = 0, evaluated = 0, kept = 0;
    for (const r of results) {
      used += r.used;
      sse += r.sse;
      samples += r.samples;
      evaluated += r.evaluated;
      kept += r.kept;
    }
    // Samples a finished ray costs (dropped rays make it larger, so the next batch has fewer rays).
    const perRay = kept / Math.max(1, used);
    this.samplesPerRay = used < nRays ? perRay : 0.7 * this.samplesPerRay + 0.3 * perRay;
    return { loss: used > 0 ? sse / (3 * used) : 0, rays: used, samples, evaluated };
  }

  /**
   * Occupancy update: densities at random points of the candidate cells
   * (see OccupancyGrid.samplePoints; `budget` points, true = every
   * candidate cell), folded into the decayed grid with what training observed.
   */
  async updateOccupancy(budget: number | boolean = 65536): Promise<void> {
    // true: warm-up, every candidate cell; false: the default budget.
    const points = budget === true ? 1 << 22 : budget === false ? 65536 : budget;
    const { cells, positions } = this.grid.samplePoints(this.rng, points);
    const sigma = new Float32Array(cells.length);
    await this.evaluator.density(this.params, positions, cells.length, sigma);
    this.grid.update(cells, sigma, this.stepSize);
  }

  /** Renders a pinhole camera (full frame) over `background` (default: the config's). */
  async renderCamera(camera: Camera, options: { background?: readonly number[]; signal?: AbortSignal } = {}): Promise<RenderOutput> {
    const { width, height } = camera;
    const bg = options.background ?? this.config.render.background;
    const out: RenderOutput = {
      width,
      height,
      rgb: new Float32Array(width * height * 3),
      depth: new Float32Array(width * height),
      accumulation: new Float32Array(width * height),
    };
    const chunk = 4096;
    this.renderBatch ??= new RayBatch(this.config, chunk, chunk * 64, { purpose: 'render' });
    const batch = this.renderBatch;
    const ray = this.ray;
    const n = width * height;
    for (let p0 = 0; p0 < n; p0 += chunk) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const p1 = Math.min(n, p0 + chunk);
      batch.reset();
      for (let p = p0; p < p1; p++) {
        const z = pixelRay(camera, p % width, Math.floor(p / width), ray);
        batch.addRay(ray[0]!, ray[1]!, ray[2]!, ray[3]!, ray[4]!, ray[5]!, 0.5, z);
      }
      await batch.march(this.evaluator, this.params, this.grid, { retain: false });
      for (let p = p0; p < p1; p++) {
        const r = p - p0;
        batch.colorOf(r, bg[0]!, bg[1]!, bg[2]!, out.rgb, 3 * p);
        const so = r * RAY_STATE;
        const acc = batch.state[so + 5]!;
        out.accumulation[p] = acc;
        out.depth[p] = acc > 1e-4 ? (batch.state[so + 4]! / acc) * batch.zFactor[r]! : 0;
      }
    }
    return out;
  }

  /** Everything a checkpoint needs to resume this training exactly. */
  toCheckpoint(
    bounds: RadianceFieldValue['bounds'],
    provenance: RadianceFieldValue['provenance'],
    training?: { step: number; seconds: number; fingerprint: string },
  ): Checkpoint {
    return {
      field: this.toValue(bounds, provenance),
      hull: this.grid.hull?.slice(),
      training: training && {
        ...training,
        adamStep: this.adam.step,
        rngState: this.rng.getState(),
        samplesPerRay: this.samplesPerRay,
        adamM: this.adam.m.slice(),
        adamV: this.adam.v.slice(),
      },
    };
  }

  /** A Nerf from a checkpoint (training resumes where it stopped when the checkpoint has its state). */
  static fromCheckpoint(ckpt: Checkpoint, evaluator: FieldEvaluator, options: NerfOptions): Nerf {
    const { field, training } = ckpt;
    const nerf = new Nerf(field.config, evaluator, options, resumeState(ckpt));
    if (ckpt.hull) nerf.grid.hull = ckpt.hull.slice();
    if (training) nerf.samplesPerRay = training.samplesPerRay;
    return nerf;
  }

  /** A Nerf that renders a field value (no training state). */
  static fromValue(field: RadianceFieldValue, evaluator: FieldEvaluator): Nerf {
    return new Nerf(field.config, evaluator, { seed: field.provenance.seed }, { params: field.params, occupancy: field.occupancy });
  }

  /** The field as a plain value (copies of the buffers). */
  toValue(bounds: RadianceFieldValue['bounds'], provenance: RadianceFieldValue['provenance']): RadianceFieldValue {
    return {
      kind: 'RadianceField',
      config: structuredClone(this.config),
      params: this.params.slice(),
      occupancy: { resolution: this.grid.resolution, density: this.grid.density.slice(), occupied: this.grid.occupied.slice() },
      bounds: structuredClone(bounds),
      provenance: { ...provenance },
    };
  }
}
