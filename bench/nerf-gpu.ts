// NeRF training on the GPU (WebGPU: WGSL kernels, Dawn in Node) against the
// CPU path, in the same run: lego_400 by default (100 train views, 400x400,
// test PSNR over every 8th test view on the dataset's white background).
// For each device it prints steps/s, rays/s, samples/s and the test PSNR at
// time marks (the clock counts training only, evaluation excluded), then
// the GPU/CPU ratios.
//
// Usage: npx tsx bench/nerf-gpu.ts [--seconds 60] [--device webgpu|auto] [--cpu-seconds S]
//          [--marks 15,30] [--data DIR] [--every 8] [--rays 2048] [--seed 0] [--lr 0.02]
//          [--software] [--unroll true|false] [--no-cpu] [--json FILE]
//   --device   webgpu: any adapter, software included (fails with the reason when there is
//              none); auto: a hardware adapter, else the GPU run is skipped with the reason
//   --software use Chromium's SwiftShader when VK_ICD_FILENAMES is unset (correctness only:
//              on a CPU it is far slower than the CPU path)
//   --cpu-seconds  the CPU run's budget (default: --seconds); 0 skips it, as --no-cpu
//   --unroll   force the MLP code generator (default: unrolled on hardware adapters)
//   --every    evaluate on every n-th test view (8); use 1 with bench/device/pack.sh's lego_400
//              subset, which already keeps only every 8th test view
// The GPU's Vulkan driver: Dawn loads libvulkan.so.1 (system, or SAMNERF_VULKAN_LOADER, or
// Chromium's), which finds the driver through its ICD files (VK_ICD_FILENAMES).

import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ViewsValue } from '../engine/values';
import { registerOrtNode } from '../runtime-gpu/backends/ort-node';
import { configForScene, paramLayout, type FieldConfig } from '../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf, type TrainingSet } from '../runtime-gpu/nerf/dataset';
import { createFieldEvaluator } from '../runtime-gpu/nerf/evaluators';
import { Nerf } from '../runtime-gpu/nerf/nerf';
import { registerNerfNode } from '../runtime-gpu/nerf/node';
import { evaluateViews, trainNerf } from '../runtime-gpu/nerf/trainer';
import { adapterName, type GpuContext } from '../runtime-gpu/webgpu/device';
import { GpuNerf } from '../runtime-gpu/webgpu/gpu-nerf';
import { registerWebGpuNode } from '../runtime-gpu/webgpu/node';
import { acquireWebGpu } from '../runtime-gpu/webgpu/platform';
import { asTrainable } from '../runtime-gpu/webgpu/train';
import { loadViews } from './load-views';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'cpu-seconds': { type: 'string' },
    device: { type: 'string', default: 'webgpu' },
    marks: { type: 'string' },
    data: { type: 'string' },
    every: { type: 'string', default: '8' },
    rays: { type: 'string', default: '2048' },
    seed: { type: 'string', default: '0' },
    lr: { type: 'string', default: '0.02' },
    software: { type: 'boolean', default: false },
    unroll: { type: 'string' },
    'no-cpu': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
if (args.device !== 'webgpu' && args.device !== 'auto') throw new Error(`--device ${args.device}: expected webgpu or auto (cuda is not implemented yet)`);
if (args.unroll !== undefined && args.unroll !== 'true' && args.unroll !== 'false') throw new Error(`--unroll ${args.unroll}: expected true or false`);

registerOrtNode();
registerNerfNode();
registerWebGpuNode({ softwareFallback: args.software });

const budget = Number(args.seconds);
const cpuBudget = args['no-cpu'] ? 0 : Number(args['cpu-seconds'] ?? budget);
const marks = args.marks ? args.marks.split(',').map(Number) : [10, 20, 30, 60, 120, 300].filter((m) => m < Math.max(budget, cpuBudget));
const dataDir = resolve(args.data ?? join(import.meta.dirname, '..', '..', 'shared', 'data', 'lego_400'));
const evalEvery = Number(args.every);
const raysPerBatch = Number(args.rays);
const seed = Number(args.seed);
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

interface Trainable {
  nerf: Nerf;
  dispose(): Promise<void> | void;
}

interface RunResult {
  device: string;
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  raysPerSecond: number;
  samplesPerSecond: number;
  curve: Array<{ seconds: number; steps: number; psnr: number; load: number }>;
}


async function run(name: string, make: () => Promise<Trainable>, seconds: number, test: ViewsValue['views']): Promise<RunResult> {
  const { nerf, dispose } = await make();
  const curve: RunResult['curve'] = [];
  let trained = 0, steps = 0, rays = 0, samples = 0;
  try {
    for (const end of [...new Set([...marks.filter((m) => m < seconds), seconds])].sort((a, b) => a - b)) {
      const s = await trainNerf(nerf, { steps: 0, maxSeconds: end, learningRate: Number(args.lr), startStep: steps, startSeconds: trained, scheduleSeconds: seconds });
      rays += s.rays;
      samples += s.evaluated;
      steps = s.steps;
      trained = s.seconds;
      const e = await evaluateViews(nerf, test);
      curve.push({ seconds: round(trained, 1), steps, psnr: round(e.psnr, 2), load: round(loadavg()[0]!, 2) });
      console.log(`  ${name}: ${trained.toFixed(0)} s, ${steps} steps: test PSNR ${e.psnr.toFixed(2)} dB over ${test.length} views (eval ${e.seconds.toFixed(1)} s; ${Math.round(s.raysPerSecond)} rays/s this segment; load ${loadavg()[0]!.toFixed(2)})`);
    }
  } finally {
    await dispose();
  }
  const r = { device: name, steps, seconds: round(trained, 1), stepsPerSecond: round(steps / trained, 2), raysPerSecond: Math.round(rays / trained), samplesPerSecond: Math.round(samples / trained), curve };
  console.log(`${name}: ${r.stepsPerSecond} steps/s, ${r.raysPerSecond} rays/s, ${r.samplesPerSecond} samples/s; final test PSNR ${curve.at(-1)?.psnr} dB`);
  return r;
}

const views = await loadViews(dataDir);
const train = viewsOf(views, 'train');
const test = viewsOf(views, 'test', evalEvery);
const set: TrainingSet = trainingSet(train);
const fieldConfig = (): FieldConfig => {
  const config = configForScene({ ...views, pixelFootprint: pixelFootprint(views) });
  if (set.compositeBackground) config.render.background = set.compositeBackground;
  return config;
};
console.log(`dataset ${dataDir}: ${train.length} train views, ${test.length} test views (every ${evalEvery}th), ${views.views[0]!.image.width}x${views.views[0]!.image.height}; ${raysPerBatch} rays per step, seed ${seed}`);
console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model}), Node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const results: RunResult[] = [];
let gpu: GpuContext | undefined;
try {
  gpu = await acquireWebGpu({ requireHardware: args.device === 'auto' });
} catch (e) {
  if (args.device === 'webgpu') throw e;
  console.log(`no GPU run: ${(e as Error).message}`);
}
if (gpu) {
  const ctx = gpu;
  console.log(`WebGPU adapter: ${adapterName(ctx.adapter)}; limits: ${ctx.device.limits.maxStorageBufferBindingSize} B per storage binding`);
  const t = performance.now();
  results.push(await run(`webgpu (${ctx.adapter.software ? 'software' : 'hardware'})`, async () => {
    const g = await GpuNerf.create(ctx, fieldConfig(), { seed, raysPerBatch, unroll: args.unroll === undefined ? undefined : args.unroll === 'true' });
    g.setTrainingSet(set);
    console.log(`  kernels compiled and state uploaded in ${((performance.now() - t) / 1000).toFixed(1)} s (not counted)`);
    return { nerf: asTrainable(g), dispose: () => g.dispose() };
  }, budget, test));
}
if (cpuBudget > 0) {
  results.push(await run('cpu (onnxruntime MLPs, 1 thread)', async () => {
    const config = fieldConfig();
    const { evaluator } = await createFieldEvaluator(config, paramLayout(config), 'auto');
    const nerf = new Nerf(config, evaluator, { seed, raysPerBatch });
    nerf.setTrainingSet(set);
    return { nerf, dispose: () => evaluator.dispose?.() };
  }, cpuBudget, test));
}
if (results.length === 2) {
  const [g, c] = results as [RunResult, RunResult];
  console.log(`GPU/CPU: steps/s ${(g.stepsPerSecond / c.stepsPerSecond).toFixed(2)}x, rays/s ${(g.raysPerSecond / c.raysPerSecond).toFixed(2)}x, samples/s ${(g.samplesPerSecond / c.samplesPerSecond).toFixed(2)}x`);
  for (const m of g.curve) {
    const cm = c.curve.find((x) => x.seconds >= m.seconds - 1);
    if (cm) console.log(`  at ${m.seconds.toFixed(0)} s: GPU ${m.psnr} dB, CPU ${cm.psnr} dB`);
  }
}
if (args.json) writeFileSync(args.json, JSON.stringify({ data: dataDir, raysPerBatch, seed, results }, null, 2) + '\n');
gpu?.destroy();
process.exit(0);
