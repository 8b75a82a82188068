// Feature distillation on WebGPU vs the CPU, shared by the vitest tests
// (feature-head-gpu.test.ts), the device machine's script (device-checks.ts)
// and bench/distill-gpu.ts: synthetic targets on the generated scene's exact
// geometry, a random-batch parity check of the head at any config, a
// same-seed training comparison, and a steps/s measurement.

import type { FeatureFieldConfig } from '../../engine/values';
import { FeatureDistillation } from '../../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../../runtime-gpu/distill/layout';
import { headParity } from './feature-head-parity';
import type { GpuContext } from '../../runtime-gpu/webgpu/device';
import { generatedScene, sdfRadianceField } from '../distill/scene';
import { syntheticTarget } from '../helpers/synthetic-target';

/** The generated scene, its exact-geometry radiance field and synthetic targets of its first `views` training views. */
export function distillScene(options: { views: number; size: number; fieldResolution?: number }) {
  const scene = generatedScene({ views: 2 * options.views, size: options.size, seed: 3 });
  const field = sdfRadianceField(scene.layout, options.fieldResolution ?? 40);
  const train = scene.views.views.filter((v) => v.split === 'train').slice(0, options.views);
  return { scene, field, train, targets: train.map(syntheticTarget) };
}

export { headParity } from './feature-head-parity';

/** Two distillations from one seed, on the CPU and the GPU: every step's loss (the GPU's read back once at the end). */
export async function sameSeedRun(ctx: GpuContext, config: FeatureFieldConfig, options: { views: number; size: number; steps: number; cells: number; lr: number; seed?: number }) {
  const { field, targets } = distillScene(options);
  const seed = options.seed ?? 9;
  const cpu = new FeatureDistillation(config, field, seed);
  const gpu = new FeatureDistillation(config, field, seed);
  const prep = { viewBank: false, prior: false, evaluator: 'reference' } as const;
  await cpu.prepare(targets, prep);
  await gpu.prepare(targets, prep);
  await gpu.useGpu(ctx);
  const cpuLoss: number[] = [];
  for (let s = 0; s < options.steps; s++) cpuLoss.push(cpu.step(options.lr, options.cells).loss);
  for (let s = 0; s < options.steps; s++) await gpu.stepGpu(options.lr, options.cells, { loss: false });
  const gpuLoss = Array.from(await gpu.readGpuLosses());
  let worst = 0;
  for (let s = 0; s < options.steps; s++) worst = Math.max(worst, Math.abs(gpuLoss[s]! - cpuLoss[s]!) / cpuLoss[s]!);
  return { cpu, gpu, field, targets, cpuLoss, gpuLoss, worst };
}

/**
 * Steps per second of one prepared distillation: `steps` steps after `warmup`
 * (GPU: the loss read every `lossEvery` steps and at the end, so the time
 * includes the device finishing).
 */
export async function stepsPerSecond(d: FeatureDistillation, device: 'cpu' | 'gpu', options: { steps: number; warmup: number; cells: number; lr: number; lossEvery?: number }): Promise<{ stepsPerSecond: number; seconds: number; lastLoss: number }> {
  const every = options.lossEvery ?? 50;
  let lastLoss = NaN;
  const run = async (n: number) => {
    for (let s = 0; s < n; s++) {
      if (device === 'cpu') lastLoss = d.step(options.lr, options.cells).loss;
      else {
        const r = await d.stepGpu(options.lr, options.cells, { loss: (s + 1) % every === 0 || s === n - 1 });
        if (!Number.isNaN(r.loss)) lastLoss = r.loss;
      }
    }
  };
  await run(options.warmup);
  const t0 = performance.now();
  await run(options.steps);
  const seconds = (performance.now() - t0) / 1000;
  return { stepsPerSecond: options.steps / seconds, seconds, lastLoss };
}

/**
 * The device machine's feature-distillation checks (device-checks.ts): head
 * parity at the default config (64 cells), a same-seed 60-step run, and on a
 * hardware adapter the default head's steps/s on GPU and CPU. Logs each
 * figure; returns the failures.
 */
export async function featureDistillChecks(ctx: GpuContext, log: (line: string) => void): Promise<string[]> {
  const failures: string[] = [];
  const hp = await headParity(ctx, featureFieldConfig(), 64, 5);
  const worst = Math.max(...Object.values(hp.blocks));
  const ok = hp.forward < 1e-5 && worst < 1e-4 && hp.hashMismatch === 0;
  log(`feature head parity (default config, 64 cells): forward ${hp.forward.toExponential(2)}, gradients ${JSON.stringify(Object.fromEntries(Object.entries(hp.blocks).map(([k, v]) => [k, +v.toExponential(2)])))}, hash zero-set mismatches ${hp.hashMismatch} -> ${ok ? 'ok' : 'FAIL'}`);
  if (!ok) failures.push(`feature head parity: forward ${hp.forward}, worst gradient block ${worst}, hash mismatches ${hp.hashMismatch}`);
  const run = await sameSeedRun(ctx, featureFieldConfig({ patch: 2, aggChannels: 4, hidden: 16, levels: 8, log2TableSize: 14 }), { views: 3, size: 48, steps: 60, cells: 32, lr: 1e-2 });
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const falls = mean(run.gpuLoss.slice(-10)) < 0.6 * mean(run.gpuLoss.slice(0, 10));
  const same = run.worst < 1e-3 && falls;
  log(`feature distillation, same seed (60 steps): GPU ${run.gpuLoss[0]!.toFixed(5)} -> ${mean(run.gpuLoss.slice(-10)).toFixed(5)}, CPU ${run.cpuLoss[0]!.toFixed(5)} -> ${mean(run.cpuLoss.slice(-10)).toFixed(5)}, worst step ${run.worst.toExponential(2)} -> ${same ? 'ok' : 'FAIL'}`);
  if (!same) failures.push(`feature distillation same seed: worst step ${run.worst}, loss falls ${falls}`);
  await run.gpu.syncFromGpu();
  run.gpu.releaseGpu();
  if (!ctx.adapter.software) {
    // The default head (P 4, C 32, H 64, 16 levels, 2^17), 4 views of the generated scene.
    const { field, targets } = distillScene({ views: 4, size: 64 });
    const config = featureFieldConfig();
    const prep = { viewBank: false, prior: false } as const;
    const d = new FeatureDistillation(config, field, 3);
    await d.prepare(targets, prep);
    await d.useGpu(ctx);
    const g = await stepsPerSecond(d, 'gpu', { steps: 300, warmup: 10, cells: 64, lr: 5e-3 });
    const g256 = await stepsPerSecond(d, 'gpu', { steps: 200, warmup: 5, cells: 256, lr: 5e-3 });
    await d.syncFromGpu();
    d.releaseGpu();
    const c = new FeatureDistillation(config, field, 3);
    await c.prepare(targets, prep);
    const cp = await stepsPerSecond(c, 'cpu', { steps: 10, warmup: 2, cells: 64, lr: 5e-3 });
    log(`feature distillation throughput (default head, 64 cells/step): GPU ${g.stepsPerSecond.toFixed(1)} steps/s, CPU ${cp.stepsPerSecond.toFixed(2)} steps/s (x${(g.stepsPerSecond / cp.stepsPerSecond).toFixed(1)}); GPU at 256 cells/step ${g256.stepsPerSecond.toFixed(1)} steps/s`);
  }
  return failures;
}
