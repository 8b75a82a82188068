// Random inputs for checking a FeatureHead's forward and backward
// (test/distill/head.test.ts against finite differences,
// test/gpu/feature-head-parity.ts against the WebGPU kernels). Browser-safe
// (no Node imports).

import type { FeatureFieldConfig } from '../../engine/values';
import type { CellBatch } from '../../runtime-gpu/distill/head';
import type { FeatureLayout } from '../../runtime-gpu/distill/layout';
import type { Rng } from '../../runtime-gpu/nerf/rng';

export interface RandomHeadOptions {
  /** The hidden layer's biases are drawn from this range (the other parameters from U(-0.5, 0.5)). */
  hiddenBias: [number, number];
  /** Sample positions are drawn from this range in each coordinate. */
  positions: [number, number];
  /** Every 7th ray (r % 7 == 3, unless background) fully opaque (acc exactly 1). */
  opaqueRays?: boolean;
}

/**
 * Parameters, a batch of `cells` cells (patch x patch rays each: every 5th
 * ray background only, with acc 0 and no samples; the others acc U(0.2, 1)
 * and 1-3 samples with normalised weights) and an output gradient U(-1, 1),
 * drawn from `rng` in that order.
 */
export function randomHeadInputs(config: FeatureFieldConfig, layout: FeatureLayout, rng: Rng, cells: number, options: RandomHeadOptions): { params: Float32Array; batch: CellBatch; dOut: Float32Array } {
  const params = new Float32Array(layout.count);
  for (let i = 0; i < layout.count; i++) params[i] = rng.uniform(-0.5, 0.5);
  for (let i = layout.b1; i < layout.b1 + config.hidden; i++) params[i] = rng.uniform(options.hiddenBias[0], options.hiddenBias[1]);
  const P2 = config.patch * config.patch, rays = cells * P2;
  const [lo, hi] = options.positions;
  const sampleRay: number[] = [], weights: number[] = [], positions: number[] = [];
  const acc = new Float32Array(rays);
  for (let r = 0; r < rays; r++) {
    acc[r] = r % 5 === 4 ? 0 : options.opaqueRays && r % 7 === 3 ? 1 : rng.uniform(0.2, 1);
    const n = acc[r] === 0 ? 0 : 1 + rng.int(3);
    const w: number[] = [];
    let sum = 0;
    for (let i = 0; i < n; i++) w.push(rng.uniform(0.1, 1)), (sum += w[i]!);
    for (let i = 0; i < n; i++) {
      sampleRay.push(r);
      weights.push(w[i]! / sum);
      positions.push(rng.uniform(lo, hi), rng.uniform(lo, hi), rng.uniform(lo, hi));
    }
  }
  const batch: CellBatch = { cells, samples: weights.length, positions: Float32Array.from(positions), weights: Float32Array.from(weights), sampleRay: Uint32Array.from(sampleRay), acc };
  const dOut = new Float32Array(cells * config.channels);
  for (let i = 0; i < dOut.length; i++) dOut[i] = rng.uniform(-1, 1);
  return { params, batch, dOut };
}
