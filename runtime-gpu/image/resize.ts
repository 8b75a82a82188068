// Image resizing that reproduces the two reference implementations SAM-style
// pipelines depend on, bit for bit where it matters:
//
// - resizeRgb8: Pillow's `Image.resize(size, BILINEAR)` on 8-bit RGB
//   (libImaging/Resample.c). segment-anything resizes through PIL, so matching
//   its antialiasing and fixed-point rounding keeps our embeddings close to the
//   original's.
// - resizeFloat: torch `F.interpolate(mode='bilinear', align_corners=False)`
//   (no antialias), used for upsampling masks, logits and feature maps.
//
// Platform-neutral: plain typed arrays only.

/** Pillow keeps 8-bit coefficients in fixed point with this many fraction bits (32 - 8 - 2). */
const PRECISION_BITS = 22;

interface FilterTaps {
  /** Per output sample: the first input index it reads. */
  first: Int32Array;
  /** Per output sample: how many inputs it reads. */
  count: Int32Array;
  /** Row-major [outSize, maxTaps] fixed-point weights (unused slots are 0). */
  weights: Int32Array;
  maxTaps: number;
}

/** Pillow's bilinear ("triangle") filter, support 1. */
function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? 1 - a : 0;
}

/**
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc for a full-image box.
 * When antialiasing, the filter stretches by the downscale factor so every
 * input pixel contributes; without it the taps are plain bilinear.
 */
function pillowTaps(inSize: number, outSize: number, antialias: boolean): FilterTaps {
  const scale = inSize / outSize;
  const filterScale = antialias ? Math.max(scale, 1) : 1;
  const support = 1 * filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * maxTaps);
  const w = new Float64Array(maxTaps);
  const inv = 1 / filterScale;
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // C's (int) cast truncates toward zero; Math.trunc keeps that quirk.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let k = 0; k < xmax; k++) {
      w[k] = triangle((k + xmin - center + 0.5) * inv);
      sum += w[k];
    }
    for (let k = 0; k < xmax; k++) {
      const v = sum !== 0 ? w[k] / sum : w[k];
      const fixed = v * (1 << PRECISION_BITS);
      weights[o * maxTaps + k] = v < 0 ? Math.trunc(fixed - 0.5) : Math.trunc(fixed + 0.5);
    }
    first[o] = xmin;
    count[o] = xmax;
  }
  return { first, count, weights, maxTaps };
}

/** Pillow's clip8: round-half-up already added, shift out the fraction, clamp. */
function clip8(acc: number): number {
  if (acc >= 1 << PRECISION_BITS << 8) return 255;
  if (acc <= 0) return 0;
  return acc >> PRECISION_BITS;
}

function checkSizes(srcLen: number, expected: number, srcW: number, srcH: number, dstW: number, dstH: number): void {
  for (const [name, v] of [['srcW', srcW], ['srcH', srcH], ['dstW', dstW], ['dstH', dstH]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`resize: ${name} must be a positive integer, got ${v}`);
  }
  if (srcLen !== expected) {
    throw new RangeError(`resize: source has ${srcLen} values, expected ${expected} for ${srcW}x${srcH}`);
  }
}

export interface ResizeRgb8Options {
  /** Widen the filter by the downscale factor, as PIL does (default true). */
  antialias?: boolean;
}

/**
 * Resize interleaved 8-bit RGB like PIL's `Image.resize((dstW, dstH), BILINEAR)`:
 * a horizontal pass rounded to 8 bits, then a vertical pass, each skipped when
 * that axis keeps its size (as Pillow does, which affects rounding).
 */
export function resizeRgb8(
  src: Uint8Array,
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  opts: ResizeRgb8Options = {},
): Uint8Array {
  checkSizes(src.length, srcW * srcH * 3, srcW, srcH, dstW, dstH);
  const antialias = opts.antialias ?? true;
  const half = 1 << (PRECISION_BITS - 1);

  let img = src;
  let w = srcW;
  if (dstW !== srcW) {
    const taps = pillowTaps(srcW, dstW, antialias);
    const out = new Uint8Array(dstW * srcH * 3);
    for (let y = 0; y < srcH; y++) {
      const row = y * srcW * 3;
      for (let x = 0; x < dstW; x++) {
        const x0 = taps.first[x];
        const n = taps.count[x];
        const kOff = x * taps.maxTaps;
        let r = half;
        let g = half;
        let b = half;
        for (let k = 0; k < n; k++) {
          const wk = taps.weights[kOff + k];
          const p = row + (x0 + k) * 3;
          r += img[p] * wk;
          g += img[p + 1] * wk;
          b += img[p + 2] * wk;
        }
        const q = (y * dstW + x) * 3;
        out[q] = clip8(r);
        out[q + 1] = clip8(g);
        out[q + 2] = clip8(b);
      }
    }
    img = out;
    w = dstW;
  }
  if (dstH !== srcH) {
    const taps = pillowTaps(srcH, dstH, antialias);
    const out = new Uint8Array(w * dstH * 3);
    const stride = w * 3;
    for (let y = 0; y < dstH; y++) {
      const y0 = taps.first[y];
      const n = taps.count[y];
      const kOff = y * taps.maxTaps;
      for (let i = 0; i < stride; i++) {
        let acc = half;
        for (let k = 0; k < n; k++) acc += img[(y0 + k) * stride + i] * taps.weights[kOff + k];
        out[y * stride + i] = clip8(acc);
      }
    }
    img = out;
  }
  // Same size on both axes: Pillow returns a copy, never the caller's buffer.
  return img === src ? src.slice() : img;
}

/** Per output index: the two source indices and the weight of the second (torch's linear rule). */
function torchLinearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; t: Float64Array } {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const t = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    // align_corners=False: half-pixel centres, clamped at 0 (torch's area_pixel_compute_source_index).
    const s = Math.max(0, (o + 0.5) * scale - 0.5);
    const a = Math.min(Math.floor(s), inSize - 1);
    i0[o] = a;
    i1[o] = a < inSize - 1 ? a + 1 : a;
    t[o] = s - a;
  }
  return { i0, i1, t };
}

/**
 * Bilinear resize of planar float data ([channels, srcH, srcW] -> [channels, dstH, dstW],
 * channel-major like a torch tensor) with `F.interpolate(mode='bilinear',
 * align_corners=False)` semantics: no antialias, edges clamped.
 */
export function resizeFloat(
  src: Float32Array,
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  channels = 1,
): Float32Array {
  if (!Number.isInteger(channels) || channels <= 0) {
    throw new RangeError(`resizeFloat: channels must be a positive integer, got ${channels}`);
  }
  checkSizes(src.length, srcW * srcH * channels, srcW, srcH, dstW, dstH);
  const xs = torchLinearTaps(srcW, dstW);
  const ys = torchLinearTaps(srcH, dstH);
  const out = new Float32Array(dstW * dstH * channels);
  for (let c = 0; c < channels; c++) {
    const plane = c * srcW * srcH;
    const outPlane = c * dstW * dstH;
    for (let y = 0; y < dstH; y++) {
      const r0 = plane + ys.i0[y] * srcW;
      const r1 = plane + ys.i1[y] * srcW;
      const ty = ys.t[y];
      for (let x = 0; x < dstW; x++) {
        const a = xs.i0[x];
        const b = xs.i1[x];
        const tx = xs.t[x];
        const top = src[r0 + a] * (1 - tx) + src[r0 + b] * tx;
        const bottom = src[r1 + a] * (1 - tx) + src[r1 + b] * tx;
        out[outPlane + y * dstW + x] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return out;
}
