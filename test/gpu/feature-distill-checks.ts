// Feature distillation on WebGPU vs the CPU, shared by the vitest tests
// (feature-head-gpu.test.ts), the device machine's script (device-checks.ts)
// and bench/distill-gpu.ts: synthetic targets on the generated scene's exact
// geometry, a random-batch parity check of the head at any config, a
// same-seed training comparison, and a steps/s measurement.

import type { FeatureFieldConfig } from '../../engine/values';
import { cellGrid, EMBED_CELLS, EMBED_SIDE } from '../../runtime-gpu/distill/cells';
import { FeatureDistillation, type DistillTarget } from '../../runtime-gpu/distill/distiller';
import { FeatureHead, type CellBatch } from '../../runtime-gpu/distill/head';
import { featureFieldConfig, featureLayout } from '../../runtime-gpu/distill/layout';
import { Rng } from '../../runtime-gpu/nerf/rng';
import type { GpuContext } from '../../runtime-gpu/webgpu/device';
import { GpuFeatureTrainer } from '../../runtime-gpu/webgpu/distill/trainer';
import type { View } from '../../engine/values';
import { generatedScene, sdfRadianceField } from '../distill/scene';

/** A synthetic "embedding": per cell, 256 channels that are smooth functions of the instance id seen at the cell (as test/distill/distill.test.ts). */
export function syntheticTarget(view: View): DistillTarget {
  const K = 256, emb = new Float32Array(K * EMBED_CELLS);
  const grid = cellGrid(view.camera.width, view.camera.height);
  for (let y = 0; y < grid.rows; y++)
    for (let x = 0; x < grid.cols; x++) {
      const u = Math.min(view.camera.width - 1, Math.floor(((x + 0.5) * view.camera.width) / grid.cols));
      const v = Math.min(view.camera.height - 1, Math.floor(((y + 0.5) * view.camera.height) / grid.rows));
      const id = view.instances![v * view.camera.width + u]!;
      for (let k = 0; k < K; k++) emb[k * EMBED_CELLS + y * EMBED_SIDE + x] = 0.1 * Math.sin(0.7 * k * (id + 1)) + 0.02 * Math.cos(k);
    }
  return { name: view.name, camera: view.camera, embedding: emb };
}

/** The generated scene, its exact-geometry radiance field and synthetic targets of its first `views` training views. */
export function distillScene(options: { views: number; size: number; fieldResolution?: number }) {
  const scene = generatedScene({ views: 2 * options.views, size: options.size, seed: 3 });
  const field = sdfRadianceField(scene.layout, options.fieldResolution ?? 40);
  const train = scene.views.views.filter((v) => v.split === 'train').slice(0, options.views);
  return { scene, field, train, targets: train.map(syntheticTarget) };
}

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
  const params = new Float32Array(layout.count);
  for (let i = 0; i < layout.count; i++) params[i] = rng.uniform(-0.5, 0.5);
  for (let i = layout.b1; i < layout.b1 + config.hidden; i++) params[i] = rng.uniform(-0.1, 0.5);
  const P2 = config.patch * config.patch, rays = cells * P2;
  const sampleRay: number[] = [], weights: number[] = [], positions: number[] = [];
  const acc = new Float32Array(rays);
  for (let r = 0; r < rays; r++) {
    acc[r] = r % 5 === 4 ? 0 : r % 7 === 3 ? 1 : rng.uniform(0.2, 1);
    const n = acc[r] === 0 ? 0 : 1 + rng.int(3);
    const w: number[] = [];
    let sum = 0;
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
