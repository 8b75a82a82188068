// The GPU checks as one script for a machine without vitest (the device
// machine, through bench/device/pack.sh): the kernel checks of
// browser-checks.ts on the Node adapter (both MLP code generators), then a
// short training run on GPU and CPU from one seed on the analytic sphere
// (test/gpu/gpu-nerf.test.ts's run, PSNRs must agree within 0.5 dB), the
// contract-mode checks of contract.test.ts on a generated LLFF capture
// (render parity, training parity), a GPU checkpoint rendered on the CPU,
// then the GPU's training throughput on the sphere at larger batches, then
// feature distillation (feature-distill-checks.ts: the head's forward and
// gradients at the default config vs the CPU FeatureHead, a same-seed
// 60-step run, steps/s of the default head on GPU and CPU). Prints
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
import { decodeCheckpoint, encodeCheckpoint } from '../../runtime-gpu/nerf/checkpoint';
import { sphereScene } from '../nerf/sphere-scene';
import { checkFailures, runChecks } from './browser-checks';
import { featureDistillChecks } from './feature-distill-checks';
import { llffCapture } from './llff-capture';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

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

// 2b. Contract mode (generated LLFF capture, 48 x 36): a partly trained field renders the same; 40 steps from one seed within 0.5 dB.
{
  const views = await llffCapture();
  const ltrain = views.views.filter((v) => v.split === 'train'), ltest = views.views.filter((v) => v.split === 'test');
  const lconfig = configForScene({ bounds: views.bounds, near: views.near, far: views.far, sceneKind: views.sceneKind, pixelFootprint: pixelFootprint(views) }, { levels: 8, log2TableSize: 14 });
  const ref = new Nerf(lconfig, new CpuFieldEvaluator(lconfig, paramLayout(lconfig)), { seed: 5, raysPerBatch: 256 });
  ref.setTrainingSet(trainingSet(ltrain));
  await trainNerf(ref, { steps: 40, maxSeconds: 0, learningRate: 3e-2 });
  const field = ref.toValue(views.bounds, { steps: 40, seconds: 0, seed: 5, source: views.source });
  const lg = await GpuNerf.fromValue(ctx, field);
  const a = await ref.renderCamera(ltest[0]!.camera), b = await lg.renderCamera(ltest[0]!.camera);
  const rgb = maxDiff(a.rgb, b.rgb), depth = maxDiff(a.depth, b.depth);
  const renderOk = rgb < 1e-3 && depth < 1e-3 * lconfig.render.far;
  console.log(`contract-mode render (LLFF, CPU-trained 40 steps): RGB max diff ${rgb.toExponential(2)}, depth ${depth.toExponential(2)} -> ${renderOk ? 'ok' : 'FAIL'} [${elapsed()}]`);
  if (!renderOk) failures.push(`contract-mode render: RGB ${rgb} depth ${depth}`);
  lg.dispose();
  const lopt = { seed: 1, raysPerBatch: 64 };
  const lrun = { steps: 40, maxSeconds: 0, learningRate: 3e-2, occupancyInterval: 16 };
  const lcpu = new Nerf(lconfig, new CpuFieldEvaluator(lconfig, paramLayout(lconfig)), lopt);
  lcpu.setTrainingSet(trainingSet(ltrain));
  const lgpu = await GpuNerf.create(ctx, lconfig, lopt);
  lgpu.setTrainingSet(trainingSet(ltrain));
  await trainNerf(lcpu, lrun);
  await trainNerf(asTrainable(lgpu), lrun);
  const pc = (await evaluateViews(lcpu, ltest)).psnr, pg = (await evaluateViews(asTrainable(lgpu), ltest)).psnr;
  const ok = Math.abs(pc - pg) < 0.5 && pg > 18;
  console.log(`contract-mode training parity (LLFF, 40 steps of 64 rays): CPU ${pc.toFixed(2)} dB, GPU ${pg.toFixed(2)} dB -> ${ok ? 'ok' : 'FAIL'} [${elapsed()}]`);
  if (!ok) failures.push(`contract-mode parity: CPU ${pc.toFixed(2)} dB vs GPU ${pg.toFixed(2)} dB`);
  // 2c. The GPU's checkpoint (with Adam state) loads on the CPU and renders the same image.
  const ckpt = decodeCheckpoint(encodeCheckpoint(await lgpu.toCheckpoint(views.bounds, { steps: 40, seconds: 0, seed: 1, source: views.source }, { step: 40, seconds: 0, fingerprint: 'device-checks' })));
  const back = Nerf.fromCheckpoint(ckpt, new CpuFieldEvaluator(lconfig, paramLayout(lconfig)), lopt);
  const c1 = await lgpu.renderCamera(ltest[1]!.camera), c2 = await back.renderCamera(ltest[1]!.camera);
  const ckptDiff = maxDiff(c1.rgb, c2.rgb);
  const ckptOk = ckptDiff < 1e-3 && ckpt.training!.adamStep === 40;
  console.log(`GPU checkpoint rendered on the CPU: RGB max diff ${ckptDiff.toExponential(2)} -> ${ckptOk ? 'ok' : 'FAIL'} [${elapsed()}]`);
  if (!ckptOk) failures.push(`GPU checkpoint on the CPU: RGB ${ckptDiff}`);
  lgpu.dispose();
}

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

// 4. Feature distillation (FeatureDistiller's training step) on the GPU vs the CPU head.
failures.push(...(await featureDistillChecks(ctx, (line) => console.log(`${line} [${elapsed()}]`))));

console.log(failures.length ? `FAILED:\n  ${failures.join('\n  ')}` : 'all GPU checks passed');
ctx.destroy();
process.exit(failures.length ? 1 : 0);
