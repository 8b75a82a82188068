import { describe, expect, it } from 'vitest';
import { configForScene, paramLayout } from '../../runtime-gpu/nerf/config';
import { hashEncodeBackward, hashEncodeForward } from '../../runtime-gpu/nerf/hash-encoding';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { readFloat32, storageBuffer, submit } from '../../runtime-gpu/webgpu/compute';
import { HashEncodingKernels } from '../../runtime-gpu/webgpu/kernels/hash-encoding';
import { maxAbs, maxAbsDiff, testGpu } from './gpu-context';

const gpu = await testGpu();

// 6 levels from 4 to 96 vertices per axis, 2^12 entries: the first levels dense, the others hashed.
const config = configForScene({ bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, near: 0.1, far: 10, sceneKind: 'object' },
  { levels: 6, log2TableSize: 12, baseResolution: 4, maxResolution: 96 });
const layout = paramLayout(config);

function inputs(count: number, seed: number) {
  const rng = new Rng(seed);
  const params = new Float32Array(layout.count);
  for (let i = 0; i < params.length; i++) params[i] = rng.uniform(-1, 1);
  const positions = new Float32Array(3 * count);
  // A margin outside the cube exercises the clamp.
  for (let i = 0; i < positions.length; i++) positions[i] = rng.uniform(-0.05, 1.05);
  return { params, positions };
}

describe.skipIf(!!gpu.skip)('hash encoding on WebGPU vs the CPU reference', () => {
  it('has dense and hashed levels', () => {
    expect(layout.levels.some((l) => l.dense)).toBe(true);
    expect(layout.levels.some((l) => !l.dense)).toBe(true);
  });

  it('forward: features agree within 2e-5 (tables in [-1, 1])', async () => {
    const ctx = gpu.ctx!;
    const count = 3000;
    const { params, positions } = inputs(count, 1);
    const E = layout.encodingWidth;
    const expected = new Float32Array(count * E);
    hashEncodeForward(params, layout.levels, positions, count, expected, E);
    const kernels = await HashEncodingKernels.create(ctx, layout);
    const p = storageBuffer(ctx, params, 'params'), x = storageBuffer(ctx, positions, 'pos'), enc = storageBuffer(ctx, count * E * 4, 'enc');
    const encoder = ctx.device.createCommandEncoder();
    kernels.forward(encoder, p, x, enc, count);
    await submit(ctx, encoder);
    const got = await readFloat32(ctx, enc, count * E);
    const { diff, at } = maxAbsDiff(got, expected);
    expect(maxAbs(expected)).toBeGreaterThan(0.5);
    expect(diff, `sample ${Math.floor(at / E)} feature ${at % E}: ${got[at]} vs ${expected[at]}`).toBeLessThan(2e-5);
  });

  it('backward: the scattered gradient agrees within 1e-5 of its scale, with the same untouched entries', async () => {
    const ctx = gpu.ctx!;
    const count = 3000;
    const { params, positions } = inputs(count, 2);
    const E = layout.encodingWidth;
    const rng = new Rng(3);
    const dEnc = new Float32Array(count * E);
    for (let i = 0; i < dEnc.length; i++) dEnc[i] = rng.uniform(-1, 1);
    // Samples with both features' gradients 0 at some level must add nothing there.
    for (let s = 0; s < count; s += 3) for (let l = 0; l < layout.levels.length; l += 2) dEnc[s * E + 2 * l] = dEnc[s * E + 2 * l + 1] = 0;
    const expected = new Float32Array(layout.count);
    hashEncodeBackward(expected, layout.levels, positions, count, dEnc, E);
    const kernels = await HashEncodingKernels.create(ctx, layout);
    const grad = storageBuffer(ctx, layout.count * 4, 'grad');
    const encoder = ctx.device.createCommandEncoder();
    kernels.backward(encoder, grad, storageBuffer(ctx, positions, 'pos'), storageBuffer(ctx, dEnc, 'denc'), count);
    await submit(ctx, encoder);
    const got = await readFloat32(ctx, grad, layout.count);
    const scale = maxAbs(expected);
    const { diff, at } = maxAbsDiff(got, expected);
    expect(scale).toBeGreaterThan(1);
    expect(diff / scale, `entry ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThan(1e-5);
    let zeroMismatch = 0, touched = 0;
    for (let i = 0; i < layout.hashCount; i++) {
      if ((got[i] === 0) !== (expected[i] === 0)) zeroMismatch++;
      if (expected[i] !== 0) touched++;
    }
    expect(touched).toBeGreaterThan(1000);
    expect(zeroMismatch).toBe(0);
    // The MLP part of the buffer is not touched.
    expect(maxAbs(got.subarray(layout.hashCount))).toBe(0);
  });
});
