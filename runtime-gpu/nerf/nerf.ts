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
import type { Checkpoint } from './checkpoint';
import { paramLayout, type FieldConfig, type ParamLayout } from './config';
import type { TrainingSet } from './dataset';
import type { FieldEvaluator } from './field-kernels';
import { marchStep, RAY_DONE, RayBatch } from './marcher';
import { OccupancyGrid } from './occupancy';
import { pixelRay } from './rays';
import { Rng } from './rng';
import { compositeBackwardSample, RAY_STATE } from './volume';

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
  /** Target rays per training step (fewer while rays are long, see sampleBudget). */
  raysPerBatch?: number;
  /** Samples kept per training step at most (default raysPerBatch * 48). */
  sampleBudget?: number;
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
  private train?: TrainState;
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
    this.params = from ? from.params.slice() : initParams(this.layout, this.rng);
    if (from?.rngState) this.rng.setState(from.rngState);
    this.grad = new Float32Array(this.layout.count);
    this.adam = new Adam(this.layout.count, undefined, from?.adam);
    this.grid = new OccupancyGrid(config.occupancy, from?.occupancy);
    this.stepSize = marchStep(config);
    this.raysPerBatch = options.raysPerBatch ?? 4096;
    this.sampleBudget = options.sampleBudget ?? this.raysPerBatch * 48;
  }

  /** Sets the views trained on (images stay where they are; nothing is copied). */
  setTrainingSet(set: TrainingSet, options: { carve?: boolean } = {}): void {
    this.train = new TrainState(set, this.config, this.raysPerBatch, this.sampleBudget);
    // Start from the visual hull when the views have alpha (box mode only).
    if ((options.carve ?? true) && !this.grid.hull && set.views.some((v) => v.alpha))
      this.grid.hull = carveFromAlpha(this.grid, this.config.scene, set.views);
  }

  /** One optimisation step on a fresh random batch of rays. */
  async trainStep(lr: number): Promise<StepStats> {
    const ts = this.train;
    if (!ts) throw new Error('trainStep: call setTrainingSet first');
    const { rng, ray } = this;
    const batch = ts.batch;
    batch.reset();
    const nRays = Math.min(this.raysPerBatch, Math.max(64, Math.floor(this.sampleBudget / Math.max(1, this.samplesPerRay))));
    const views = ts.set.views;
    const compositeBg = ts.set.compositeBackground;
    // 1. Rays: random view, random pixel; random background where alpha is known.
    for (let i = 0; i < nRays; i++) {
      const view = views[rng.int(views.length)]!;
      const { width, height } = view.image;
      const u = rng.int(width), v = rng.int(height);
      const z = pixelRay(view.camera, u, v, ray);
      const r = batch.addRay(ray[0]!, ray[1]!, ray[2]!, ray[3]!, ray[4]!, ray[5]!, rng.next(), z);
      const p = v * width + u;
      const d = view.image.data;
      let tr = d[3 * p]! / 255, tg = d[3 * p + 1]! / 255, tb = d[3 * p + 2]! / 255;
      let br = this.config.render.background[0], bg = this.config.render.background[1], bb = this.config.render.background[2];
      if (compositeBg && view.alpha) {
        // Re-composite over a random colour: I' = I + (1 - a) (b - B), exact from the composite and alpha.
        br = rng.next();
        bg = rng.next();
        bb = rng.next();
        const t = 1 - view.alpha[p]! / 255;
        tr += t * (br - compositeBg[0]);
        tg += t * (bg - compositeBg[1]);
        tb += t * (bb - compositeBg[2]);
      }
      ts.target[3 * r] = tr;
      ts.target[3 * r + 1] = tg;
      ts.target[3 * r + 2] = tb;
      ts.background[3 * r] = br;
      ts.background[3 * r + 1] = bg;
      ts.background[3 * r + 2] = bb;
    }
    // 2. March and evaluate (forward), feeding the occupancy grid.
    await batch.march(this.evaluator, this.params, this.grid, { observe: true, retain: true });
    // 3. Loss per finished ray; dL/dC = 2 (C - target) / (3 n).
    let used = 0;
    for (let r = 0; r < nRays; r++) if (batch.status[r] === RAY_DONE) used++;
    const scale = used > 0 ? 2 / (3 * used) : 0;
    let sse = 0;
    const fin = ts.final, dC = ts.dC;
    for (let r = 0; r < nRays; r++) {
      if (batch.status[r] !== RAY_DONE) {
        dC[3 * r] = dC[3 * r + 1] = dC[3 * r + 2] = 0;
        continue;
      }
      batch.colorOf(r, ts.background[3 * r]!, ts.background[3 * r + 1]!, ts.background[3 * r + 2]!, fin, 3 * r);
      for (let c = 0; c < 3; c++) {
        const e = fin[3 * r + c]! - ts.target[3 * r + c]!;
        sse += e * e;
        dC[3 * r + c] = scale * e;
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
        ts.dSigma, ts.dRgb, n,
      );
      ts.positions[3 * n] = batch.positions[3 * s]!;
      ts.positions[3 * n + 1] = batch.positions[3 * s + 1]!;
      ts.positions[3 * n + 2] = batch.positions[3 * s + 2]!;
      const so = s * nSh, bo = n * nSh;
      for (let c = 0; c < nSh; c++) ts.sh[bo + c] = batch.sampleSh[so + c]!;
      const eo = s * E, eb = n * E;
      for (let c = 0; c < E; c++) ts.enc[eb + c] = enc[eo + c]!;
      n++;
    }
    // 5. Backward through the field, then Adam (sparse over the hash tables).
    if (n > 0) await this.evaluator.backward(this.params, ts.positions, ts.sh, n, ts.dSigma, ts.dRgb, this.grad, ts.enc);
    this.adam.nextStep();
    this.adam.update(this.params, this.grad, 0, this.layout.hashCount, lr, true);
    this.adam.update(this.params, this.grad, this.layout.hashCount, this.layout.count, lr, false);
    // Samples a finished ray costs (dropped rays make it larger, so the next batch has fewer rays).
    const perRay = batch.sampleCount / Math.max(1, used);
    this.samplesPerRay = used < nRays ? perRay : 0.7 * this.samplesPerRay + 0.3 * perRay;
    return { loss: used > 0 ? sse / (3 * used) : 0, rays: used, samples: n, evaluated: batch.evaluated };
  }

  /**
   * Occupancy update: densities at random points of the candidate cells
   * (see OccupancyGrid.samplePoints), folded into the decayed grid with what
   * training observed.
   */
  async updateOccupancy(budget = 65536): Promise<void> {
    const { cells, positions } = this.grid.samplePoints(this.rng, budget);
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
    this.renderBatch ??= new RayBatch(this.config, chunk, chunk * 64);
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
    const nerf = new Nerf(field.config, evaluator, options, {
      params: field.params,
      occupancy: field.occupancy,
      adam: training && { m: training.adamM, v: training.adamV, step: training.adamStep },
      rngState: training?.rngState,
    });
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

class TrainState {
  readonly batch: RayBatch;
  readonly target: Float32Array;
  readonly background: Float32Array;
  readonly final: Float32Array;
  readonly dC: Float32Array;
  readonly positions: Float32Array;
  readonly sh: Float32Array;
  readonly dSigma: Float32Array;
  readonly dRgb: Float32Array;
  readonly enc: Float32Array;

  constructor(
    readonly set: TrainingSet,
    config: FieldConfig,
    raysPerBatch: number,
    sampleBudget: number,
  ) {
    this.batch = new RayBatch(config, raysPerBatch, sampleBudget, { keepEncoding: true });
    const R = raysPerBatch, S = sampleBudget;
    this.enc = new Float32Array(S * this.batch.encodingWidth);
    this.target = new Float32Array(3 * R);
    this.background = new Float32Array(3 * R);
    this.final = new Float32Array(3 * R);
    this.dC = new Float32Array(3 * R);
    this.positions = new Float32Array(3 * S);
    this.sh = new Float32Array(this.batch.nSh * S);
    this.dSigma = new Float32Array(S);
    this.dRgb = new Float32Array(3 * S);
  }
}
