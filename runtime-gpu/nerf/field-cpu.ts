// The reference FieldEvaluator: hash encoding and both MLPs in TypeScript,
// processed in chunks of CHUNK samples so every activation stays in cache.
//
//   enc  = hash(pos)                                  [E = levels * 2]
//   h    = relu(D1 enc)                               [densityHidden]
//   d    = D2 h            sigma = exp(d0)            [1 + geoFeatures]
//   cin  = [d, SH(dir)]                               [colorInput]
//   c_k  = relu(C_k c_{k-1}) for the hidden layers    [colorHidden]
//   rgb  = sigmoid(C_out c_last)                      [3]

import type { FieldConfig, MatrixSlot, ParamLayout } from './config';
import { shCoefficients } from './config';
import { densityActivation, type FieldEvaluator } from './field-kernels';
import { hashEncodeBackward, hashEncodeForward } from './hash-encoding';
import { gemmNT, gemmTNAcc, reluBackwardInPlace, reluInPlace, transpose } from './mlp';

const CHUNK = 1024;

export class CpuFieldEvaluator implements FieldEvaluator {
  readonly name = 'cpu-reference';
  private readonly E: number;
  private readonly Hd: number;
  private readonly G: number;
  private readonly Hc: number;
  private readonly Cin: number;
  private readonly nSh: number;
  // Forward activations of one chunk.
  private readonly enc: Float32Array;
  private readonly h: Float32Array;
  private readonly d: Float32Array;
  private readonly cin: Float32Array;
  private readonly c: Float32Array[];
  private readonly rgbRaw: Float32Array;
  // Backward buffers of one chunk.
  private readonly dOut: Float32Array;
  private readonly dc: Float32Array[];
  private readonly dcin: Float32Array;
  private readonly dd: Float32Array;
  private readonly dh: Float32Array;
  private readonly denc: Float32Array;
  // Transposed weights for the input gradients.
  private readonly wt: Map<MatrixSlot, Float32Array> = new Map();

  constructor(
    readonly config: FieldConfig,
    readonly layout: ParamLayout,
  ) {
    if (config.hash.featuresPerLevel !== 2) throw new Error('the CPU hash encoding supports 2 features per level');
    this.E = layout.encodingWidth;
    this.Hd = config.mlp.densityHidden;
    this.G = 1 + config.mlp.geoFeatures;
    this.Hc = config.mlp.colorHidden;
    this.Cin = layout.colorInput;
    this.nSh = shCoefficients(config.mlp.shDegree);
    const f = (w: number) => new Float32Array(CHUNK * w);
    this.enc = f(this.E);
    this.h = f(this.Hd);
    this.d = f(this.G);
    this.cin = f(this.Cin);
    this.c = layout.color.slice(0, -1).map(() => f(this.Hc));
    this.rgbRaw = f(3);
    this.dOut = f(3);
    this.dc = layout.color.slice(0, -1).map(() => f(this.Hc));
    this.dcin = f(this.Cin);
    this.dd = f(this.G);
    this.dh = f(this.Hd);
    this.denc = f(this.E);
    for (const s of [layout.density2, ...layout.color]) this.wt.set(s, new Float32Array(s.rows * s.cols));
    this.wt.set(layout.density1, new Float32Array(layout.density1.rows * layout.density1.cols));
  }

  /** Hash encoding into this.enc (or copied from a stored one), then the density MLP. */
  private densityForward(params: Float32Array, positions: Float32Array, base: number, n: number, stored?: Float32Array, store?: Float32Array): void {
    const { layout, E, Hd, G } = this;
    if (stored) this.enc.set(stored.subarray(base * E, (base + n) * E));
    else hashEncodeForward(params, layout.levels, positions.subarray(3 * base, 3 * (base + n)), n, this.enc, E);
    if (store) store.set(this.enc.subarray(0, n * E), base * E);
    gemmNT(this.enc, 0, E, params, layout.density1.offset, E, this.h, 0, Hd, n, Hd, E);
    reluInPlace(this.h, n * Hd);
    gemmNT(this.h, 0, Hd, params, layout.density2.offset, Hd, this.d, 0, G, n, G, Hd);
  }

  private colorForward(params: Float32Array, sh: Float32Array, base: number, n: number): void {
    const { layout, G, Hc, Cin, nSh } = this;
    const { cin, d } = this;
    for (let s = 0; s < n; s++) {
      const o = s * Cin;
      for (let j = 0; j < G; j++) cin[o + j] = d[s * G + j]!;
      const so = (base + s) * nSh;
      for (let j = 0; j < nSh; j++) cin[o + G + j] = sh[so + j]!;
    }
    let input = cin, width = Cin;
    const hidden = layout.color.length - 1;
    for (let k = 0; k < hidden; k++) {
      const slot = layout.color[k]!;
      gemmNT(input, 0, width, params, slot.offset, width, this.c[k]!, 0, Hc, n, Hc, width);
      reluInPlace(this.c[k]!, n * Hc);
      input = this.c[k]!;
      width = Hc;
    }
    gemmNT(input, 0, width, params, layout.color[hidden]!.offset, width, this.rgbRaw, 0, 3, n, 3, width);
  }

  query(params: Float32Array, positions: Float32Array, sh: Float32Array, count: number, sigma: Float32Array, rgb: Float32Array, enc?: Float32Array): void {
    const G = this.G;
    for (let base = 0; base < count; base += CHUNK) {
      const n = Math.min(CHUNK, count - base);
      this.densityForward(params, positions, base, n, undefined, enc);
      this.colorForward(params, sh, base, n);
      for (let s = 0; s < n; s++) {
        sigma[base + s] = densityActivation(this.d[s * G]!);
        for (let ch = 0; ch < 3; ch++) rgb[3 * (base + s) + ch] = 1 / (1 + Math.exp(-this.rgbRaw[3 * s + ch]!));
      }
    }
  }

  density(params: Float32Array, positions: Float32Array, count: number, sigma: Float32Array): void {
    const G = this.G;
    for (let base = 0; base < count; base += CHUNK) {
      const n = Math.min(CHUNK, count - base);
      this.densityForward(params, positions, base, n);
      for (let s = 0; s < n; s++) sigma[base + s] = densityActivation(this.d[s * G]!);
    }
  }

  backward(
    params: Float32Array, positions: Float32Array, sh: Float32Array, count: number,
    dSigma: Float32Array, dRgb: Float32Array, grad: Float32Array, enc?: Float32Array,
  ): void {
    const { layout, E, Hd, G, Hc, Cin } = this;
    for (const [slot, t] of this.wt) transpose(params, slot.offset, slot.rows, slot.cols, t);
    const hidden = layout.color.length - 1;
    for (let base = 0; base < count; base += CHUNK) {
      const n = Math.min(CHUNK, count - base);
      this.densityForward(params, positions, base, n, enc);
      this.colorForward(params, sh, base, n);
      // Sigmoid backward.
      for (let i = 0; i < 3 * n; i++) {
        const y = 1 / (1 + Math.exp(-this.rgbRaw[i]!));
        this.dOut[i] = dRgb[3 * base + i]! * y * (1 - y);
      }
      // Colour MLP backward, output layer first.
      let dY = this.dOut, widthY = 3;
      for (let k = hidden; k >= 0; k--) {
        const slot = layout.color[k]!;
        const X = k === 0 ? this.cin : this.c[k - 1]!;
        const widthX = k === 0 ? Cin : Hc;
        gemmTNAcc(dY, widthY, X, widthX, grad, slot.offset, widthX, slot.rows, widthX, n);
        const dX = k === 0 ? this.dcin : this.dc[k - 1]!;
        // Only the first G inputs of the first colour layer need a gradient (the SH part is constant).
        const needed = k === 0 ? G : widthX;
        gemmNT(dY, 0, widthY, this.wt.get(slot)!, 0, slot.rows, dX, 0, widthX, n, needed, widthY);
        if (k > 0) reluBackwardInPlace(dX, X, n * widthX);
        dY = dX;
        widthY = widthX;
      }
      // Into the density MLP's outputs: the colour path plus the density head.
      for (let s = 0; s < n; s++) {
        for (let j = 0; j < G; j++) this.dd[s * G + j] = this.dcin[s * Cin + j]!;
        // Truncated exponential (tiny-cuda-nn): the gradient is exp of the clamped input everywhere.
        this.dd[s * G] += dSigma[base + s]! * densityActivation(this.d[s * G]!);
      }
      gemmTNAcc(this.dd, G, this.h, Hd, grad, layout.density2.offset, Hd, G, Hd, n);
      gemmNT(this.dd, 0, G, this.wt.get(layout.density2)!, 0, G, this.dh, 0, Hd, n, Hd, G);
      reluBackwardInPlace(this.dh, this.h, n * Hd);
      gemmTNAcc(this.dh, Hd, this.enc, E, grad, layout.density1.offset, E, Hd, E, n);
      gemmNT(this.dh, 0, Hd, this.wt.get(layout.density1)!, 0, Hd, this.denc, 0, E, n, E, Hd);
      hashEncodeBackward(grad, layout.levels, positions.subarray(3 * base, 3 * (base + n)), n, this.denc, E);
    }
  }
}

export function createCpuFieldEvaluator(config: FieldConfig, layout: ParamLayout): CpuFieldEvaluator {
  return new CpuFieldEvaluator(config, layout);
}
