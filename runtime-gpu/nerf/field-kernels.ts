// The field's per-sample evaluation, behind one interface so the MLP and the
// hash encoding can run on different engines: the TypeScript reference
// (field-cpu.ts), the same with the MLPs in onnxruntime (field-ort.ts), and
// later WGSL kernels. Every implementation reads the parameters in the
// layout of config.ts and must agree with the reference within float32
// tolerance (tests compare them).
//
// Inputs per sample: the position in the normalised cube [0,1]^3 (3 floats)
// and the SH encoding of its ray direction (16 floats). Outputs: density
// sigma (world units, 1/length) and RGB in [0, 1].

import type { FieldConfig, ParamLayout } from './config';

export interface FieldEvaluator {
  readonly name: string;
  /**
   * sigma[s], rgb[3 s..3 s + 2] at `count` samples. With `enc`, the hash
   * encoding of each sample is also written there (count * encodingWidth
   * floats), for a later backward pass to reuse.
   */
  query(
    params: Float32Array, positions: Float32Array, sh: Float32Array, count: number,
    sigma: Float32Array, rgb: Float32Array, enc?: Float32Array,
  ): void | Promise<void>;
  /** Density only (occupancy grid updates). */
  density(params: Float32Array, positions: Float32Array, count: number, sigma: Float32Array): void | Promise<void>;
  /**
   * grad += d(sum_s dSigma[s] sigma[s] + dRgb[s] . rgb[s]) / d(params), recomputing the
   * forward pass at the samples (nothing else is kept between query and
   * backward). `enc`: the samples' hash encodings from query (saves
   * recomputing them); the parameters must not have changed since.
   */
  backward(
    params: Float32Array, positions: Float32Array, sh: Float32Array, count: number,
    dSigma: Float32Array, dRgb: Float32Array, grad: Float32Array, enc?: Float32Array,
  ): void | Promise<void>;
  dispose?(): void | Promise<void>;
}

export interface FieldEvaluatorFactory {
  (config: FieldConfig, layout: ParamLayout): FieldEvaluator | Promise<FieldEvaluator>;
}

/** Largest log-density fed to exp (instant-ngp's truncated exponential keeps sigma finite). */
export const MAX_LOG_DENSITY = 15;

export function densityActivation(x: number): number {
  return Math.exp(x > MAX_LOG_DENSITY ? MAX_LOG_DENSITY : x < -MAX_LOG_DENSITY ? -MAX_LOG_DENSITY : x);
}
