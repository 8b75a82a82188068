// Backward passes against central finite differences: the hash encoding,
// the field MLPs (through the CPU reference evaluator) and the volume
// renderer.
import { describe, expect, it } from 'vitest';
import { paramLayout, type FieldConfig } from '../../runtime-gpu/nerf/config';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { hashEncodeBackward, hashEncodeForward } from '../../runtime-gpu/nerf/hash-encoding';
import { initParams } from '../../runtime-gpu/nerf/nerf';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { shEncode } from '../../runtime-gpu/nerf/sh';
import { compositeBackwardSample, compositeForward, RAY_STATE } from '../../runtime-gpu/nerf/volume';

export function smallConfig(overrides: Partial<FieldConfig['hash']> = {}): FieldConfig {
  return {
    version: 1,
    hash: { levels: 4, featuresPerLevel: 2, log2TableSize: 8, baseResolution: 3, maxResolution: 24, ...overrides },
    mlp: { densityHidden: 16, geoFeatures: 7, colorHidden: 12, colorLayers: 2, shDegree: 4 },
    scene: { mode: 'box', center: [0, 0, 0], halfSize: 1 },
    render: { near: 0.1, far: 10, marchSteps: 64, coneAngle: 0, minTransmittance: 1e-4, background: [1, 1, 1] },
    occupancy: { resolution: 8, decay: 0.95, minOpticalThickness: 0.01 },
  };
}

/** Relative agreement of two gradient vectors (max |a - b| / max |b|). */
function relError(a: number[], b: number[]): number {
  let num = 0, den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

describe('hash encoding', () => {
  it('backward is the transpose of forward (dense and hashed levels), checked by finite differences', () => {
    const config = smallConfig();
    const layout = paramLayout(config);
    expect(layout.levels.some((l) => l.dense)).toBe(true);
    expect(layout.levels.some((l) => !l.dense)).toBe(true);
    const rng = new Rng(3);
    const params = new Float32Array(layout.hashCount).map(() => rng.uniform(-1, 1));
    const N = 40, E = layout.encodingWidth;
    const positions = new Float32Array(3 * N).map(() => rng.uniform(0.02, 0.98));
    const weights = new Float32Array(N * E).map(() => rng.uniform(-1, 1));
    const out = new Float32Array(N * E);
    const loss = () => {
      hashEncodeForward(params, layout.levels, positions, N, out, E);
      let l = 0;
      for (let i = 0; i < out.length; i++) l += out[i]! * weights[i]!;
      return l;
    };
    const grad = new Float32Array(layout.hashCount);
    hashEncodeBackward(grad, layout.levels, positions, N, weights, E);
    // Check every touched entry of a dense and a hashed level, plus untouched ones.
    const touched = [...grad.keys()].filter((i) => grad[i] !== 0);
    expect(touched.length).toBeGreaterThan(50);
    const idx = [...touched.filter((_, i) => i % 7 === 0), 0, 1, layout.hashCount - 1];
    const eps = 1e-2;
    const numeric = idx.map((i) => {
      const p = params[i]!;
      params[i] = p + eps;
      const a = loss();
      params[i] = p - eps;
      const b = loss();
      params[i] = p;
      return (a - b) / (2 * eps);
    });
    expect(relError(idx.map((i) => grad[i]!), numeric)).toBeLessThan(1e-3);
  });

  it('interpolates linearly along x inside a cell and matches the grid at vertices', () => {
    const config = smallConfig({ levels: 1, baseResolution: 5, maxResolution: 5 });
    const layout = paramLayout(config);
    const level = layout.levels[0]!;
    const params = new Float32Array(layout.hashCount).map((_, i) => i * 0.01);
    const at = (x: number, y: number, z: number) => {
      const out = new Float32Array(2);
      hashEncodeForward(params, layout.levels, new Float32Array([x, y, z]), 1, out, 2);
      return out[0]!;
    };
    // Vertex (i, j, k) sits at pos = (i - 0.5) / scale.
    const v = (i: number) => (i - 0.5) / level.scale;
    const R = level.resolution;
    expect(at(v(1), v(2), v(3))).toBeCloseTo(params[2 * (1 + 2 * R + 3 * R * R)]!, 5);
    const mid = at((v(1) + v(2)) / 2, v(2), v(3));
    expect(mid).toBeCloseTo((params[2 * (1 + 2 * R + 3 * R * R)]! + params[2 * (2 + 2 * R + 3 * R * R)]!) / 2, 5);
  });
});

describe('field MLPs', () => {
  it('CpuFieldEvaluator.backward matches finite differences of sigma and rgb for MLP weights and hash entries', () => {
    const config = smallConfig();
    const layout = paramLayout(config);
    const rng = new Rng(11);
    const params = initParams(layout, rng);
    // Larger hash values so the features (and gradients) are not tiny.
    for (let i = 0; i < layout.hashCount; i++) params[i] = rng.uniform(-0.5, 0.5);
    const evaluator = new CpuFieldEvaluator(config, layout);
    // More samples than one chunk would be slow; 37 exercises the blocked kernels' remainders.
    const N = 37;
    const positions = new Float32Array(3 * N).map(() => rng.uniform(0.05, 0.95));
    const sh = new Float32Array(16 * N);
    for (let s = 0; s < N; s++) {
      const d = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
      const n = Math.hypot(d[0]!, d[1]!, d[2]!);
      shEncode(d[0]! / n, d[1]! / n, d[2]! / n, sh, 16 * s);
    }
    const dSigma = new Float32Array(N).map(() => rng.uniform(-1, 1));
    const dRgb = new Float32Array(3 * N).map(() => rng.uniform(-1, 1));
    const sigma = new Float32Array(N), rgb = new Float32Array(3 * N);
    const loss = () => {
      evaluator.query(params, positions, sh, N, sigma, rgb);
      let l = 0;
      for (let s = 0; s < N; s++) l += dSigma[s]! * sigma[s]! + dRgb[3 * s]! * rgb[3 * s]! + dRgb[3 * s + 1]! * rgb[3 * s + 1]! + dRgb[3 * s + 2]! * rgb[3 * s + 2]!;
      return l;
    };
    const grad = new Float32Array(layout.count);
    evaluator.backward(params, positions, sh, N, dSigma, dRgb, grad);
    const slots = [layout.density1, layout.density2, ...layout.color];
    const idx: number[] = [];
    for (const slot of slots) for (let k = 0; k < 12; k++) idx.push(slot.offset + rng.int(slot.rows * slot.cols));
    const touched = [...grad.subarray(0, layout.hashCount).keys()].filter((i) => grad[i] !== 0);
    for (let k = 0; k < 20; k++) idx.push(touched[rng.int(touched.length)]!);
    // A difference quotient that straddles a ReLU kink is meaningless: compare only where two step
    // sizes agree (the quotient is stable), and require that to be most entries.
    const quotient = (i: number, eps: number) => {
      const p = params[i]!;
      params[i] = p + eps;
      const a = loss();
      params[i] = p - eps;
      const b = loss();
      params[i] = p;
      return (a - b) / (2 * eps);
    };
    const analytic = idx.map((i) => grad[i]!);
    const scale = Math.max(...analytic.map(Math.abs));
    const groups = [...slots.map((_, g) => idx.slice(g * 12, (g + 1) * 12)), idx.slice(slots.length * 12)];
    for (const [g, group] of groups.entries()) {
      let stable = 0;
      for (const i of group) {
        const n1 = quotient(i, 2e-3), n2 = quotient(i, 5e-4);
        if (Math.abs(n1 - n2) > 2e-3 * scale) continue;
        stable++;
        expect(Math.abs(grad[i]! - n2), `group ${g} entry ${i}: analytic ${grad[i]} numeric ${n2}`).toBeLessThan(2e-3 * scale);
      }
      expect(stable, `group ${g}`).toBeGreaterThanOrEqual(group.length * 0.75);
    }
  });
});

describe('volume rendering', () => {
  it('compositing gradients (density and colour) match finite differences of a squared error', () => {
    const rng = new Rng(5);
    const n = 24;
    const sigma = new Float32Array(n).map(() => rng.uniform(0, 4));
    const rgb = new Float32Array(3 * n).map(() => rng.uniform(0, 1));
    const delta = new Float32Array(n).map(() => rng.uniform(0.05, 0.2));
    const tMid = new Float32Array(n).map((_, i) => 1 + i * 0.1);
    const bg = [0.2, 0.5, 0.9], target = [0.3, 0.6, 0.1];
    const tBefore = new Float32Array(n), prefix = new Float32Array(3 * n);
    const state = new Float64Array(RAY_STATE);
    const forward = () => {
      state.set([1, 0, 0, 0, 0, 0]);
      const used = compositeForward(sigma, rgb, delta, tMid, 0, n, state, 0, 1e-4, tBefore, prefix);
      const C = [0, 1, 2].map((c) => state[1 + c]! + state[0]! * bg[c]!);
      return { used, C, loss: C.reduce((l, c, i) => l + (c - target[i]!) ** 2, 0) };
    };
    const f = forward();
    expect(f.used).toBe(n); // densities are low enough that the ray does not terminate
    const dC = f.C.map((c, i) => 2 * (c - target[i]!));
    const dSigma = new Float32Array(n), dRgb = new Float32Array(3 * n);
    for (let s = 0; s < n; s++) {
      compositeBackwardSample(sigma[s]!, delta[s]!, tBefore[s]!, rgb[3 * s]!, rgb[3 * s + 1]!, rgb[3 * s + 2]!,
        prefix[3 * s]!, prefix[3 * s + 1]!, prefix[3 * s + 2]!, f.C[0]!, f.C[1]!, f.C[2]!, dC[0]!, dC[1]!, dC[2]!, dSigma, dRgb, s);
    }
    const fd = (arr: Float32Array, i: number, eps: number) => {
      const p = arr[i]!;
      arr[i] = p + eps;
      const a = forward().loss;
      arr[i] = p - eps;
      const b = forward().loss;
      arr[i] = p;
      return (a - b) / (2 * eps);
    };
    const numSigma = [...sigma.keys()].map((i) => fd(sigma, i, 1e-2));
    const numRgb = [...rgb.keys()].map((i) => fd(rgb, i, 1e-2));
    expect(relError([...dSigma], numSigma)).toBeLessThan(2e-3);
    expect(relError([...dRgb], numRgb)).toBeLessThan(2e-3);
  });

  it('stops after the sample that brings transmittance below minT, and the weights sum to the accumulation', () => {
    const n = 10;
    const sigma = new Float32Array(n).fill(50), delta = new Float32Array(n).fill(0.1);
    const rgb = new Float32Array(3 * n).fill(0.5), tMid = new Float32Array(n).map((_, i) => i);
    const state = new Float64Array([1, 0, 0, 0, 0, 0]);
    const used = compositeForward(sigma, rgb, delta, tMid, 0, n, state, 0, 1e-4, new Float32Array(n), new Float32Array(3 * n));
    // alpha = 1 - e^-5 per sample: T = e^-5 after one, e^-10 < 1e-4 after two.
    expect(used).toBe(2);
    expect(state[5]).toBeCloseTo(1 - Math.exp(-10), 6);
    expect(state[1]).toBeCloseTo(0.5 * state[5]!, 6);
  });
});
