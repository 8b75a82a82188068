// The feature head's forward and gradients on WebGPU vs the CPU FeatureHead
// on a random batch. Browser-safe (no Node imports): used by the vitest tests,
// browser-checks.ts (headless Chromium) and device-checks.ts.

import type { FeatureFieldConfig } from '../../engine/values';
import { FeatureHead } from '../../runtime-gpu/distill/head';
import { featureLayout } from '../../runtime-gpu/distill/layout';
import { Rng } from '../../runtime-gpu/nerf/rng';
import type { GpuContext } from '../../runtime-gpu/webgpu/device';
import { GpuFeatureTrainer } from '../../runtime-gpu/webgpu/distill/trainer';
import { randomHeadInputs } from '../helpers/random-head-batch';

const absMax = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};
const diffMax = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/**
 * Forward and backward of the head on a random batch (`cells` cells, 1-3
 * samples per ray, background-only rays) on the GPU and the CPU: the largest
 * difference of the output and of each gradient block, relative to its largest entry.
 */
export async function headParity(ctx: GpuContext, config: FeatureFieldConfig, cells: number, seed = 1): Promise<{ forward: number; blocks: Record<string, number>; hashMismatch: number }> {
  const layout = featureLayout(config);
  const rng = new Rng(seed);
  const { params, batch, dOut } = randomHeadInputs(config, layout, rng, cells, { hiddenBias: [-0.1, 0.5], positions: [0.02, 0.98], opaqueRays: true });
  const head = new FeatureHead(config, layout);
  const expected = new Float32Array(cells * config.channels);
  head.forward(params, batch, expected);
  const grad = new Float32Array(layout.count);
  head.backward(params, batch, dOut, grad);
  const t = await GpuFeatureTrainer.create(ctx, config, layout, { params });
  try {
    const { out } = await t.evaluate(params, batch);
    const { grad: got } = await t.evaluate(params, batch, dOut);
    const L = layout;
    const spans: Array<[string, number, number]> = [
      ['hash', 0, L.hashCount], ['w1', L.w1, L.b1], ['b1', L.b1, L.bg], ['bg', L.bg, L.conv1], ['conv1', L.conv1, L.c1b], ['c1b', L.c1b, L.conv2],
      ['conv2', L.conv2, L.c2b], ['c2b', L.c2b, L.wOut], ['wOut', L.wOut, L.bOut], ['bOut', L.bOut, L.count],
    ];
    const blocks: Record<string, number> = {};
    for (const [name, a, b] of spans) {
      if (b === a) continue;
      const e = grad.subarray(a, b), g = got!.subarray(a, b);
      const scale = absMax(e);
      blocks[name] = scale > 0 ? diffMax(g, e) / scale : Infinity; // a zero CPU block would make the check vacuous
    }
    let hashMismatch = 0;
    for (let i = 0; i < L.hashCount; i++) if ((got![i] === 0) !== (grad[i] === 0)) hashMismatch++;
    return { forward: diffMax(out, expected) / absMax(expected), blocks, hashMismatch };
  } finally {
    t.destroy();
  }
}

