// GpuNerf against the CPU Nerf: the same seed draws the same rays from the
// same initial parameters; a short training run on each must reach test
// PSNRs within 0.5 dB. Small analytic scene (test/nerf/sphere-scene.ts).
import { describe, expect, it } from 'vitest';
import { configForScene, paramLayout } from '../../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../../runtime-gpu/nerf/dataset';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { evaluateViews, trainNerf } from '../../runtime-gpu/nerf/trainer';
import { GpuNerf } from '../../runtime-gpu/webgpu/gpu-nerf';
import { asTrainable } from '../../runtime-gpu/webgpu/train';
import { sphereScene } from '../nerf/sphere-scene';
import { expectDeviceRaysMatchHost } from './device-rays';
import { maxAbsDiff, testGpu } from './gpu-context';

const gpu = await testGpu();

const scene = sphereScene({ size: 32 });
const train = viewsOf(scene, 'train');
const test = viewsOf(scene, 'test');
const config = configForScene({ ...scene, pixelFootprint: pixelFootprint(scene) }, { levels: 8, log2TableSize: 14 });

describe.skipIf(!!gpu.skip)('GpuNerf vs the CPU Nerf on an analytic sphere', () => {
  it('starts from the same parameters and renders the same untrained field', async () => {
    const ctx = gpu.ctx!;
    const cpu = new Nerf(config, new CpuFieldEvaluator(config, paramLayout(config)), { seed: 3, raysPerBatch: 256 });
    const g = await GpuNerf.create(ctx, config, { seed: 3, raysPerBatch: 256 });
    expect(maxAbsDiff(await g.readParams(), cpu.params).diff).toBe(0);
    const a = await cpu.renderCamera(test[0]!.camera), b = await g.renderCamera(test[0]!.camera);
    expect(maxAbsDiff(a.rgb, b.rgb).diff).toBeLessThan(1e-4);
    expect(maxAbsDiff(a.accumulation, b.accumulation).diff).toBeLessThan(1e-4);
    g.dispose();
  });

  it('rays formed on the device from the uploaded views match the host-formed ones: same loss and parameters after two steps', async () => {
    await expectDeviceRaysMatchHost(gpu.ctx!, config, trainingSet(train), { seed: 4, raysPerBatch: 128, sampleBudget: 128 * 24 });
  }, 120_000);

  // Sized for SwiftShader on a 2-core machine (about 0.5 s per step): 128 rays per step, 80 steps at a high learning rate.
  it('80 steps from one seed: test PSNRs within 0.5 dB, both far above the untrained field', async () => {
    const ctx = gpu.ctx!;
    const options = { seed: 1, raysPerBatch: 128, sampleBudget: 128 * 24 };
    const cpu = new Nerf(config, new CpuFieldEvaluator(config, paramLayout(config)), options);
    cpu.setTrainingSet(trainingSet(train));
    const g = await GpuNerf.create(ctx, config, options);
    g.setTrainingSet(trainingSet(train));
    const before = await evaluateViews(asTrainable(g), test);
    const run = { steps: 80, maxSeconds: 0, learningRate: 3e-2, occupancyInterval: 40 };
    await trainNerf(cpu, run);
    const summary = await trainNerf(asTrainable(g), run);
    expect(summary.steps).toBe(80);
    const psnrCpu = (await evaluateViews(cpu, test)).psnr;
    const psnrGpu = (await evaluateViews(asTrainable(g), test)).psnr;
    console.log(`sphere, 80 steps of 128 rays: CPU ${psnrCpu.toFixed(2)} dB, WebGPU ${psnrGpu.toFixed(2)} dB (untrained ${before.psnr.toFixed(2)} dB)`);
    expect(psnrGpu).toBeGreaterThan(before.psnr + 8);
    expect(Math.abs(psnrGpu - psnrCpu)).toBeLessThan(0.5);
    // The occupancy grid carved the box down to about the sphere on the GPU path too, as on the CPU.
    expect(g.grid.occupiedCount / g.grid.cells).toBeLessThan(0.15);
    expect(Math.abs(g.grid.occupiedCount - cpu.grid.occupiedCount)).toBeLessThan(0.05 * cpu.grid.occupiedCount);
    g.dispose();
  }, 240_000);
});

describe.skipIf(!!gpu.skip)('device-formed rays with OpenCV lens distortion', () => {
  it('undistort on the device as pixelRay does: same losses and parameters as host-formed rays', async () => {
    // The sphere's views with distortion terms added (the images do not follow them: only the rays are compared).
    const distorted = train.map((v, i) => ({ ...v, camera: { ...v.camera, distortion: { k1: -0.12 + 0.01 * i, k2: 0.03, p1: 0.002, p2: -0.001 } } }));
    await expectDeviceRaysMatchHost(gpu.ctx!, config, trainingSet(distorted), { seed: 6, raysPerBatch: 128, sampleBudget: 128 * 24 });
  }, 120_000);
});
