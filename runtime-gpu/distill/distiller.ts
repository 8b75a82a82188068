// Distillation of SAM image embeddings into a feature field over a frozen
// radiance field, and rendering of the embedding grid for any camera
// (docs/distill.md). Platform-neutral CPU reference.

import type { Camera, FeatureFieldConfig, FeatureFieldValue, RadianceFieldValue } from '../../engine/values';
import { cellGrid, cellRays, EMBED_CELLS, EMBED_SIDE, gridRays, type CellGrid } from './cells';
import { FeatureHead, type CellBatch } from './head';
import { drawCells, HeadTraining, type DistillStats } from './head-training';
import { OrtFeatureHead } from './head-ort';
import { paramLayout } from '../nerf/config';
import { normalizedToWorld } from '../nerf/contraction';
import { createFieldEvaluator } from '../nerf/evaluators';
import { featureLayout, validateFeatureConfig, type FeatureLayout } from './layout';
import { patchSurface, SurfaceSampler, surfacePoints, type CentreSurface, type SurfaceSamples } from './surface';
import { GpuFeatureTrainer } from '../webgpu/distill/trainer';
import type { GpuContext } from '../webgpu/device';
import { blendPatches, blendViews, cellMajor, silhouetteCells, tuneViewBank, VIEW_BANK_DEFAULTS, type BankTuning, type ViewBank } from './view-bank';

export { initFeatureParams, type DistillStats } from './head-training';

/** Sub-rays per side with which the view bank re-blends a silhouette cell (FeatureFieldRenderer.render's supersample). */
export const SUPERSAMPLE = 2;

/** A training view: its camera and the SAM embedding of its photo ([256, 64, 64] channel-major). */
export interface DistillTarget {
  name: string;
  camera: Camera;
  embedding: Float32Array;
}

interface PreparedView {
  name: string;
  grid: CellGrid;
  /** Surface samples of the patches of the valid cells, in row-major cell order. */
  surface: SurfaceSamples;
  /** Targets [valid cell][channel]. */
  targets: Float32Array;
}

export class FeatureDistillation extends HeadTraining {
  sampler: SurfaceSampler;
  private views: PreparedView[] = [];
  private padding: FeatureFieldValue['padding'] = null;
  private prior: Float32Array | null = null;
  private bank: ViewBank | null = null;
  /** The leave-one-out tuning of the view bank's weighting, when prepare() ran it. */
  bankTuning: BankTuning | null = null;

  constructor(
    config: FeatureFieldConfig,
    readonly geometry: RadianceFieldValue,
    seed: number,
    from?: { params: Float32Array },
  ) {
    super(config, seed, from?.params);
    this.sampler = new SurfaceSampler(geometry, config.surface);
  }

  /**
   * Surface samples of every valid cell's patch of every view (the geometry
   * is frozen, so they are computed once), targets, the padding template,
   * and the output bias initialised to the mean target.
   */
  async prepare(
    targets: readonly DistillTarget[],
    options: { signal?: AbortSignal; progress?: (done: number, total: number) => void; prior?: boolean;
      viewBank?: boolean | (Partial<Pick<ViewBank, 'sharpness' | 'maxViews' | 'depthTolerance'>> & {
        background?: boolean;
        /** Choose sharpness and maxViews by leave-one-out over the training views (tuneViewBank; overrides the given ones). */
        tune?: boolean | Parameters<typeof tuneViewBank>[3];
      });
      /** 'reference': keep the TypeScript density MLP (default: onnxruntime when a backend is registered). */
      evaluator?: 'auto' | 'reference';
    } = {},
  ): Promise<void> {
    if (this.gpu) throw new Error('FeatureDistillation.prepare: training is on the GPU (its views were uploaded by useGpu); await syncFromGpu() and releaseGpu() first, then useGpu() again');
    const K = this.config.channels;
    const usePrior = options.prior ?? true;
    const centresPlacement = (this.config.surface.placement ?? 'march') === 'centres';
    const bankOptions = options.viewBank ?? centresPlacement;
    if (bankOptions && !centresPlacement) throw new Error("the view bank needs surface.placement 'centres' (it keeps the training views' cell-centre depth)");
    const bankDepth = bankOptions ? new Float32Array(targets.length * EMBED_CELLS) : null;
    // The density MLP in onnxruntime when a backend is registered, as FeatureFieldRenderer does: the same
    // surfaces in training, in the bank's depth and at render time (and faster).
    if (options.evaluator !== 'reference' && this.sampler.evaluator.name.startsWith('cpu')) {
      const g = this.geometry.config;
      const { evaluator } = await createFieldEvaluator(g, paramLayout(g), 'auto');
      this.sampler = new SurfaceSampler(this.geometry, this.config.surface, evaluator);
    }
    this.views = [];
    const padSum = new Float64Array(K * EMBED_CELLS);
    const padCount = new Uint32Array(EMBED_CELLS);
    const mean = new Float64Array(K);
    let meanN = 0;
    for (let v = 0; v < targets.length; v++) {
      const t = targets[v]!;
      if (t.embedding.length !== K * EMBED_CELLS) throw new Error(`view ${t.name}: the embedding has ${t.embedding.length} values, expected ${K}x${EMBED_SIDE}x${EMBED_SIDE}`);
      const grid = cellGrid(t.camera.width, t.camera.height);
      const n = grid.cols * grid.rows;
      const surface = await viewSurface(this.sampler, this.config, t.camera, grid, options.signal);
      if (bankDepth && surface.centres)
        for (let c = 0; c < n; c++) bankDepth[v * EMBED_CELLS + Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols)] = surface.centres.depth[c]!;
      const tv = new Float32Array(n * K);
      for (let y = 0, c = 0; y < grid.rows; y++)
        for (let x = 0; x < grid.cols; x++, c++) {
          const cell = y * EMBED_SIDE + x;
          for (let k = 0; k < K; k++) {
            const val = t.embedding[k * EMBED_CELLS + cell]!;
            tv[c * K + k] = val;
            mean[k] += val;
          }
          meanN++;
        }
      for (let y = 0; y < EMBED_SIDE; y++)
        for (let x = 0; x < EMBED_SIDE; x++) {
          if (x < grid.cols && y < grid.rows) continue;
          const cell = y * EMBED_SIDE + x;
          padCount[cell]!++;
          for (let k = 0; k < K; k++) padSum[k * EMBED_CELLS + cell] += t.embedding[k * EMBED_CELLS + cell]!;
        }
      this.views.push({ name: t.name, grid, surface, targets: tv });
      options.progress?.(v + 1, targets.length);
    }
    // Per-cell prior: mean target per grid position over the views (the global mean where no view has the cell); targets become residuals.
    this.prior = null;
    if (usePrior) {
      const sum = new Float64Array(K * EMBED_CELLS);
      const count = new Uint32Array(EMBED_CELLS);
      for (const view of this.views)
        for (let y = 0, c = 0; y < view.grid.rows; y++)
          for (let x = 0; x < view.grid.cols; x++, c++) {
            const cell = y * EMBED_SIDE + x;
            count[cell]!++;
            for (let k = 0; k < K; k++) sum[k * EMBED_CELLS + cell] += view.targets[c * K + k]!;
          }
      const prior = new Float32Array(K * EMBED_CELLS);
      for (let cell = 0; cell < EMBED_CELLS; cell++)
        for (let k = 0; k < K; k++) prior[k * EMBED_CELLS + cell] = count[cell] ? sum[k * EMBED_CELLS + cell]! / count[cell]! : mean[k]! / Math.max(1, meanN);
      for (const view of this.views)
        for (let y = 0, c = 0; y < view.grid.rows; y++)
          for (let x = 0; x < view.grid.cols; x++, c++) {
            const cell = y * EMBED_SIDE + x;
            for (let k = 0; k < K; k++) view.targets[c * K + k]! -= prior[k * EMBED_CELLS + cell]!;
          }
      this.prior = prior;
      mean.fill(0);
    }
    if (padCount.some((c) => c > 0)) {
      const embedding = new Float32Array(K * EMBED_CELLS);
      const observed = new Uint8Array(EMBED_CELLS);
      for (let cell = 0; cell < EMBED_CELLS; cell++) {
        if (!padCount[cell]) continue;
        observed[cell] = 1;
        for (let k = 0; k < K; k++) embedding[k * EMBED_CELLS + cell] = padSum[k * EMBED_CELLS + cell]! / padCount[cell]!;
      }
      this.padding = { embedding, observed };
    } else this.padding = null;
    this.bank = null;
    if (bankDepth) {
      const embeddings = new Float32Array(targets.length * K * EMBED_CELLS);
      targets.forEach((t, v) => cellMajor(t.embedding, K, embeddings.subarray(v * K * EMBED_CELLS, (v + 1) * K * EMBED_CELLS)));
      const { background = true, tune, ...o } = typeof bankOptions === 'object' ? bankOptions : {};
      const b = this.geometry.bounds;
      const centre: [number, number, number] = [0.5 * (b.min[0] + b.max[0]), 0.5 * (b.min[1] + b.max[1]), 0.5 * (b.min[2] + b.max[2])];
      this.bank = { cameras: targets.map((t) => structuredClone(t.camera)), embeddings, depth: bankDepth, ...VIEW_BANK_DEFAULTS, ...o, ...(background ? { background: { centre } } : {}) };
      this.bankTuning = null;
      if (tune && targets.length >= 2) {
        this.bankTuning = tuneViewBank(this.bank, this.prior ? cellMajor(this.prior, K) : null, K, typeof tune === 'object' ? tune : {});
        this.bank.sharpness = this.bankTuning.best.sharpness;
        this.bank.maxViews = this.bankTuning.best.maxViews;
      }
    }
    if (this.steps === 0 && meanN > 0) for (let k = 0; k < K; k++) this.params[this.layout.bOut + k] = mean[k]! / meanN;
  }

  get preparedViews(): number {
    return this.views.length;
  }

  /** One Adam step on `cells` random valid cells of random views; returns the batch's mean squared error. */
  step(lr: number, cells = 64): DistillStats {
    if (this.views.length === 0) throw new Error('FeatureDistillation.step: call prepare() with at least one view first');
    if (this.gpu) throw new Error('FeatureDistillation.step: training is on the GPU after useGpu(); call stepGpu()');
    return this.trainStep(this.pick(cells).map(([v, c]) => [this.views[v]!, c] as const), lr);
  }

  /** Draws `cells` (view index, valid cell) pairs from the RNG: the CPU and GPU steps draw the same sequence. */
  private pick(cells: number): Array<[number, number]> {
    return drawCells(this.rng, cells, this.views.length, (v) => this.views[v]!.grid.cols * this.views[v]!.grid.rows);
  }

  // WebGPU training (runtime-gpu/webgpu/distill, docs/gpu.md "Feature distillation").
  private gpu: GpuFeatureTrainer | null = null;
  private gpuDirty = false;

  /**
   * Trains on a WebGPU device from now on: uploads the prepared views (surface
   * samples, targets), the parameters and the Adam moments once. Call after
   * prepare() (again after another prepare()); then stepGpu() instead of
   * step(), and syncFromGpu() before toValue().
   */
  async useGpu(ctx: GpuContext): Promise<void> {
    if (this.views.length === 0) throw new Error('FeatureDistillation.useGpu: call prepare() with at least one view first');
    if (this.gpu && this.gpuDirty) await this.syncFromGpu();
    this.releaseGpu();
    const gpu = await GpuFeatureTrainer.create(ctx, this.config, this.layout, { params: this.params, adam: { m: this.adam.m, v: this.adam.v }, adamConfig: this.adam.config });
    gpu.setViews(this.views);
    this.gpu = gpu;
  }

  /**
   * One Adam step on the GPU on the same picks as step() would draw. With
   * `loss` (default) it waits for the device and returns the batch's loss;
   * with `loss: false` it only queues the step (loss NaN: readGpuLosses()
   * returns the queued steps' losses, at most the last 256).
   */
  async stepGpu(lr: number, cells = 64, options: { loss?: boolean } = {}): Promise<DistillStats> {
    if (!this.gpu) throw new Error('FeatureDistillation.stepGpu: call useGpu(ctx) after prepare() first');
    const picks = this.pick(cells);
    this.adam.nextStep();
    const { samples } = this.gpu.step(picks, lr, this.adam.step);
    this.steps++;
    this.gpuDirty = true;
    let loss = NaN;
    if (options.loss ?? true) {
      const losses = await this.gpu.readLosses();
      loss = losses[losses.length - 1]!;
    }
    return { loss, cells, samples };
  }

  /** The losses of the GPU steps since the last read, oldest first. */
  readGpuLosses(): Promise<Float32Array> {
    if (!this.gpu) throw new Error('FeatureDistillation.readGpuLosses: not training on the GPU');
    return this.gpu.readLosses();
  }

  /** Reads the parameters and Adam moments back from the device into params / adam (toValue() then sees the GPU's training). */
  async syncFromGpu(): Promise<void> {
    if (!this.gpu) return;
    this.params.set(await this.gpu.readParams());
    const { m, v } = await this.gpu.readAdam();
    this.adam.m.set(m);
    this.adam.v.set(v);
    this.gpuDirty = false;
  }

  /**
   * Frees the device state; step() runs on the CPU again. Never throws (safe
   * in a finally after an abort): training not read back by syncFromGpu() is
   * dropped, and toValue() then refuses the stale host parameters.
   */
  releaseGpu(): void {
    this.gpu?.destroy();
    this.gpu = null;
  }

  toValue(model: string, provenance: FeatureFieldValue['provenance']): FeatureFieldValue {
    if (this.gpuDirty) throw new Error(`FeatureDistillation.toValue: the trained parameters are on the GPU; await syncFromGpu() first${this.gpu ? '' : ' (releaseGpu() dropped them: train again)'}`);
    return {
      kind: 'FeatureField',
      config: structuredClone(this.config),
      params: this.params.slice(),
      geometry: this.geometry,
      padding: this.padding ? { embedding: this.padding.embedding.slice(), observed: this.padding.observed.slice() } : null,
      prior: this.prior ? this.prior.slice() : null,
      viewBank: this.bank ? { ...this.bank, cameras: structuredClone(this.bank.cameras), embeddings: this.bank.embeddings.slice(), depth: this.bank.depth.slice() } : null,
      model,
      provenance: { ...provenance, views: [...provenance.views] },
    };
  }
}

/** Surface samples of every valid cell's patch of a view (row-major cells, then the patch), by the config's placement rule. */
export async function viewSurface(
  sampler: SurfaceSampler,
  config: FeatureFieldConfig,
  camera: Camera,
  grid: CellGrid,
  signal?: AbortSignal,
  want?: (centres: CentreSurface) => Uint8Array | undefined,
): Promise<SurfaceSamples & { marchedRays: number; centres?: CentreSurface }> {
  const P = config.patch;
  if ((config.surface.placement ?? 'march') === 'centres') {
    const s = await patchSurface(sampler, camera, grid, P, { signal, want });
    return { ...s, marchedRays: s.stats.marchedRays };
  }
  const { rays } = gridRays(camera, grid, P);
  const n = grid.cols * grid.rows;
  return { ...(await sampler.sample(rays, n * P * P, signal)), marchedRays: n * P * P };
}

export interface RenderedEmbedding {
  /** [channels, 64, 64] channel-major, the layout of SAM's image_embeddings. */
  embedding: Float32Array;
  grid: CellGrid;
  rays: number;
  /** Rays marched through the radiance field (the rest were placed on interpolated surfaces). */
  marchedRays: number;
  /** Radiance-field evaluations (the last march; density only). */
  evaluated: number;
  ms: { surface: number; head: number; blend: number };
  /** Valid cells by source: blended from the view bank, rendered by the field, background (every ray misses: one shared value); supersampled: the blended silhouette cells blended again at their own sub-rays (blendPatches). */
  cells: { blended: number; field: number; background: number; supersampled: number };
  /** Where the head ran: onnxruntime (surface.placement 'centres' and a backend), else the TypeScript reference. */
  head: 'onnxruntime' | 'cpu';
}

/** The head's implementation for rendering: 'auto' = onnxruntime when it can run (one point per ray and a backend), else the CPU reference. */
export type HeadChoice = 'auto' | 'onnxruntime' | 'cpu';

/** Renders the embedding grid of a FeatureFieldValue for any camera. */
export class FeatureFieldRenderer {
  readonly layout: FeatureLayout;
  readonly head: FeatureHead;
  readonly sampler: SurfaceSampler;
  private readonly paddingMean?: Float32Array;

  private ort?: Promise<OrtFeatureHead | null>;
  private priorCells?: Float32Array;
  private ortSampler?: Promise<SurfaceSampler>;

  /** The surface sampler: the radiance field's density MLP in onnxruntime when it can run ('auto'/'onnxruntime'), else the TypeScript reference. */
  private async surfaceSampler(choice: HeadChoice): Promise<SurfaceSampler> {
    if (choice === 'cpu') return this.sampler;
    const geometry = this.value.geometry;
    this.ortSampler ??= createFieldEvaluator(geometry.config, paramLayout(geometry.config), choice === 'onnxruntime' ? 'onnxruntime' : 'auto').then(
      ({ evaluator }) => new SurfaceSampler(geometry, this.value.config.surface, evaluator),
    );
    return this.ortSampler;
  }

  /** The onnxruntime head, created on first use; null when it cannot run here ('auto' then uses the CPU head). */
  private async ortHead(choice: HeadChoice): Promise<OrtFeatureHead | null> {
    if (choice === 'cpu') return null;
    if ((this.value.config.surface.placement ?? 'march') !== 'centres') {
      if (choice === 'onnxruntime') throw new Error("the onnxruntime feature head needs surface.placement 'centres' (one surface point per ray)");
      return null;
    }
    this.ort ??= OrtFeatureHead.create(this.value.config, this.layout).catch((e: unknown) => {
      if (choice === 'onnxruntime') throw e;
      return null;
    });
    const head = await this.ort;
    if (!head && choice === 'onnxruntime') throw new Error('no onnxruntime backend for the feature head');
    return head;
  }

  constructor(readonly value: FeatureFieldValue) {
    validateFeatureConfig(value.config);
    this.layout = featureLayout(value.config);
    if (value.params.length !== this.layout.count)
      throw new Error(`the feature field has ${value.params.length} parameters but its config needs ${this.layout.count}`);
    this.head = new FeatureHead(value.config, this.layout);
    this.sampler = new SurfaceSampler(value.geometry, value.config.surface);
    const pad = value.padding;
    if (pad) {
      const K = value.config.channels;
      const mean = new Float32Array(K);
      let n = 0;
      for (let cell = 0; cell < EMBED_CELLS; cell++) {
        if (!pad.observed[cell]) continue;
        n++;
        for (let k = 0; k < K; k++) mean[k] += pad.embedding[k * EMBED_CELLS + cell]!;
      }
      for (let k = 0; k < K; k++) mean[k] /= Math.max(1, n);
      this.paddingMean = mean;
    }
  }

  /**
   * The 64 x 64 grid for `camera`: valid cells rendered from their patches;
   * padding cells from the training views' padding embeddings at the same
   * cell (their mean where no training view was padded there; zero when no
   * training view had padding).
   */
  async render(
    camera: Camera,
    options: {
      signal?: AbortSignal;
      chunkCells?: number;
      head?: HeadChoice;
      blend?: boolean;
      /** Silhouette supersampling of the view bank: sub-rays per cell side (true = SUPERSAMPLE, false or 1 = centre reads only). */
      supersample?: boolean | number;
    } = {},
  ): Promise<RenderedEmbedding> {
    const { config } = this.value;
    const P = config.patch, P2 = P * P, K = config.channels;
    const grid = cellGrid(camera.width, camera.height);
    const embedding = new Float32Array(K * EMBED_CELLS);
    const chunk = options.chunkCells ?? 1024;
    const n = grid.cols * grid.rows;
    const ms = { surface: 0, head: 0, blend: 0 };
    const ort = await this.ortHead(options.head ?? 'auto');
    const sampler = await this.surfaceSampler(options.head ?? 'auto');
    const prior = this.value.prior;
    const writeCell = (c: number, values: Float32Array, at: number) => {
      const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
      for (let k = 0; k < K; k++) embedding[k * EMBED_CELLS + cell] = values[at + k]! + (prior ? prior[k * EMBED_CELLS + cell]! : 0);
    };
    // View-dependent blending where training views see the cell's centre surface point (known after the centre march);
    // only the other cells' patches are then placed or marched.
    const bank = options.blend === false ? null : this.value.viewBank;
    if (bank && prior) this.priorCells ??= cellMajor(prior, K);
    let blended: Uint8Array = new Uint8Array(n);
    let supersampled = 0;
    // Silhouette cells the bank blended: blended again at S x S sub-rays of their own (blendPatches) once the centres are known.
    let edges: number[] = [];
    const S = options.supersample === false ? 0 : options.supersample === true || options.supersample === undefined ? SUPERSAMPLE : options.supersample;
    const want = bank
      ? (centres: CentreSurface) => {
          const t2 = performance.now();
          blended = blendViews(bank, prior ? this.priorCells! : null, camera, grid, centres.points, centres.hit, embedding, K);
          if (S > 1) {
            const edge = silhouetteCells(grid, centres.hit, centres.depth);
            edges = [];
            for (let c = 0; c < n; c++) if (blended[c] && edge[c]) edges.push(c);
          }
          ms.blend = performance.now() - t2;
          return blended.map((b) => 1 - b);
        }
      : undefined;
    const t0 = performance.now();
    const surface = await viewSurface(sampler, config, camera, grid, options.signal, want);
    const evaluated = sampler.evaluated;
    ms.surface = performance.now() - t0 - ms.blend;
    if (bank && edges.length > 0) {
      const t3 = performance.now();
      const S2 = S * S;
      const rays = new Float64Array(6 * edges.length * S2);
      edges.forEach((c, i) => cellRays(camera, grid, c % grid.cols, Math.floor(c / grid.cols), S, rays, i * S2));
      const sub = surfacePoints(await sampler.sample(rays, edges.length * S2, options.signal));
      const t4 = performance.now();
      ms.surface += t4 - t3;
      const subPoints = new Float64Array(3 * edges.length * S2), subHit = new Uint8Array(edges.length * S2);
      const mapping = this.value.geometry.config.scene;
      for (let r = 0; r < edges.length * S2; r++) {
        const q = sub.offsets[r]!;
        if (sub.offsets[r + 1] === q || !(sub.acc[r]! >= 0.5)) continue;
        const [x, y, z] = normalizedToWorld(mapping, sub.positions[3 * q]!, sub.positions[3 * q + 1]!, sub.positions[3 * q + 2]!);
        subPoints[3 * r] = x;
        subPoints[3 * r + 1] = y;
        subPoints[3 * r + 2] = z;
        subHit[r] = 1;
      }
      supersampled = blendPatches(bank, prior ? this.priorCells! : null, camera, grid, edges, S, subPoints, subHit, embedding, K);
      ms.blend += performance.now() - t4;
    }
    // The field for the other cells; cells whose rays all miss share one value (the background's).
    const t1 = performance.now();
    const o = surface.offsets;
    const todo: number[] = [];
    const empty: number[] = [];
    for (let c = 0; c < n; c++) {
      if (blended[c]) continue;
      let any = false;
      for (let r = c * P2; r < (c + 1) * P2 && !any; r++) any = surface.acc[r]! > 0 || o[r + 1]! > o[r]!;
      (any ? todo : empty).push(c);
    }
    if (empty.length > 0) {
      const bgOut = new Float32Array(K);
      const none: CellBatch = { cells: 1, samples: 0, positions: new Float32Array(0), weights: new Float32Array(0), sampleRay: new Uint32Array(0), acc: new Float32Array(P2) };
      this.head.forward(this.value.params, none, bgOut);
      for (const c of empty) writeCell(c, bgOut, 0);
    }
    const out = new Float32Array(chunk * K);
    for (let i0 = 0; i0 < todo.length; i0 += chunk) {
      const cells = todo.slice(i0, i0 + chunk);
      let samples = 0;
      for (const c of cells) samples += o[(c + 1) * P2]! - o[c * P2]!;
      const batch: CellBatch = { cells: cells.length, samples, positions: new Float32Array(3 * samples), weights: new Float32Array(samples), sampleRay: new Uint32Array(samples), acc: new Float32Array(cells.length * P2) };
      let q = 0;
      cells.forEach((c, i) => {
        for (let j = 0; j < P2; j++) {
          const r = c * P2 + j;
          batch.acc[i * P2 + j] = surface.acc[r]!;
          for (let t = o[r]!; t < o[r + 1]!; t++, q++) {
            batch.weights[q] = surface.weights[t]!;
            batch.positions.set(surface.positions.subarray(3 * t, 3 * t + 3), 3 * q);
            batch.sampleRay[q] = i * P2 + j;
          }
        }
      });
      if (ort) await ort.forward(this.value.params, batch, out);
      else this.head.forward(this.value.params, batch, out);
      cells.forEach((c, i) => writeCell(c, out, i * K));
    }
    ms.head = performance.now() - t1;
    const pad = this.value.padding;
    if (pad && this.paddingMean) {
      for (let y = 0; y < EMBED_SIDE; y++)
        for (let x = 0; x < EMBED_SIDE; x++) {
          if (x < grid.cols && y < grid.rows) continue;
          const cell = y * EMBED_SIDE + x;
          for (let k = 0; k < K; k++) embedding[k * EMBED_CELLS + cell] = pad.observed[cell] ? pad.embedding[k * EMBED_CELLS + cell]! : this.paddingMean[k]!;
        }
    }
    let nb = 0;
    for (let c = 0; c < n; c++) nb += blended[c]!;
    return { embedding, grid, rays: n * P2, marchedRays: surface.marchedRays, evaluated, ms, head: ort ? 'onnxruntime' : 'cpu', cells: { blended: nb, field: todo.length, background: empty.length, supersampled } };
  }
}
