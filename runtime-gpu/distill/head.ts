// The feature head on the CPU: hash encoding and one hidden layer at the
// surface samples, rendered along each ray, patch aggregation, projection to
// SAM's channels. Forward and backward over a batch of cells.
//
//   per sample i:  g_i = relu(w1 hash(x_i) + b1)                        [H]
//   per ray r:     f_r = a_r sum_i wh_i g_i + (1 - a_r) bg              [H]
//                  (wh: sharpened surface weights summing to 1 over the ray's
//                   kept samples, a_r: the ray's accumulated opacity)
//   per cell c over its P x P rays X (zero-padded at the patch border):
//                  Y  = relu(conv1(X) + c1b)                            [P x P x C]
//                  m  = mean_p X_p + mean_p (conv2(Y) + c2b)           [H]
//                  (mean_p conv2(Y) = sum_k conv2_k T_k with T_k the mean
//                   of Y over the positions tap k reads: 9 small products
//                   instead of P^2 x 9)
//                  out = wOut m + bOut                                  [K]
//
// The last layer is linear, so projecting after the weighted sum over
// samples and the mean over the patch is exact: the original's per-sample
// 256-wide output layer costs K x H per cell here instead of per sample.

import type { FeatureFieldConfig } from '../../engine/values';
import { hashEncodeBackward, hashEncodeForward } from '../nerf/hash-encoding';
import { gemmNT, gemmTNAcc, transpose } from '../nerf/mlp';
import type { FeatureLayout } from './layout';

/** Surface samples of the rays of a batch of cells (P x P rays per cell, row-major within the patch). */
export interface CellBatch {
  cells: number;
  samples: number;
  /** Normalised positions (the radiance field's [0,1]^3 cube), 3 per sample. */
  positions: Float32Array;
  /** Sharpened weights, summing to 1 over each ray's samples. */
  weights: Float32Array;
  sampleRay: Uint32Array;
  /** Accumulated opacity per ray (cells * P * P). */
  acc: Float32Array;
}

export class FeatureHead {
  readonly P: number;
  readonly P2: number;
  readonly E: number;
  readonly H: number;
  readonly C: number;
  readonly K: number;
  private sampleCap = 0;
  private cellCap = 0;
  // Per sample.
  private enc = new Float32Array(0);
  private g = new Float32Array(0);
  private dg = new Float32Array(0);
  private denc = new Float32Array(0);
  // Per ray.
  private X = new Float32Array(0);
  private dX = new Float32Array(0);
  // Per cell position.
  private cols = new Float32Array(0);
  private Y = new Float32Array(0);
  private dCols = new Float32Array(0);
  // Per cell.
  private T = new Float32Array(0);
  private dT = new Float32Array(0);
  private m = new Float32Array(0);
  private dm = new Float32Array(0);
  private readonly tW1: Float32Array;
  private readonly tOut: Float32Array;
  private readonly tConv1: Float32Array;
  private readonly tConv2: Float32Array;
  /** Neighbour p + k of patch position p per tap (index or -1), and how many positions read position q with tap k. */
  private readonly neighbour: Int32Array;
  private readonly tapCount: Float32Array;

  constructor(
    readonly config: FeatureFieldConfig,
    readonly layout: FeatureLayout,
  ) {
    this.P = config.patch;
    this.P2 = this.P * this.P;
    this.E = layout.encodingWidth;
    this.H = config.hidden;
    this.C = config.aggChannels;
    this.K = config.channels;
    this.tW1 = new Float32Array(this.H * this.E);
    this.tOut = new Float32Array(this.K * this.H);
    this.tConv1 = new Float32Array(this.C * 9 * this.H);
    this.tConv2 = new Float32Array(this.H * 9 * this.C);
    const P = this.P;
    this.neighbour = new Int32Array(this.P2 * 9).fill(-1);
    this.tapCount = new Float32Array(9);
    for (let y = 0; y < P; y++)
      for (let x = 0; x < P; x++)
        for (let k = 0; k < 9; k++) {
          const nx = x + (k % 3) - 1, ny = y + Math.floor(k / 3) - 1;
          if (nx < 0 || ny < 0 || nx >= P || ny >= P) continue;
          this.neighbour[(y * P + x) * 9 + k] = ny * P + nx;
          this.tapCount[k]!++;
        }
  }

  private ensure(samples: number, cells: number): void {
    const { E, H, C, P2 } = this;
    if (samples > this.sampleCap) {
      this.sampleCap = Math.max(samples, Math.ceil(this.sampleCap * 1.5));
      const S = this.sampleCap;
      this.enc = new Float32Array(S * E);
      this.g = new Float32Array(S * H);
      this.dg = new Float32Array(S * H);
      this.denc = new Float32Array(S * E);
    }
    if (cells > this.cellCap) {
      this.cellCap = Math.max(cells, Math.ceil(this.cellCap * 1.5));
      const B = this.cellCap, R = B * P2;
      this.X = new Float32Array(R * H);
      this.dX = new Float32Array(R * H);
      if (C > 0) {
        this.cols = new Float32Array(R * 9 * H);
        this.Y = new Float32Array(R * C);
        this.dCols = new Float32Array(R * 9 * H);
        this.T = new Float32Array(B * 9 * C);
        this.dT = new Float32Array(B * 9 * C);
      }
      this.m = new Float32Array(B * H);
      this.dm = new Float32Array(B * H);
    }
  }

  /** out[c * K + k] for the batch's cells; keeps the activations for backward(). */
  forward(params: Float32Array, batch: CellBatch, out: Float32Array): void {
    const { E, H, C, K, P2, layout } = this;
    const { cells: B, samples: S } = batch;
    const R = B * P2;
    this.ensure(S, B);
    const { enc, g, X, m } = this;
    // Samples: hash encoding, hidden layer.
    hashEncodeForward(params, layout.levels, batch.positions, S, enc, E);
    if (S > 0) gemmNT(enc, 0, E, params, layout.w1, E, g, 0, H, S, H, E);
    for (let s = 0; s < S; s++) {
      const o = s * H;
      for (let h = 0; h < H; h++) {
        const v = g[o + h]! + params[layout.b1 + h]!;
        g[o + h] = v > 0 ? v : 0;
      }
    }
    // Rays: weighted sum at the surface, background for the rest.
    for (let r = 0; r < R; r++) {
      const t = 1 - batch.acc[r]!, o = r * H;
      for (let h = 0; h < H; h++) X[o + h] = t * params[layout.bg + h]!;
    }
    for (let s = 0; s < S; s++) {
      const r = batch.sampleRay[s]!;
      const w = batch.weights[s]! * batch.acc[r]!;
      const o = r * H, so = s * H;
      for (let h = 0; h < H; h++) X[o + h] += w * g[so + h]!;
    }
    // Cells: patch mean, aggregation.
    const inv = 1 / P2;
    m.fill(0, 0, B * H);
    for (let c = 0; c < B; c++) {
      const mo = c * H;
      for (let p = 0; p < P2; p++) {
        const xo = (c * P2 + p) * H;
        for (let h = 0; h < H; h++) m[mo + h] += inv * X[xo + h]!;
      }
    }
    if (C > 0) {
      const { cols, Y, T, neighbour } = this;
      // im2col: row (c, p) = [X at p + k for the 9 taps], zero outside the patch.
      for (let c = 0; c < B; c++)
        for (let p = 0; p < P2; p++) {
          const row = (c * P2 + p) * 9 * H;
          for (let k = 0; k < 9; k++) {
            const q = neighbour[p * 9 + k]!;
            const d = row + k * H;
            if (q < 0) cols.fill(0, d, d + H);
            else cols.set(X.subarray((c * P2 + q) * H, (c * P2 + q + 1) * H), d);
          }
        }
      gemmNT(cols, 0, 9 * H, params, layout.conv1, 9 * H, Y, 0, C, R, C, 9 * H);
      for (let i = 0; i < R; i++) {
        const o = i * C;
        for (let ch = 0; ch < C; ch++) {
          const v = Y[o + ch]! + params[layout.c1b + ch]!;
          Y[o + ch] = v > 0 ? v : 0;
        }
      }
      // T[c, k] = (1 / P^2) sum over p with a neighbour p + k of Y[p + k].
      T.fill(0, 0, B * 9 * C);
      for (let c = 0; c < B; c++)
        for (let p = 0; p < P2; p++)
          for (let k = 0; k < 9; k++) {
            const q = neighbour[p * 9 + k]!;
            if (q < 0) continue;
            const to = (c * 9 + k) * C, yo = (c * P2 + q) * C;
            for (let ch = 0; ch < C; ch++) T[to + ch] += inv * Y[yo + ch]!;
          }
      gemmNT(T, 0, 9 * C, params, layout.conv2, 9 * C, m, 0, H, B, H, 9 * C, true);
      for (let c = 0; c < B; c++) for (let h = 0; h < H; h++) m[c * H + h] += params[layout.c2b + h]!;
    }
    gemmNT(m, 0, H, params, layout.wOut, H, out, 0, K, B, K, H);
    for (let c = 0; c < B; c++) for (let k = 0; k < K; k++) out[c * K + k] += params[layout.bOut + k]!;
  }

  /** grad += d(sum dOut . out)/d(params), after forward() on the same batch. */
  backward(params: Float32Array, batch: CellBatch, dOut: Float32Array, grad: Float32Array): void {
    const { E, H, C, K, P2, layout } = this;
    const { cells: B, samples: S } = batch;
    const R = B * P2;
    const { enc, g, dg, denc, X, dX, m, dm } = this;
    const inv = 1 / P2;
    // Output projection.
    gemmTNAcc(dOut, K, m, H, grad, layout.wOut, H, K, H, B);
    for (let c = 0; c < B; c++) for (let k = 0; k < K; k++) grad[layout.bOut + k] += dOut[c * K + k]!;
    transpose(params, layout.wOut, K, H, this.tOut);
    gemmNT(dOut, 0, K, this.tOut, 0, K, dm, 0, H, B, H, K);
    // Patch mean.
    for (let c = 0; c < B; c++)
      for (let p = 0; p < P2; p++) {
        const xo = (c * P2 + p) * H, mo = c * H;
        for (let h = 0; h < H; h++) dX[xo + h] = inv * dm[mo + h]!;
      }
    if (C > 0) {
      const { cols, Y, T, dT, dCols, neighbour } = this;
      for (let c = 0; c < B; c++) for (let h = 0; h < H; h++) grad[layout.c2b + h] += dm[c * H + h]!;
      gemmTNAcc(dm, H, T, 9 * C, grad, layout.conv2, 9 * C, H, 9 * C, B);
      transpose(params, layout.conv2, H, 9 * C, this.tConv2);
      gemmNT(dm, 0, H, this.tConv2, 0, H, dT, 0, 9 * C, B, 9 * C, H);
      // dY[q] = (1 / P^2) sum over (p, k) with p + k = q of dT[k]; then the ReLU. Reuse Y's buffer shape via dYbuf.
      const dY = this.dYBuffer(R * C);
      dY.fill(0, 0, R * C);
      for (let c = 0; c < B; c++)
        for (let p = 0; p < P2; p++)
          for (let k = 0; k < 9; k++) {
            const q = neighbour[p * 9 + k]!;
            if (q < 0) continue;
            const to = (c * 9 + k) * C, yo = (c * P2 + q) * C;
            for (let ch = 0; ch < C; ch++) dY[yo + ch] += inv * dT[to + ch]!;
          }
      for (let i = 0; i < R * C; i++) if (Y[i]! <= 0) dY[i] = 0;
      for (let i = 0; i < R; i++) for (let ch = 0; ch < C; ch++) grad[layout.c1b + ch] += dY[i * C + ch]!;
      gemmTNAcc(dY, C, cols, 9 * H, grad, layout.conv1, 9 * H, C, 9 * H, R);
      transpose(params, layout.conv1, C, 9 * H, this.tConv1);
      gemmNT(dY, 0, C, this.tConv1, 0, C, dCols, 0, 9 * H, R, 9 * H, C);
      // col2im.
      for (let c = 0; c < B; c++)
        for (let p = 0; p < P2; p++) {
          const row = (c * P2 + p) * 9 * H;
          for (let k = 0; k < 9; k++) {
            const q = neighbour[p * 9 + k]!;
            if (q < 0) continue;
            const d = row + k * H, xo = (c * P2 + q) * H;
            for (let h = 0; h < H; h++) dX[xo + h] += dCols[d + h]!;
          }
        }
    }
    // Rays: background and samples.
    for (let r = 0; r < R; r++) {
      const t = 1 - batch.acc[r]!, o = r * H;
      if (t !== 0) for (let h = 0; h < H; h++) grad[layout.bg + h] += t * dX[o + h]!;
    }
    for (let s = 0; s < S; s++) {
      const r = batch.sampleRay[s]!;
      const w = batch.weights[s]! * batch.acc[r]!;
      const o = r * H, so = s * H;
      for (let h = 0; h < H; h++) dg[so + h] = g[so + h]! > 0 ? w * dX[o + h]! : 0;
    }
    if (S === 0) return;
    for (let s = 0; s < S; s++) for (let h = 0; h < H; h++) grad[layout.b1 + h] += dg[s * H + h]!;
    gemmTNAcc(dg, H, enc, E, grad, layout.w1, E, H, E, S);
    transpose(params, layout.w1, H, E, this.tW1);
    gemmNT(dg, 0, H, this.tW1, 0, H, denc, 0, E, S, E, H);
    hashEncodeBackward(grad, layout.levels, batch.positions, S, denc, E);
  }

  private dY = new Float32Array(0);
  private dYBuffer(n: number): Float32Array {
    if (this.dY.length < n) this.dY = new Float32Array(n);
    return this.dY;
  }
}
