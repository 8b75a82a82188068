// The feature head's backward pass (hash grid, hidden layer, ray sums,
// patch aggregation, projection) against central finite differences.

import { describe, expect, it } from 'vitest';
import { FeatureHead } from '../../runtime-gpu/distill/head';
import { featureFieldConfig, featureLayout } from '../../runtime-gpu/distill/layout';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { randomHeadInputs } from '../helpers/random-head-batch';

function setup(patch: number, aggChannels: number) {
  const config = featureFieldConfig({ levels: 3, log2TableSize: 10, baseResolution: 4, maxResolution: 16, hidden: 6, patch, aggChannels });
  config.channels = 5;
  const layout = featureLayout(config);
  const rng = new Rng(7);
  // Hidden biases U(0, 0.5): most units active.
  const { params, batch, dOut } = randomHeadInputs(config, layout, rng, 3, { hiddenBias: [0, 0.5], positions: [0.05, 0.95] });
  return { config, layout, params, batch, dOut, head: new FeatureHead(config, layout) };
}

function check(patch: number, aggChannels: number) {
  const { config, layout, params, batch, dOut, head } = setup(patch, aggChannels);
  const out = new Float32Array(batch.cells * config.channels);
  const loss = () => {
    head.forward(params, batch, out);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i]! * dOut[i]!;
    return s;
  };
  loss();
  const grad = new Float32Array(layout.count);
  head.backward(params, batch, dOut, grad);
  // Every dense parameter group, and the hash entries that received a gradient.
  const groups: Array<[string, number, number]> = [
    ['w1', layout.w1, layout.b1], ['b1', layout.b1, layout.bg], ['bg', layout.bg, layout.conv1],
    ['conv1', layout.conv1, layout.c1b], ['c1b', layout.c1b, layout.conv2], ['conv2', layout.conv2, layout.c2b], ['c2b', layout.c2b, layout.wOut],
    ['wOut', layout.wOut, layout.bOut], ['bOut', layout.bOut, layout.count],
  ];
  const hashTouched: number[] = [];
  for (let i = 0; i < layout.hashCount; i++) if (grad[i] !== 0) hashTouched.push(i);
  expect(hashTouched.length).toBeGreaterThan(10);
  groups.push(['hash', -1, -1]);
  // Two step sizes: a ReLU kink inside one interval spoils only that estimate.
  const fdAt = (i: number, eps: number) => {
    const p0 = params[i]!;
    params[i] = p0 + eps;
    const up = loss();
    params[i] = p0 - eps;
    const down = loss();
    params[i] = p0;
    return (up - down) / (2 * eps);
  };
  let checked = 0;
  for (const [name, a, b] of groups) {
    const idx = name === 'hash' ? hashTouched.filter((_, i) => i % Math.ceil(hashTouched.length / 40) === 0) : Array.from({ length: Math.min(12, b - a) }, (_, i) => a + Math.floor((i * (b - a)) / Math.min(12, b - a)));
    for (const i of idx) {
      let fd = fdAt(i, 2e-3);
      if (Math.abs(fd - grad[i]!) >= 2e-3 * Math.max(1, Math.abs(fd))) fd = fdAt(i, 5e-4);
      expect(Math.abs(fd - grad[i]!), `${name}[${i - a}] fd ${fd} analytic ${grad[i]}`).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
      checked++;
    }
  }
  return checked;
}

describe('FeatureHead gradients vs finite differences', () => {
  it('with neighbour aggregation (patch 3)', () => {
    expect(check(3, 4)).toBeGreaterThan(60);
  });
  it('with aggregation on a 4 x 4 patch', () => {
    expect(check(4, 2)).toBeGreaterThan(60);
  });
  it('without aggregation, one ray per cell', () => {
    expect(check(1, 0)).toBeGreaterThan(30);
  });
});
