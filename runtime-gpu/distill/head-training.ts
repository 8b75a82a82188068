// Adam training of a FeatureHead on batches of prepared cells: the CPU
// training step shared by the SAM head (FeatureDistillation, distiller.ts)
// and the ClipSeg head (ClipSegDistillation, clipseg.ts). The parameters
// (initFeatureParams), gradient, Adam state and head; per step the picked
// cells' surface samples are gathered into a reused batch (appendCell), run
// forward, scored by the mean squared error against the targets, run
// backward, and the hash entries (sparse) and dense weights updated by Adam.
// Platform-neutral.

import type { FeatureFieldConfig } from '../../engine/values';
import { Adam } from '../nerf/adam';
import { Rng } from '../nerf/rng';
import { FeatureHead, type CellBatch } from './head';
import { featureLayout, validateFeatureConfig, type FeatureLayout } from './layout';
import type { SurfaceSamples } from './surface';

/** Xavier-uniform dense weights, U(-1e-4, 1e-4) hash entries, zero biases. */
export function initFeatureParams(config: FeatureFieldConfig, layout: FeatureLayout, rng: Rng): Float32Array {
  const p = new Float32Array(layout.count);
  for (let i = 0; i < layout.hashCount; i++) p[i] = rng.uniform(-1e-4, 1e-4);
  const E = layout.encodingWidth, H = config.hidden, C = config.aggChannels, K = config.channels;
  const xavier = (off: number, rows: number, cols: number, gain = 1) => {
    const b = gain * Math.sqrt(6 / (rows + cols));
    for (let i = 0; i < rows * cols; i++) p[off + i] = rng.uniform(-b, b);
  };
  xavier(layout.w1, H, E);
  if (C > 0) {
    xavier(layout.conv1, C, 9 * H);
    // The aggregator starts near zero: the cell feature starts as the plain patch mean.
    xavier(layout.conv2, H, 9 * C, 0.1);
  }
  xavier(layout.wOut, K, H);
  return p;
}

export interface DistillStats {
  loss: number;
  cells: number;
  samples: number;
}

/** A prepared training view: surface samples of its cells' patches (cell by cell, then the patch's rays) and targets [cell][channel]. */
export interface TrainingView {
  surface: SurfaceSamples;
  targets: Float32Array;
}

/** Draws `cells` (view index, cell) pairs from `rng`: per cell the view, then one of its `cellsOf(view)` cells. */
export function drawCells(rng: Rng, cells: number, views: number, cellsOf: (view: number) => number): Array<[number, number]> {
  const picks: Array<[number, number]> = [];
  for (let i = 0; i < cells; i++) {
    const v = rng.int(views);
    picks.push([v, rng.int(cellsOf(v))]);
  }
  return picks;
}

/** Copies the samples of rays [r0, r0 + P2) of `surface` as cell `cell` of the batch; returns the new sample count. */
export function appendCell(batch: CellBatch, cell: number, surface: SurfaceSamples, r0: number, P2: number, s: number): number {
  const o = surface.offsets;
  for (let j = 0; j < P2; j++) {
    const r = r0 + j, br = cell * P2 + j;
    batch.acc[br] = surface.acc[r]!;
    for (let q = o[r]!; q < o[r + 1]!; q++) {
      batch.weights[s] = surface.weights[q]!;
      batch.positions[3 * s] = surface.positions[3 * q]!;
      batch.positions[3 * s + 1] = surface.positions[3 * q + 1]!;
      batch.positions[3 * s + 2] = surface.positions[3 * q + 2]!;
      batch.sampleRay[s] = br;
      s++;
    }
  }
  return s;
}

/**
 * A FeatureHead's parameters and their Adam training (the base of
 * FeatureDistillation and ClipSegDistillation). The RNG (seeded by `seed`)
 * draws the initial parameters (unless `from` gives them), then the
 * subclass's cell picks.
 */
export class HeadTraining {
  readonly layout: FeatureLayout;
  readonly params: Float32Array;
  readonly grad: Float32Array;
  readonly adam: Adam;
  readonly head: FeatureHead;
  readonly rng: Rng;
  steps = 0;
  private batch: CellBatch = { cells: 0, samples: 0, positions: new Float32Array(0), weights: new Float32Array(0), sampleRay: new Uint32Array(0), acc: new Float32Array(0) };
  private out = new Float32Array(0);
  private dOut = new Float32Array(0);

  constructor(
    readonly config: FeatureFieldConfig,
    readonly seed: number,
    from?: Float32Array,
  ) {
    validateFeatureConfig(config);
    this.layout = featureLayout(config);
    this.rng = new Rng(seed);
    if (from && from.length !== this.layout.count)
      throw new Error(`the feature parameters have ${from.length} values but the config needs ${this.layout.count}`);
    this.params = from ? from.slice() : initFeatureParams(config, this.layout, this.rng);
    this.grad = new Float32Array(this.layout.count);
    this.adam = new Adam(this.layout.count);
    this.head = new FeatureHead(config, this.layout);
  }

  /** One Adam step on the picked (view, cell) pairs; returns the batch's mean squared error. */
  protected trainStep(picks: ReadonlyArray<readonly [TrainingView, number]>, lr: number): DistillStats {
    const P2 = this.config.patch * this.config.patch, K = this.config.channels;
    const cells = picks.length;
    let samples = 0;
    for (const [view, c] of picks) {
      const o = view.surface.offsets;
      samples += o[(c + 1) * P2]! - o[c * P2]!;
    }
    const batch = this.ensureBatch(cells, samples);
    if (this.out.length < cells * K) {
      this.out = new Float32Array(cells * K);
      this.dOut = new Float32Array(cells * K);
    }
    let s = 0;
    for (let i = 0; i < cells; i++) {
      const [view, c] = picks[i]!;
      s = appendCell(batch, i, view.surface, c * P2, P2, s);
    }
    batch.cells = cells;
    batch.samples = s;
    this.head.forward(this.params, batch, this.out);
    let sse = 0;
    const scale = 2 / (cells * K);
    for (let i = 0; i < cells; i++) {
      const [view, c] = picks[i]!;
      for (let k = 0; k < K; k++) {
        const e = this.out[i * K + k]! - view.targets[c * K + k]!;
        sse += e * e;
        this.dOut[i * K + k] = scale * e;
      }
    }
    this.head.backward(this.params, batch, this.dOut, this.grad);
    this.adam.nextStep();
    this.adam.update(this.params, this.grad, 0, this.layout.hashCount, lr, true);
    this.adam.update(this.params, this.grad, this.layout.hashCount, this.layout.count, lr, false);
    this.steps++;
    return { loss: sse / (cells * K), cells, samples: s };
  }

  /** The reused batch, grown to hold `cells` cells and `samples` samples. */
  private ensureBatch(cells: number, samples: number): CellBatch {
    const P2 = this.config.patch * this.config.patch;
    const b = this.batch;
    if (b.acc.length < cells * P2) b.acc = new Float32Array(cells * P2);
    if (b.weights.length < samples) {
      const n = Math.ceil(samples * 1.5);
      b.weights = new Float32Array(n);
      b.positions = new Float32Array(3 * n);
      b.sampleRay = new Uint32Array(n);
    }
    return b;
  }
}
