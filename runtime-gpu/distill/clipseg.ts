// The second feature head: ClipSeg's reduced activations (the decoder's
// reduces.0/1/2 outputs, 3 x 64 = 192 channels on the 22 x 22 token grid of
// the 352 x 352 input) distilled into their own hash grid + head on the same
// frozen geometry, so text prompts work on rendered features: the rendered
// tokens go through the rest of ClipSeg's decoder (docs/distill.md, "ClipSeg
// head"). Same head, patch aggregation and surface rule as the SAM head
// (head.ts, surface.ts); only the cell grid differs. Platform-neutral.
//
// Cells: ClipSeg squashes the photo to 352 x 352 (no aspect ratio kept), so
// token (cx, cy) covers the 16 x 16 input square at 16 (cx, cy), i.e. the
// rectangle [16 cx W / 352, 16 (cx + 1) W / 352) x (the same in y) of the
// photo. cells.ts' cellRays maps a 16-pixel cell of a resized frame back with
// width / resizedWidth, so a CellGrid with resizedWidth = resizedHeight = 352
// and cols = rows = 22 gives exactly that footprint, the same in training and
// rendering.

import type { Camera, ClipSegHeadValue, FeatureFieldConfig, FeatureFieldValue, RadianceFieldValue } from '../../engine/values';
import { paramLayout } from '../nerf/config';
import { createFieldEvaluator } from '../nerf/evaluators';
import type { CellGrid } from './cells';
import { viewSurface } from './distiller';
import { FeatureHead, type CellBatch } from './head';
import { appendCell, drawCells, HeadTraining, type DistillStats } from './head-training';
import { featureLayout, validateFeatureConfig, type FeatureLayout } from './layout';
import { SurfaceSampler, type SurfaceSamples } from './surface';

/** cells.ts' cell side in resized pixels (cellRays assumes it). */
const CELL = 16;

export interface ClipSegDims {
  /** Token grid side (22 for a 352 input). */
  side: number;
  inputSize: number;
  /** Channels per reduced activation (64 in rd64). */
  reduce: number;
  layers: number;
}

export const CLIPSEG_DIMS: ClipSegDims = { side: 22, inputSize: 352, reduce: 64, layers: 3 };

/** The token grid of a width x height photo: every token is a valid cell (no padding: the resize squashes). */
export function clipSegGrid(width: number, height: number, dims: Pick<ClipSegDims, 'side' | 'inputSize'> = CLIPSEG_DIMS): CellGrid {
  if (!(width > 0 && height > 0)) throw new RangeError(`image size must be positive, got ${width}x${height}`);
  if (dims.inputSize !== dims.side * CELL) throw new RangeError(`ClipSeg's token grid must have ${CELL}-pixel cells: input ${dims.inputSize} / side ${dims.side} is ${dims.inputSize / dims.side}`);
  return { width, height, resizedWidth: dims.inputSize, resizedHeight: dims.inputSize, cols: dims.side, rows: dims.side };
}

/** A training view: its camera and ClipSeg's reduced activations of its photo. */
export interface ClipSegTarget {
  name: string;
  camera: Camera;
  /** One per reduce (reduces.0, 1, 2): [1 + side^2, reduce] token-major, CLS first (the export's [1, tokens, reduce] without the batch). */
  tokens: Float32Array[];
}

/** Tokens -> per-cell targets [side^2][layers x reduce] and the CLS vector [layers x reduce]. */
export function clipSegCells(tokens: readonly Float32Array[], dims: ClipSegDims): { cells: Float32Array; cls: Float32Array } {
  const { side, reduce, layers } = dims;
  const T = side * side, K = layers * reduce;
  if (tokens.length !== layers) throw new Error(`expected ${layers} reduced activations, got ${tokens.length}`);
  const cells = new Float32Array(T * K), cls = new Float32Array(K);
  tokens.forEach((t, l) => {
    if (t.length !== (T + 1) * reduce) throw new Error(`reduced activation ${l} has ${t.length} values, expected (1 + ${side}x${side}) x ${reduce} = ${(T + 1) * reduce}`);
    for (let j = 0; j < reduce; j++) cls[l * reduce + j] = t[j]!;
    for (let c = 0; c < T; c++) for (let j = 0; j < reduce; j++) cells[c * K + l * reduce + j] = t[(1 + c) * reduce + j]!;
  });
  return { cells, cls };
}

/** The inverse: per-cell features + a CLS vector -> the decoder's inputs, one [1 + side^2, reduce] array per reduce. */
export function clipSegTokens(cells: Float32Array, cls: Float32Array, dims: ClipSegDims): Float32Array[] {
  const { side, reduce, layers } = dims;
  const T = side * side, K = layers * reduce;
  return Array.from({ length: layers }, (_, l) => {
    const t = new Float32Array((T + 1) * reduce);
    for (let j = 0; j < reduce; j++) t[j] = cls[l * reduce + j]!;
    for (let c = 0; c < T; c++) for (let j = 0; j < reduce; j++) t[(1 + c) * reduce + j] = cells[c * K + l * reduce + j]!;
    return t;
  });
}

/** The head's config: the SAM head's hash grid, widths, patch and surface rule, with layers x reduce output channels. */
export function clipSegHeadConfig(base: FeatureFieldConfig, dims: ClipSegDims = CLIPSEG_DIMS): FeatureFieldConfig {
  const config = { ...structuredClone(base), channels: dims.layers * dims.reduce };
  validateFeatureConfig(config);
  return config;
}

interface PreparedView {
  name: string;
  surface: SurfaceSamples;
  /** Residual targets [cell][K] (after the prior). */
  targets: Float32Array;
}

/** Distils ClipSeg's reduced activations into a FeatureHead over the frozen geometry. */
export class ClipSegDistillation extends HeadTraining {
  sampler: SurfaceSampler;
  private views: PreparedView[] = [];
  private prior: Float32Array | null = null;
  private cls: { cameras: Camera[]; tokens: Float32Array } = { cameras: [], tokens: new Float32Array(0) };

  constructor(
    config: FeatureFieldConfig,
    readonly geometry: RadianceFieldValue,
    seed: number,
    readonly dims: ClipSegDims = CLIPSEG_DIMS,
    /** Share the SAM head's sampler (its onnxruntime density evaluator, if any). */
    sampler?: SurfaceSampler,
  ) {
    validateFeatureConfig(config);
    if (config.channels !== dims.layers * dims.reduce) throw new Error(`the ClipSeg head needs ${dims.layers} x ${dims.reduce} = ${dims.layers * dims.reduce} channels, the config has ${config.channels}`);
    clipSegGrid(1, 1, dims);
    super(config, seed);
    this.sampler = sampler ?? new SurfaceSampler(geometry, config.surface);
  }

  /** Surface samples of every token cell's patch (computed once: the geometry is frozen), targets, the per-cell prior, the CLS bank. */
  async prepare(targets: readonly ClipSegTarget[], options: { signal?: AbortSignal; prior?: boolean; progress?: (done: number, total: number) => void } = {}): Promise<void> {
    const { side } = this.dims, T = side * side, K = this.config.channels;
    this.views = [];
    const cls = new Float32Array(targets.length * K);
    const sum = new Float64Array(T * K);
    for (const [v, t] of targets.entries()) {
      const { cells, cls: c } = clipSegCells(t.tokens, this.dims);
      cls.set(c, v * K);
      for (let i = 0; i < T * K; i++) sum[i] += cells[i]!;
      const surface = await viewSurface(this.sampler, this.config, t.camera, clipSegGrid(t.camera.width, t.camera.height, this.dims), options.signal);
      this.views.push({ name: t.name, surface, targets: cells });
      options.progress?.(v + 1, targets.length);
    }
    this.cls = { cameras: targets.map((t) => structuredClone(t.camera)), tokens: cls };
    const n = Math.max(1, targets.length);
    if (options.prior ?? true) {
      // Per-cell mean over the views (ClipSeg's ViT has absolute position embeddings too); targets become residuals.
      const prior = new Float32Array(T * K);
      for (let i = 0; i < T * K; i++) prior[i] = sum[i]! / n;
      for (const view of this.views) for (let i = 0; i < T * K; i++) view.targets[i]! -= prior[i]!;
      this.prior = prior;
    } else {
      this.prior = null;
      // The output bias starts at the mean target.
      if (this.steps === 0)
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let c = 0; c < T; c++) s += sum[c * K + k]!;
          this.params[this.layout.bOut + k] = s / (n * T);
        }
    }
  }

  get preparedViews(): number {
    return this.views.length;
  }

  /** One Adam step on `cells` random token cells of random views; returns the batch's mean squared error. */
  step(lr: number, cells = 64): DistillStats {
    if (this.views.length === 0) throw new Error('ClipSegDistillation.step: call prepare() with at least one view first');
    const T = this.dims.side * this.dims.side;
    return this.trainStep(drawCells(this.rng, cells, this.views.length, () => T).map(([v, c]) => [this.views[v]!, c] as const), lr);
  }

  toValue(model: ClipSegHeadValue['model'], cut: readonly string[], provenance: ClipSegHeadValue['provenance']): ClipSegHeadValue {
    if (cut.length !== this.dims.layers) throw new Error(`the ClipSeg head needs ${this.dims.layers} cut tensor names, got ${cut.length}`);
    return {
      config: structuredClone(this.config),
      params: this.params.slice(),
      ...this.dims,
      cut: [...cut],
      prior: this.prior ? this.prior.slice() : null,
      cls: { cameras: structuredClone(this.cls.cameras), tokens: this.cls.tokens.slice() },
      model: { ...model },
      provenance: { ...provenance, views: [...provenance.views] },
    };
  }
}

/** The viewing direction (camera -z in world) of a camera-to-world matrix (row-major 3x4 / 4x4, OpenGL camera). */
function forward(camera: Camera): [number, number, number] {
  const m = camera.cameraToWorld;
  const x = -m[2]!, y = -m[6]!, z = -m[10]!;
  const n = Math.hypot(x, y, z) || 1;
  return [x / n, y / n, z / n];
}

/** The index of the bank camera whose viewing direction is nearest `camera`'s (largest cosine). */
export function nearestViewByDirection(cameras: readonly Camera[], camera: Camera): number {
  const f = forward(camera);
  let best = -1, bestCos = -Infinity;
  cameras.forEach((c, i) => {
    const g = forward(c);
    const cos = f[0] * g[0] + f[1] * g[1] + f[2] * g[2];
    if (cos > bestCos) {
      bestCos = cos;
      best = i;
    }
  });
  return best;
}

export interface RenderedClipSegTokens {
  /** The decoder's inputs: one [1 + side^2, reduce] array per cut tensor (CLS first). */
  tokens: Float32Array[];
  /** Per-cell features [side^2][layers x reduce] (prior included). */
  cells: Float32Array;
  /** The training view whose CLS tokens were used. */
  clsView: number;
  grid: CellGrid;
  marchedRays: number;
  ms: { surface: number; head: number };
}

/** Renders ClipSeg's reduced activations of a FeatureFieldValue's ClipSeg head for any camera (TypeScript head). */
export class ClipSegHeadRenderer {
  readonly head: FeatureHead;
  readonly layout: FeatureLayout;
  readonly clipseg: ClipSegHeadValue;
  private sampler?: Promise<SurfaceSampler>;

  /** `sampler`: the surface sampler to use; default: the radiance field's density MLP in onnxruntime when a backend is registered (as FeatureFieldRenderer), else TypeScript; 'cpu' forces TypeScript. */
  constructor(readonly value: FeatureFieldValue, sampler?: SurfaceSampler | 'cpu') {
    const h = value.clipseg;
    if (!h) throw new Error('the feature field has no ClipSeg head (distil with a ClipSeg model to add one)');
    validateFeatureConfig(h.config);
    this.clipseg = h;
    this.layout = featureLayout(h.config);
    if (h.params.length !== this.layout.count) throw new Error(`the ClipSeg head has ${h.params.length} parameters but its config needs ${this.layout.count}`);
    if (h.cls.cameras.length === 0) throw new Error('the ClipSeg head has no training views (no CLS tokens)');
    this.head = new FeatureHead(h.config, this.layout);
    if (sampler === 'cpu') this.sampler = Promise.resolve(new SurfaceSampler(value.geometry, h.config.surface));
    else if (sampler) this.sampler = Promise.resolve(sampler);
  }

  private surfaceSampler(): Promise<SurfaceSampler> {
    const g = this.value.geometry;
    this.sampler ??= createFieldEvaluator(g.config, paramLayout(g.config), 'auto').then(({ evaluator }) => new SurfaceSampler(g, this.clipseg.config.surface, evaluator));
    return this.sampler;
  }

  async render(camera: Camera, options: { signal?: AbortSignal; chunkCells?: number } = {}): Promise<RenderedClipSegTokens> {
    const h = this.clipseg, dims: ClipSegDims = { side: h.side, inputSize: h.inputSize, reduce: h.reduce, layers: h.layers };
    const P2 = h.config.patch * h.config.patch, K = h.config.channels, T = h.side * h.side;
    const grid = clipSegGrid(camera.width, camera.height, dims);
    const t0 = performance.now();
    const surface = await viewSurface(await this.surfaceSampler(), h.config, camera, grid, options.signal);
    const t1 = performance.now();
    const cells = new Float32Array(T * K);
    const chunk = options.chunkCells ?? 256;
    const o = surface.offsets;
    const out = new Float32Array(chunk * K);
    for (let c0 = 0; c0 < T; c0 += chunk) {
      const n = Math.min(chunk, T - c0);
      const samples = o[(c0 + n) * P2]! - o[c0 * P2]!;
      const batch: CellBatch = { cells: n, samples, positions: new Float32Array(3 * samples), weights: new Float32Array(samples), sampleRay: new Uint32Array(samples), acc: new Float32Array(n * P2) };
      let s = 0;
      for (let i = 0; i < n; i++) s = appendCell(batch, i, surface, (c0 + i) * P2, P2, s);
      this.head.forward(h.params, batch, out);
      cells.set(out.subarray(0, n * K), c0 * K);
    }
    if (h.prior) for (let i = 0; i < T * K; i++) cells[i] += h.prior[i]!;
    const clsView = nearestViewByDirection(h.cls.cameras, camera);
    const tokens = clipSegTokens(cells, h.cls.tokens.subarray(clsView * K, (clsView + 1) * K), dims);
    return { tokens, cells, clsView, grid, marchedRays: surface.marchedRays, ms: { surface: t1 - t0, head: performance.now() - t1 } };
  }
}
