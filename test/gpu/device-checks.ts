// The GPU checks as one script for a machine without vitest (the device
// machine, through bench/device/pack.sh): the kernel checks of
// browser-checks.ts on the Node adapter (both MLP code generators), then a
// short training run on GPU and CPU from one seed on the analytic sphere
// (test/gpu/gpu-nerf.test.ts's run, PSNRs must agree within 0.5 dB), then
// the GPU's training throughput on that scene at a larger batch. Prints
// every figure; exit status 1 when a check fails.
//   npx tsx test/gpu/device-checks.ts [--software]
// Unknown arguments are ignored (the device runner passes --data).

import { paramLayout, configForScene } from '../../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../../runtime-gpu/nerf/dataset';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { evaluateViews, trainNerf } from '../../runtime-gpu/nerf/trainer';
import { adapterName } from '../../runtime-gpu/webgpu/device';
import { GpuNerf } from '../../runtime-gpu/webgpu/gpu-nerf';
import { acquireNodeGpu, createNodeGpu } from '../../runtime-gpu/webgpu/node/gpu';
import { asTrainable } from '../../runtime-gpu/webgpu/train';
import { sphereScene } from '../nerf/sphere-scene';
import { checkFailures, runChecks } from './browser-checks';

const software = process.argv.includes('--software');
const failures: string[] = [];
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

// 1. Kernels vs the CPU reference, both MLP generators (runChecks makes and destroys its own device).
for (const unroll of [false, true]) {
  const { gpu } = createNodeGpu({ softwareFallback: software });
  const r = await runChecks(gpu, { unroll });
  const f = checkFailures(r);
  console.log(`kernels (${unroll ? 'unrolled' : 'looped'} MLPs) on ${r.adapter}: ${JSON.stringify(r)} -> ${f.length ? 'FAIL ' + f.join('; ') : 'ok'} [${elapsed()}]`);
  failures.push(...f.map((x) => `kernels (${unroll ? 'unrolled' : 'loops'}): ${x}`));
}

// 2. GPU vs CPU training from one seed.
const ctx = await acquireNodeGpu({ softwareFallback: software });
console.log(`adapter: ${adapterName(ctx.adapter)} (loader ${ctx.loader}; VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? ''})`);
const scene = sphereScene({ size: 32 });
const train = viewsOf(scene, 'train'), test = viewsOf(scene, 'test');
const config = configForScene({ ...scene, pixelFootprint: pixelFootprint(scene) }, { levels: 8, log2TableSize: 14 });
const options = { seed: 1, raysPerBatch: 128, sampleBudget: 128 * 24 };
const run = { steps: 80, maxSeconds: 0, learningRate: 3e-2, occupancyInterval: 40 };
const cpu = new Nerf(config, new CpuFieldEvaluator(config, paramLayout(config)), options);
cpu.setTrainingSet(trainingSet(train));
const g = await GpuNerf.create(ctx, config, options);
g.setTrainingSet(trainingSet(train));
await trainNerf(cpu, run);
const gpuRun = await trainNerf(asTrainable(g), run);
const psnrCpu = (await evaluateViews(cpu, test)).psnr, psnrGpu = (await evaluateViews(asTrainable(g), test)).psnr;
const parity = Math.abs(psnrGpu - psnrCpu) < 0.5 && psnrGpu > 23;
console.log(`training parity (sphere, 80 steps of 128 rays): CPU ${psnrCpu.toFixed(2)} dB, GPU ${psnrGpu.toFixed(2)} dB (${gpuRun.seconds.toFixed(2)} s on the GPU) -> ${parity ? 'ok' : 'FAIL'} [${elapsed()}]`);
if (!parity) failures.push(`training parity: CPU ${psnrCpu.toFixed(2)} dB vs GPU ${psnrGpu.toFixed(2)} dB`);
g.dispose();

// 3. Throughput on the sphere at lego-like batch sizes (figures only; skipped on software adapters, which take minutes per figure).
for (const rays of ctx.adapter.software ? [] : [2048, 8192]) {
  const h = await GpuNerf.create(ctx, config, { seed: 2, raysPerBatch: rays });
  h.setTrainingSet(trainingSet(train));
  await trainNerf(asTrainable(h), { steps: 20, maxSeconds: 0, learningRate: 1e-2 });
  const s = await trainNerf(asTrainable(h), { steps: 220, maxSeconds: 0, learningRate: 1e-2, startStep: 20 });
  const dt = s.seconds;
  console.log(`throughput, ${rays} rays per step: ${(200 / dt).toFixed(1)} steps/s, ${Math.round(s.rays / dt)} rays/s, ${Math.round(s.evaluated / dt)} samples/s [${elapsed()}]`);
  h.dispose();
}

console.log(failures.length ? `FAILED:\n  ${failures.join('\n  ')}` : 'all GPU checks passed');
ctx.destroy();
process.exit(failures.length ? 1 : 0);
