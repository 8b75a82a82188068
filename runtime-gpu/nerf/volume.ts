// Volume rendering (emission-absorption quadrature, Max 1995 / NeRF) with
// early termination, forward and backward, per ray.
//
//   alpha_i = 1 - exp(-sigma_i delta_i)      T_0 = 1, T_{i+1} = T_i (1 - alpha_i)
//   w_i = T_i alpha_i                         C = sum_i w_i c_i + T_end bg
//   depth = sum_i w_i t_i                     acc = sum_i w_i = 1 - T_end
//
// The march stops after the first sample that brings T below minT; later
// samples are not part of the sum (and get no gradient). Backward, with
// P_i = sum_{j<=i} w_j c_j (the running colour, stored by the forward):
//
//   dC/dc_i     = w_i
//   dC/dsigma_i = delta_i (T_{i+1} c_i - (C - P_i))
//
// Ray state (6 floats): [T, r, g, b, depth, acc].

export const RAY_STATE = 6;

/**
 * Composites samples [s0, s1) of one ray onto its state at `so`. Stores T_i
 * (transmittance before each sample) in tBefore and the running colour P_i in
 * prefix. Returns the end of the samples used: s1, or the sample after the
 * one that terminated the ray.
 */
export function compositeForward(
  sigma: Float32Array, rgb: Float32Array, delta: Float32Array, tMid: Float32Array,
  s0: number, s1: number,
  state: Float64Array, so: number, minT: number,
  tBefore: Float32Array, prefix: Float32Array,
): number {
  let T = state[so]!, r = state[so + 1]!, g = state[so + 2]!, b = state[so + 3]!, depth = state[so + 4]!, acc = state[so + 5]!;
  let s = s0;
  while (s < s1) {
    const alpha = 1 - Math.exp(-sigma[s]! * delta[s]!);
    const w = T * alpha;
    tBefore[s] = T;
    r += w * rgb[3 * s]!;
    g += w * rgb[3 * s + 1]!;
    b += w * rgb[3 * s + 2]!;
    prefix[3 * s] = r;
    prefix[3 * s + 1] = g;
    prefix[3 * s + 2] = b;
    depth += w * tMid[s]!;
    acc += w;
    T *= 1 - alpha;
    s++;
    if (T < minT) break;
  }
  state[so] = T;
  state[so + 1] = r;
  state[so + 2] = g;
  state[so + 3] = b;
  state[so + 4] = depth;
  state[so + 5] = acc;
  return s;
}

/**
 * Gradients of a loss at one sample, given dL/dC of its ray and the ray's
 * final colour C (including the background term). Writes dSigma[d] and
 * dRgb[3 d..3 d + 2].
 */
export function compositeBackwardSample(
  sigma: number, delta: number, tBefore: number,
  cr: number, cg: number, cb: number,
  pr: number, pg: number, pb: number,
  finalR: number, finalG: number, finalB: number,
  gr: number, gg: number, gb: number,
  dSigma: Float32Array, dRgb: Float32Array, d: number,
): void {
  const e = Math.exp(-sigma * delta);
  const w = tBefore * (1 - e);
  const tAfter = tBefore * e;
  dSigma[d] = delta * ((tAfter * cr - (finalR - pr)) * gr + (tAfter * cg - (finalG - pg)) * gg + (tAfter * cb - (finalB - pb)) * gb);
  dRgb[3 * d] = w * gr;
  dRgb[3 * d + 1] = w * gg;
  dRgb[3 * d + 2] = w * gb;
}
