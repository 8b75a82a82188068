// Volume rendering (per ray, forward and backward) and Adam (with the
// zero-gradient skip) on WebGPU against the CPU reference.
import { describe, expect, it } from 'vitest';
import { Adam } from '../../runtime-gpu/nerf/adam';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { compositeBackwardSample, compositeForward, RAY_STATE } from '../../runtime-gpu/nerf/volume';
import { readFloat32, storageBuffer, submit } from '../../runtime-gpu/webgpu/compute';
import { AdamKernel } from '../../runtime-gpu/webgpu/kernels/adam';
import { RAY_OUT, SAMPLE_OUT, VolumeKernels } from '../../runtime-gpu/webgpu/kernels/volume';
import { maxAbs, maxAbsDiff, testGpu } from './gpu-context';

const gpu = await testGpu();

describe.skipIf(!!gpu.skip)('volume rendering on WebGPU vs the CPU reference', () => {
  it('forward and backward agree within 1e-5, including early termination', async () => {
    const ctx = gpu.ctx!;
    const rng = new Rng(5);
    const rays = 300, minT = 1e-4;
    const rayStart = new Uint32Array(rays), rayCount = new Uint32Array(rays);
    let total = 0;
    for (let r = 0; r < rays; r++) {
      rayStart[r] = total;
      rayCount[r] = r % 10 === 0 ? 0 : 1 + rng.int(40);
      total += rayCount[r]!;
    }
    const sigma = new Float32Array(total), rgb = new Float32Array(3 * total), delta = new Float32Array(total), tMid = new Float32Array(total);
    for (let r = 0; r < rays; r++) {
      // A third of the rays are dense enough to terminate early.
      const dense = r % 3 === 0 ? 200 : 5;
      let t = 1;
      for (let s = rayStart[r]!; s < rayStart[r]! + rayCount[r]!; s++) {
        sigma[s] = rng.next() * dense;
        delta[s] = 0.01 + 0.02 * rng.next();
        t += delta[s]!;
        tMid[s] = t;
      }
    }
    for (let i = 0; i < rgb.length; i++) rgb[i] = rng.next();
    const background = new Float32Array(3 * rays), dColor = new Float32Array(3 * rays);
    for (let i = 0; i < background.length; i++) background[i] = rng.next();
    for (let i = 0; i < dColor.length; i++) dColor[i] = rng.uniform(-1, 1);

    // CPU reference.
    const state = new Float64Array(rays * RAY_STATE);
    const tBefore = new Float32Array(total), prefix = new Float32Array(3 * total);
    const used = new Uint32Array(rays), finalColor = new Float32Array(3 * rays);
    const dSigma = new Float32Array(total), dRgb = new Float32Array(3 * total);
    let terminated = 0;
    for (let r = 0; r < rays; r++) {
      const so = r * RAY_STATE;
      state[so] = 1;
      const s0 = rayStart[r]!, s1 = s0 + rayCount[r]!;
      const end = compositeForward(sigma, rgb, delta, tMid, s0, s1, state, so, minT, tBefore, prefix);
      used[r] = end - s0;
      if (end < s1) terminated++;
      for (let ch = 0; ch < 3; ch++) finalColor[3 * r + ch] = state[so + 1 + ch]! + state[so]! * background[3 * r + ch]!;
      for (let s = s0; s < end; s++) {
        compositeBackwardSample(sigma[s]!, delta[s]!, tBefore[s]!, rgb[3 * s]!, rgb[3 * s + 1]!, rgb[3 * s + 2]!,
          prefix[3 * s]!, prefix[3 * s + 1]!, prefix[3 * s + 2]!, finalColor[3 * r]!, finalColor[3 * r + 1]!, finalColor[3 * r + 2]!,
          dColor[3 * r]!, dColor[3 * r + 1]!, dColor[3 * r + 2]!, dSigma, dRgb, s);
      }
    }
    expect(terminated).toBeGreaterThan(20);

    const kernels = await VolumeKernels.create(ctx);
    const rayRange = new Uint32Array(2 * rays), stepT = new Float32Array(2 * total);
    for (let r = 0; r < rays; r++) [rayRange[2 * r], rayRange[2 * r + 1]] = [rayStart[r]!, rayCount[r]!];
    for (let s = 0; s < total; s++) [stepT[2 * s], stepT[2 * s + 1]] = [delta[s]!, tMid[s]!];
    const b = {
      rayRange: storageBuffer(ctx, rayRange, 'range'),
      sigma: storageBuffer(ctx, sigma, 'sigma'), rgb: storageBuffer(ctx, rgb, 'rgb'), stepT: storageBuffer(ctx, stepT, 'step-t'),
      background: storageBuffer(ctx, background, 'bg'),
      rayOut: storageBuffer(ctx, rays * RAY_OUT * 4, 'rayout'), sampleOut: storageBuffer(ctx, total * SAMPLE_OUT * 4, 'sampleout'),
    };
    // Garbage in the outputs: samples past termination must be written 0.
    const gS = storageBuffer(ctx, new Float32Array(total).fill(7), 'dsigma'), gR = storageBuffer(ctx, new Float32Array(3 * total).fill(7), 'drgb');
    const encoder = ctx.device.createCommandEncoder();
    kernels.recordForward(encoder, b, rays, minT);
    kernels.recordBackward(encoder, b, storageBuffer(ctx, dColor, 'dcolor'), gS, gR, rays);
    await submit(ctx, encoder);
    const out = await readFloat32(ctx, b.rayOut as GPUBuffer, rays * RAY_OUT);
    for (let r = 0; r < rays; r++) {
      const o = r * RAY_OUT, so = r * RAY_STATE;
      expect(out[o + 9], `ray ${r} used samples`).toBe(used[r]);
      for (let k = 0; k < RAY_STATE; k++) expect(Math.abs(out[o + k]! - state[so + k]!), `ray ${r} state ${k}`).toBeLessThan(1e-5 * (k === 4 ? 2 : 1));
      for (let ch = 0; ch < 3; ch++) expect(Math.abs(out[o + 6 + ch]! - finalColor[3 * r + ch]!)).toBeLessThan(1e-5);
    }
    const gotS = await readFloat32(ctx, gS, total), gotR = await readFloat32(ctx, gR, 3 * total);
    expect(maxAbsDiff(gotS, dSigma).diff / maxAbs(dSigma)).toBeLessThan(1e-5);
    expect(maxAbsDiff(gotR, dRgb).diff).toBeLessThan(1e-6);
  });
});

describe.skipIf(!!gpu.skip)('Adam on WebGPU vs the CPU reference', () => {
  it('three steps agree within 1e-5 relative; zero gradients skip only in the sparse range', async () => {
    const ctx = gpu.ctx!;
    const rng = new Rng(9);
    const n = 5000, sparseEnd = 3000;
    const params = new Float32Array(n);
    for (let i = 0; i < n; i++) params[i] = rng.uniform(-1, 1);
    const cpuParams = params.slice();
    const cpu = new Adam(n);
    const kernel = await AdamKernel.create(ctx);
    const p = storageBuffer(ctx, params, 'params'), g = storageBuffer(ctx, n * 4, 'grad'), m = storageBuffer(ctx, n * 4, 'm'), v = storageBuffer(ctx, n * 4, 'v');
    const zeroed: number[] = [];
    let before: { m: Float32Array; p: Float32Array } | undefined;
    for (let step = 1; step <= 3; step++) {
      if (step === 3) before = { m: await readFloat32(ctx, m, n), p: await readFloat32(ctx, p, n) };
      const grad = new Float32Array(n);
      for (let i = 0; i < n; i++) grad[i] = i % 7 === step ? 0 : rng.uniform(-1, 1) * 10 ** -rng.int(5);
      if (step === 3) for (let i = 0; i < n; i++) if (grad[i] === 0) zeroed.push(i);
      ctx.device.queue.writeBuffer(g, 0, grad);
      const lr = 0.02 / step;
      cpu.nextStep();
      cpu.update(cpuParams, grad, 0, sparseEnd, lr, true);
      cpu.update(cpuParams, grad, sparseEnd, n, lr, false);
      const encoder = ctx.device.createCommandEncoder();
      kernel.record(encoder, p, g, m, v, n, sparseEnd, lr, cpu.step);
      await submit(ctx, encoder);
    }
    const got = await readFloat32(ctx, p, n), gotM = await readFloat32(ctx, m, n), gotV = await readFloat32(ctx, v, n), gotG = await readFloat32(ctx, g, n);
    for (let i = 0; i < n; i++) {
      expect(Math.abs(got[i]! - cpuParams[i]!), `param ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(cpuParams[i]!)));
      expect(Math.abs(gotM[i]! - cpu.m[i]!)).toBeLessThanOrEqual(1e-5 * Math.abs(cpu.m[i]!) + 1e-12);
      expect(Math.abs(gotV[i]! - cpu.v[i]!)).toBeLessThanOrEqual(1e-5 * Math.abs(cpu.v[i]!) + 1e-20);
    }
    // The gradient is consumed: zero everywhere afterwards.
    expect(maxAbs(gotG)).toBe(0);
    // Sparse entries with a zero gradient at the last step kept their moments and values exactly; dense ones decayed m and moved.
    const sparseZero = zeroed.filter((i) => i < sparseEnd), denseZero = zeroed.filter((i) => i >= sparseEnd);
    expect(sparseZero.length).toBeGreaterThan(100);
    for (const i of sparseZero) {
      expect(gotM[i]).toBe(before!.m[i]);
      expect(got[i]).toBe(before!.p[i]);
    }
    for (const i of denseZero) {
      expect(Math.abs(gotM[i]! - 0.9 * before!.m[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(before!.m[i]!));
      expect(got[i]).not.toBe(before!.p[i]);
    }
  });
});
