// The feature head on WebGPU (runtime-gpu/webgpu/distill) against the CPU
// FeatureHead: forward output and every gradient block, on small random
// batches with and without aggregation, P = 1, 2, 4.

import { describe, expect, it } from 'vitest';
import { FeatureHead, type CellBatch } from '../../runtime-gpu/distill/head';
import { featureFieldConfig, featureLayout } from '../../runtime-gpu/distill/layout';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { GpuFeatureTrainer } from '../../runtime-gpu/webgpu/distill/trainer';
import { maxAbs, maxAbsDiff, testGpu } from './gpu-context';

const gpu = await testGpu();

function setup(patch: number, aggChannels: number, cells: number, seed: number) {
  const config = featureFieldConfig({ levels: 4, log2TableSize: 10, baseResolution: 4, maxResolution: 32, hidden: 8, patch, aggChannels });
  config.channels = 12;
  const layout = featureLayout(config);
  const rng = new Rng(seed);
  const params = new Float32Array(layout.count);
  for (let i = 0; i < layout.count; i++) params[i] = rng.uniform(-0.5, 0.5);
  for (let i = layout.b1; i < layout.b1 + config.hidden; i++) params[i] = rng.uniform(-0.1, 0.5); // most units active, some off
  const P2 = patch * patch, rays = cells * P2;
  const sampleRay: number[] = [], weights: number[] = [], positions: number[] = [];
  const acc = new Float32Array(rays);
  for (let r = 0; r < rays; r++) {
    acc[r] = r % 5 === 4 ? 0 : r % 7 === 3 ? 1 : rng.uniform(0.2, 1); // background-only, opaque and partial rays
    const n = acc[r] === 0 ? 0 : 1 + rng.int(3);
    let sum = 0;
    const w: number[] = [];
    for (let i = 0; i < n; i++) w.push(rng.uniform(0.1, 1)), (sum += w[i]!);
    for (let i = 0; i < n; i++) {
      sampleRay.push(r);
      weights.push(w[i]! / sum);
      positions.push(rng.uniform(0.02, 0.98), rng.uniform(0.02, 0.98), rng.uniform(0.02, 0.98));
    }
  }
  const batch: CellBatch = { cells, samples: weights.length, positions: Float32Array.from(positions), weights: Float32Array.from(weights), sampleRay: Uint32Array.from(sampleRay), acc };
  const dOut = new Float32Array(cells * config.channels);
  for (let i = 0; i < dOut.length; i++) dOut[i] = rng.uniform(-1, 1);
  return { config, layout, params, batch, dOut };
}

async function parity(patch: number, aggChannels: number, cells: number) {
  const ctx = gpu.ctx!;
  const { config, layout, params, batch, dOut } = setup(patch, aggChannels, cells, 11 + patch * 10 + aggChannels);
  const cpu = new FeatureHead(config, layout);
  const expected = new Float32Array(cells * config.channels);
  cpu.forward(params, batch, expected);
  const grad = new Float32Array(layout.count);
  cpu.backward(params, batch, dOut, grad);
  const trainer = await GpuFeatureTrainer.create(ctx, config, layout, { params });
  try {
    const { out } = await trainer.evaluate(params, batch);
    const f = maxAbsDiff(out, expected);
    expect(maxAbs(expected)).toBeGreaterThan(0.1);
    // Forward: within 1e-5 of the output's scale (float32 sums in another order; the CPU rounds w acc in float64).
    expect(f.diff / maxAbs(expected), `out[${f.at}] ${out[f.at]} vs ${expected[f.at]}`).toBeLessThan(1e-5);
    const { grad: got } = await trainer.evaluate(params, batch, dOut);
    const L = layout;
    const blocks: Array<[string, number, number]> = [
      ['hash', 0, L.hashCount], ['w1', L.w1, L.b1], ['b1', L.b1, L.bg], ['bg', L.bg, L.conv1],
      ['conv1', L.conv1, L.c1b], ['c1b', L.c1b, L.conv2], ['conv2', L.conv2, L.c2b], ['c2b', L.c2b, L.wOut],
      ['wOut', L.wOut, L.bOut], ['bOut', L.bOut, L.count],
    ];
    let checked = 0, worst = 0;
    for (const [name, a, b] of blocks) {
      if (b === a) continue;
      const e = grad.subarray(a, b), g = got!.subarray(a, b);
      const scale = maxAbs(e);
      expect(scale, `${name}: the CPU gradient is zero (the test would not check it)`).toBeGreaterThan(0);
      const { diff, at } = maxAbsDiff(g, e);
      // Every block within 1e-5 of its largest entry (float32 sums in another order).
      expect(diff / scale, `${name}[${at}] gpu ${g[at]} cpu ${e[at]}`).toBeLessThan(1e-5);
      worst = Math.max(worst, diff / scale);
      checked++;
    }
    console.log(`P=${patch} C=${aggChannels}: forward ${(f.diff / maxAbs(expected)).toExponential(1)}, worst gradient block ${worst.toExponential(1)} (relative to the block's largest entry)`);
    // The hash gradient touches exactly the CPU's entries (Adam's zero-gradient skip sees the same set).
    let mismatch = 0, touched = 0;
    for (let i = 0; i < L.hashCount; i++) {
      if ((got![i] === 0) !== (grad[i] === 0)) mismatch++;
      if (grad[i] !== 0) touched++;
    }
    expect(touched).toBeGreaterThan(50);
    expect(mismatch).toBe(0);
    expect(checked).toBe(aggChannels > 0 ? 10 : 6);
  } finally {
    trainer.destroy();
  }
}

describe.skipIf(!!gpu.skip)('feature head on WebGPU vs the CPU FeatureHead', () => {
  it('one ray per cell, no aggregation (P = 1)', () => parity(1, 0, 40), 120_000);
  it('2 x 2 patch, plain patch mean (P = 2, no aggregation)', () => parity(2, 0, 12), 120_000);
  it('2 x 2 patch with aggregation, several 256-row chunks in the weight gradients (P = 2, C = 4, 80 cells)', () => parity(2, 4, 80), 120_000);
  it('4 x 4 patch with aggregation (P = 4, C = 3)', () => parity(4, 3, 5), 120_000);
});
