// The MLP kernels (and the whole field: hash encoding + MLPs) against the
// CPU reference evaluator, forward and backward.
import { describe, expect, it } from 'vitest';
import { configForScene, paramLayout, type FieldConfig } from '../../runtime-gpu/nerf/config';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { initParams } from '../../runtime-gpu/nerf/nerf';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { shEncode } from '../../runtime-gpu/nerf/sh';
import { readFloat32, storageBuffer, submit } from '../../runtime-gpu/webgpu/compute';
import { HashEncodingKernels } from '../../runtime-gpu/webgpu/kernels/hash-encoding';
import { MlpKernels, WEIGHT_CHUNK } from '../../runtime-gpu/webgpu/kernels/mlp';
import { maxAbs, maxAbsDiff, testGpu } from './gpu-context';

const gpu = await testGpu();

const scene = { bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, near: 0.1, far: 10, sceneKind: 'object' as const };
// The default shapes (32-wide, one hidden colour layer) and a deeper, narrower colour MLP.
// Both code generators: loops (the default on software adapters) and unrolled (hardware); the
// unrolled one on the small config only, as SwiftShader takes a minute to compile the large one.
const small = configForScene(scene, { levels: 4, log2TableSize: 10, baseResolution: 4, maxResolution: 32, densityHidden: 16, colorHidden: 16, colorLayers: 2 });
const configs: [string, FieldConfig, boolean][] = [
  ['defaults (8 levels, 32-wide, 1 colour layer), loops', configForScene(scene, { levels: 8, log2TableSize: 12, baseResolution: 4, maxResolution: 128 }), false],
  ['2 colour layers of 16, density 16, loops', small, false],
  ['2 colour layers of 16, density 16, unrolled', small, true],
];

function inputs(config: FieldConfig, count: number, seed: number) {
  const layout = paramLayout(config);
  const rng = new Rng(seed);
  const params = initParams(layout, rng);
  // Tables of order 1 (instead of 1e-4) so the encodings drive the MLPs.
  for (let i = 0; i < layout.hashCount; i++) params[i] = rng.uniform(-1, 1);
  const positions = new Float32Array(3 * count);
  for (let i = 0; i < positions.length; i++) positions[i] = rng.next();
  const sh = new Float32Array(16 * count);
  for (let s = 0; s < count; s++) {
    const x = rng.uniform(-1, 1), y = rng.uniform(-1, 1), z = rng.uniform(-1, 1);
    const n = Math.hypot(x, y, z) || 1;
    shEncode(x / n, y / n, z / n, sh, 16 * s);
  }
  const dSigma = new Float32Array(count), dRgb = new Float32Array(3 * count);
  for (let i = 0; i < count; i++) dSigma[i] = rng.uniform(-0.1, 0.1);
  for (let i = 0; i < 3 * count; i++) dRgb[i] = rng.uniform(-1, 1);
  return { layout, params, positions, sh, dSigma, dRgb };
}

/** max |a - b| / max |b| over one parameter range. */
function relErr(got: Float32Array, expected: Float32Array, begin: number, end: number): number {
  return maxAbsDiff(got.subarray(begin, end), expected.subarray(begin, end)).diff / Math.max(1e-30, maxAbs(expected.subarray(begin, end)));
}

describe.skipIf(!!gpu.skip)('MLP and field kernels on WebGPU vs the CPU reference', () => {
  for (const [name, config, unroll] of configs) {
    describe(name, () => {
      // Not a multiple of the weight-gradient chunk, so the last chunk is partial.
      const count = 2 * WEIGHT_CHUNK + 77;
      // Compiled once for both tests (SwiftShader compiles slowly).
      let compiled: Promise<[MlpKernels, HashEncodingKernels]> | undefined;
      const kernels = () => (compiled ??= Promise.all([MlpKernels.create(gpu.ctx!, config, paramLayout(config), { unroll }), HashEncodingKernels.create(gpu.ctx!, paramLayout(config))]));

      it('forward: sigma within 1e-4 relative, rgb within 1e-5', async () => {
        const ctx = gpu.ctx!;
        const { layout, params, positions, sh } = inputs(config, count, 11);
        const cpu = new CpuFieldEvaluator(config, layout);
        const sigma = new Float32Array(count), rgb = new Float32Array(3 * count), enc = new Float32Array(count * layout.encodingWidth);
        cpu.query(params, positions, sh, count, sigma, rgb, enc);
        const [mlp, hash] = await kernels();
        const p = storageBuffer(ctx, params, 'params');
        // MLP alone, from the CPU's encodings; then the whole field from positions.
        const encCpu = storageBuffer(ctx, enc, 'enc-cpu'), encGpu = storageBuffer(ctx, enc.byteLength, 'enc-gpu');
        const shB = storageBuffer(ctx, sh, 'sh');
        const sig1 = storageBuffer(ctx, count * 4, 'sigma1'), rgb1 = storageBuffer(ctx, count * 12, 'rgb1');
        const sig2 = storageBuffer(ctx, count * 4, 'sigma2'), rgb2 = storageBuffer(ctx, count * 12, 'rgb2'), dens = storageBuffer(ctx, count * 4, 'density');
        const encoder = ctx.device.createCommandEncoder();
        mlp.recordQuery(encoder, p, encCpu, shB, sig1, rgb1, count);
        hash.forward(encoder, p, storageBuffer(ctx, positions, 'pos'), encGpu, count);
        mlp.recordQuery(encoder, p, encGpu, shB, sig2, rgb2, count);
        mlp.recordDensity(encoder, p, encGpu, dens, count);
        await submit(ctx, encoder);
        for (const [s, r] of [[sig1, rgb1], [sig2, rgb2]] as const) {
          const gs = await readFloat32(ctx, s, count), gr = await readFloat32(ctx, r, 3 * count);
          for (let i = 0; i < count; i++) expect(Math.abs(gs[i]! - sigma[i]!) / sigma[i]!, `sigma ${i}: ${gs[i]} vs ${sigma[i]}`).toBeLessThan(1e-4);
          expect(maxAbsDiff(gr, rgb).diff).toBeLessThan(1e-5);
        }
        const gd = await readFloat32(ctx, dens, count);
        for (let i = 0; i < count; i++) expect(Math.abs(gd[i]! - sigma[i]!) / sigma[i]!).toBeLessThan(1e-4);
        // The outputs vary: a constant field would pass trivially.
        expect(Math.max(...rgb) - Math.min(...rgb)).toBeGreaterThan(0.1);
      });

      it('backward: every weight gradient and the hash-table gradient within 1e-4 of their scale', async () => {
        const ctx = gpu.ctx!;
        const { layout, params, positions, sh, dSigma, dRgb } = inputs(config, count, 12);
        const cpu = new CpuFieldEvaluator(config, layout);
        const expected = new Float32Array(layout.count);
        cpu.backward(params, positions, sh, count, dSigma, dRgb, expected);
        const [mlp, hash] = await kernels();
        const p = storageBuffer(ctx, params, 'params'), pos = storageBuffer(ctx, positions, 'pos');
        const enc = storageBuffer(ctx, count * layout.encodingWidth * 4, 'enc'), dEnc = storageBuffer(ctx, count * layout.encodingWidth * 4, 'denc');
        // The gradient buffer accumulates: start from a known non-zero content.
        const start = new Float32Array(layout.count).fill(0.5);
        const grad = storageBuffer(ctx, start, 'grad');
        const encoder = ctx.device.createCommandEncoder();
        hash.forward(encoder, p, pos, enc, count);
        mlp.recordBackward(encoder, p, enc, storageBuffer(ctx, sh, 'sh'), storageBuffer(ctx, dSigma, 'ds'), storageBuffer(ctx, dRgb, 'drgb'), dEnc, grad, count);
        hash.backward(encoder, grad, pos, dEnc, count);
        await submit(ctx, encoder);
        const got = await readFloat32(ctx, grad, layout.count);
        for (let i = 0; i < got.length; i++) got[i] -= 0.5;
        for (const slot of [layout.density1, layout.density2, ...layout.color]) {
          expect(maxAbs(expected.subarray(slot.offset, slot.offset + slot.rows * slot.cols))).toBeGreaterThan(1e-3);
          expect(relErr(got, expected, slot.offset, slot.offset + slot.rows * slot.cols), `matrix at ${slot.offset} (${slot.rows}x${slot.cols})`).toBeLessThan(1e-4);
        }
        expect(relErr(got, expected, 0, layout.hashCount), 'hash tables').toBeLessThan(1e-4);
        mlp.dispose();
      });
    });
  }
});
