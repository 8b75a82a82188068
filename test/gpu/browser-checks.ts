// Kernel checks against the CPU reference that run anywhere there is a
// `GPU` object: inside headless Chromium (bundled by browser.test.ts,
// navigator.gpu) and on a bare GPU machine (device-checks.ts, Dawn).
// Returns the measured errors; checkFailures() compares them with the
// tolerances (the same as the Node kernel tests'), including a contract-mode
// render (mip-NeRF 360 contraction, growing step, half the grid empty), and
// the feature head's forward and gradients (runtime-gpu/webgpu/distill, the
// distillation's training step) against the CPU FeatureHead.
import { configForScene, paramLayout } from '../../runtime-gpu/nerf/config';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { hashEncodeForward } from '../../runtime-gpu/nerf/hash-encoding';
import { Adam } from '../../runtime-gpu/nerf/adam';
import { initParams, Nerf } from '../../runtime-gpu/nerf/nerf';
import { lookAt } from '../../runtime-gpu/nerf/rays';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { shEncode } from '../../runtime-gpu/nerf/sh';
import { readFloat32, storageBuffer, submit } from '../../runtime-gpu/webgpu/compute';
import { acquireGpu, adapterName } from '../../runtime-gpu/webgpu/device';
import { GpuNerf } from '../../runtime-gpu/webgpu/gpu-nerf';
import { AdamKernel } from '../../runtime-gpu/webgpu/kernels/adam';
import { HashEncodingKernels } from '../../runtime-gpu/webgpu/kernels/hash-encoding';
import { MlpKernels } from '../../runtime-gpu/webgpu/kernels/mlp';
import { featureFieldConfig } from '../../runtime-gpu/distill/layout';
import { headParity } from './feature-head-parity';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Largest accepted value of each measured error (and the smallest accepted accumulation, so the render is not empty). */
export const TOLERANCES: Record<string, number> = {
  hashForward: 2e-5,
  sigmaRelative: 1e-4,
  rgb: 1e-5,
  hashGradRelative: 1e-4,
  weightGradRelative: 1e-4,
  adam: 1e-5,
  renderRgb: 1e-4,
  renderAccumulation: 1e-4,
  contractRgb: 1e-4,
  contractAccumulation: 1e-4,
  featureForward: 1e-5,
  featureGradRelative: 1e-5,
  /** Hash entries whose gradient is zero on one device only: must be 0. */
  featureHashMismatch: 0.5,
};

export function checkFailures(r: Record<string, number | string>): string[] {
  const out: string[] = [];
  for (const [k, tol] of Object.entries(TOLERANCES)) {
    const v = r[k];
    if (typeof v !== 'number' || !(v < tol)) out.push(`${k} = ${v} (tolerance ${tol})`);
  }
  if (!((r.renderMaxAccumulation as number) > 0.01)) out.push(`renderMaxAccumulation = ${r.renderMaxAccumulation}: the render is empty`);
  return out;
}

export async function runChecks(gpu: GPU | undefined = globalThis.navigator?.gpu, options: { unroll?: boolean } = {}): Promise<Record<string, number | string>> {
  const ctx = await acquireGpu(gpu);
  const out: Record<string, number | string> = { adapter: adapterName(ctx.adapter) };
  const config = configForScene({ bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, near: 0.5, far: 5, sceneKind: 'object' },
    { levels: 4, log2TableSize: 10, baseResolution: 4, maxResolution: 32, densityHidden: 16, colorHidden: 16 });
  const layout = paramLayout(config);
  const rng = new Rng(7);
  const params = initParams(layout, rng);
  for (let i = 0; i < layout.hashCount; i++) params[i] = rng.uniform(-1, 1);
  const n = 600, E = layout.encodingWidth;
  const positions = new Float32Array(3 * n).map(() => rng.next());
  const sh = new Float32Array(16 * n);
  for (let s = 0; s < n; s++) shEncode(0.6, 0.0, 0.8, sh, 16 * s);
  const dSigma = new Float32Array(n).map(() => rng.uniform(-0.1, 0.1)), dRgb = new Float32Array(3 * n).map(() => rng.uniform(-1, 1));

  // Hash forward, then the whole field forward and backward.
  const enc = new Float32Array(n * E);
  hashEncodeForward(params, layout.levels, positions, n, enc, E);
  const cpu = new CpuFieldEvaluator(config, layout);
  const sigma = new Float32Array(n), rgb = new Float32Array(3 * n), grad = new Float32Array(layout.count);
  cpu.query(params, positions, sh, n, sigma, rgb);
  cpu.backward(params, positions, sh, n, dSigma, dRgb, grad);
  const hash = await HashEncodingKernels.create(ctx, layout);
  const mlp = await MlpKernels.create(ctx, config, layout, options);
  const p = storageBuffer(ctx, params, 'params'), x = storageBuffer(ctx, positions, 'pos'), shB = storageBuffer(ctx, sh, 'sh');
  const encB = storageBuffer(ctx, n * E * 4, 'enc'), dEnc = storageBuffer(ctx, n * E * 4, 'denc');
  const sigB = storageBuffer(ctx, n * 4, 'sigma'), rgbB = storageBuffer(ctx, n * 12, 'rgb'), gradB = storageBuffer(ctx, layout.count * 4, 'grad');
  const encoder = ctx.device.createCommandEncoder();
  hash.forward(encoder, p, x, encB, n);
  mlp.recordQuery(encoder, p, encB, shB, sigB, rgbB, n);
  mlp.recordBackward(encoder, p, encB, shB, storageBuffer(ctx, dSigma, 'ds'), storageBuffer(ctx, dRgb, 'drgb'), dEnc, gradB, n);
  hash.backward(encoder, gradB, x, dEnc, n);
  await submit(ctx, encoder);
  out.hashForward = maxDiff(await readFloat32(ctx, encB, n * E), enc);
  const gs = await readFloat32(ctx, sigB, n);
  out.sigmaRelative = Math.max(...Array.from(gs, (v, i) => Math.abs(v - sigma[i]!) / sigma[i]!));
  out.rgb = maxDiff(await readFloat32(ctx, rgbB, 3 * n), rgb);
  const gg = await readFloat32(ctx, gradB, layout.count);
  out.hashGradRelative = maxDiff(gg.subarray(0, layout.hashCount), grad.subarray(0, layout.hashCount)) / maxAbs(grad.subarray(0, layout.hashCount));
  out.weightGradRelative = maxDiff(gg.subarray(layout.hashCount), grad.subarray(layout.hashCount)) / maxAbs(grad.subarray(layout.hashCount));

  // Adam, two steps.
  const adam = await AdamKernel.create(ctx);
  const cpuAdam = new Adam(layout.count);
  const cpuParams = params.slice();
  const m = storageBuffer(ctx, layout.count * 4, 'm'), v = storageBuffer(ctx, layout.count * 4, 'v'), g = storageBuffer(ctx, layout.count * 4, 'g'), pa = storageBuffer(ctx, params, 'pa');
  for (let step = 0; step < 2; step++) {
    const gr = new Float32Array(layout.count).map((_, i) => (i % 5 === step ? 0 : rng.uniform(-1, 1)));
    ctx.device.queue.writeBuffer(g, 0, gr);
    cpuAdam.nextStep();
    cpuAdam.update(cpuParams, gr, 0, layout.hashCount, 0.01, true);
    cpuAdam.update(cpuParams, gr, layout.hashCount, layout.count, 0.01, false);
    const e = ctx.device.createCommandEncoder();
    adam.record(e, pa, g, m, v, layout.count, layout.hashCount, 0.01, cpuAdam.step);
    await submit(ctx, e);
  }
  out.adam = maxDiff(await readFloat32(ctx, pa, layout.count), cpuParams);

  // GpuNerf vs Nerf: an untrained field renders the same image (march, field, compositing).
  const camera = lookAt([2, 1.5, 1], [0, 0, 0], [0, 0, 1], 24, 24, 26);
  const cpuNerf = new Nerf(config, cpu, { seed: 5 });
  const gpuNerf = await GpuNerf.create(ctx, config, { seed: 5, raysPerBatch: 256, ...options });
  const a = await cpuNerf.renderCamera(camera), b = await gpuNerf.renderCamera(camera);
  out.renderRgb = maxDiff(a.rgb, b.rgb);
  out.renderAccumulation = maxDiff(a.accumulation, b.accumulation);
  out.renderMaxAccumulation = maxAbs(a.accumulation);
  gpuNerf.dispose();
  // Contract mode (forward-facing / unbounded captures): the same untrained field with every other z-slab of the grid empty.
  const cc = configForScene({ bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, near: 0.5, far: 12, sceneKind: 'forward' },
    { levels: 4, log2TableSize: 10, baseResolution: 4, maxResolution: 32, densityHidden: 16, colorHidden: 16, marchSteps: 64 });
  const G = cc.occupancy.resolution;
  const occupied = new Uint8Array(G * G * G).map((_, i) => (Math.floor(i / (G * G)) % 2 === 0 ? 1 : 0));
  const state = { params: initParams(paramLayout(cc), new Rng(9)), occupancy: { density: new Float32Array(G * G * G), occupied } };
  const cpuC = new Nerf(cc, new CpuFieldEvaluator(cc, paramLayout(cc)), { seed: 9 }, state);
  const gpuC = await GpuNerf.create(ctx, cc, { seed: 9, raysPerBatch: 256, ...options }, state);
  const ca = await cpuC.renderCamera(camera), cb = await gpuC.renderCamera(camera);
  out.contractRgb = maxDiff(ca.rgb, cb.rgb);
  out.contractAccumulation = maxDiff(ca.accumulation, cb.accumulation);
  gpuC.dispose();
  // The feature head (distillation): 2 x 2 patches with aggregation, 40 cells.
  const fc = featureFieldConfig({ levels: 4, log2TableSize: 10, baseResolution: 4, maxResolution: 32, hidden: 8, patch: 2, aggChannels: 4 });
  fc.channels = 12;
  const fp = await headParity(ctx, fc, 40, 3);
  out.featureForward = fp.forward;
  out.featureGradRelative = Math.max(...Object.values(fp.blocks));
  out.featureHashMismatch = fp.hashMismatch;
  ctx.destroy();
  return out;
}

(globalThis as { runChecks?: typeof runChecks; checkFailures?: typeof checkFailures }).runChecks = runChecks;
(globalThis as { checkFailures?: typeof checkFailures }).checkFailures = checkFailures;
