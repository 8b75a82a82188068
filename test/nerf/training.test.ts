// Training end to end on the analytic sphere scene: it learns (test PSNR far
// above the mean-colour baseline), it is deterministic for a seed, it stops
// on time and on abort, and checkpoints round-trip exactly.
import { describe, expect, it } from 'vitest';
import { registerOrtNode } from '../../runtime-gpu/backends/ort-node';
import { decodeCheckpoint, encodeCheckpoint } from '../../runtime-gpu/nerf/checkpoint';
import { configForScene, paramLayout, type FieldConfig } from '../../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../../runtime-gpu/nerf/dataset';
import { createFieldEvaluator, type EvaluatorChoice } from '../../runtime-gpu/nerf/evaluators';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { registerNerfNode } from '../../runtime-gpu/nerf/node';
import { evaluateViews, psnrFromMse, trainNerf } from '../../runtime-gpu/nerf/trainer';
import { sphereScene } from './sphere-scene';

registerOrtNode();
registerNerfNode();

const scene = sphereScene({ size: 32 });
const train = viewsOf(scene, 'train');
const test = viewsOf(scene, 'test');

function smallFieldConfig(): FieldConfig {
  return configForScene({ ...scene, pixelFootprint: pixelFootprint(scene) }, { levels: 8, log2TableSize: 14 });
}

async function newNerf(seed: number, choice: EvaluatorChoice = 'auto', raysPerBatch = 512) {
  const config = smallFieldConfig();
  const { evaluator } = await createFieldEvaluator(config, paramLayout(config), choice);
  const nerf = new Nerf(config, evaluator, { seed, raysPerBatch });
  nerf.setTrainingSet(trainingSet(train));
  return nerf;
}

function meanColourPsnr(): number {
  const mean = [0, 0, 0];
  let n = 0;
  for (const v of train) for (let p = 0; p < v.image.data.length; p += 3, n++) for (let c = 0; c < 3; c++) mean[c] += v.image.data[p + c]! / 255;
  let se = 0, m = 0;
  for (const v of test) for (let p = 0; p < v.image.data.length; p += 3) for (let c = 0; c < 3; c++, m++) se += (mean[c]! / n - v.image.data[p + c]! / 255) ** 2;
  return psnrFromMse(se / m);
}

describe('NeRF training on an analytic sphere', () => {
  it('raises test PSNR far above the mean-colour baseline within 120 steps', async () => {
    const nerf = await newNerf(1);
    const before = await evaluateViews(nerf, test);
    const summary = await trainNerf(nerf, { steps: 120, maxSeconds: 0, learningRate: 1e-2 });
    expect(summary.steps).toBe(120);
    const after = await evaluateViews(nerf, test);
    const baseline = meanColourPsnr();
    expect(baseline).toBeLessThan(14);
    expect(after.psnr).toBeGreaterThan(baseline + 12);
    expect(after.psnr).toBeGreaterThan(before.psnr + 10);
    // The occupancy grid carved the box down to about the sphere (6.5% of the box's volume).
    expect(nerf.grid.occupiedCount / nerf.grid.cells).toBeLessThan(0.15);
  }, 60_000);

  it('is deterministic for a seed: identical parameters after 12 steps (reference kernels and onnxruntime)', async () => {
    for (const choice of ['reference', 'onnxruntime'] as const) {
      const a = await newNerf(7, choice, 256), b = await newNerf(7, choice, 256), c = await newNerf(8, choice, 256);
      for (const n of [a, b, c]) await trainNerf(n, { steps: 12, maxSeconds: 0, learningRate: 1e-2, occupancyInterval: 4 });
      expect(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer)), choice).toBe(true);
      expect(Buffer.from(a.grid.occupied).equals(Buffer.from(b.grid.occupied))).toBe(true);
      expect(Buffer.from(a.params.buffer).equals(Buffer.from(c.params.buffer))).toBe(false);
    }
  }, 60_000);

  it('onnxruntime and the TypeScript reference train to the same parameters within float tolerance', async () => {
    const a = await newNerf(3, 'reference', 256), b = await newNerf(3, 'onnxruntime', 256);
    for (const n of [a, b]) await trainNerf(n, { steps: 3, maxSeconds: 0, learningRate: 1e-2 });
    let maxDiff = 0;
    for (let i = 0; i < a.params.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.params[i]! - b.params[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
  }, 30_000);

  it('maxSeconds stops training on time, and an abort stops it within a step', async () => {
    const nerf = await newNerf(2);
    const t0 = performance.now();
    const summary = await trainNerf(nerf, { steps: 0, maxSeconds: 1.5, learningRate: 1e-2 });
    const wall = (performance.now() - t0) / 1000;
    expect(summary.stoppedBy).toBe('time');
    expect(summary.seconds).toBeGreaterThanOrEqual(1.5);
    expect(wall).toBeLessThan(4);

    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop now')), 500);
    const t1 = performance.now();
    await expect(trainNerf(nerf, { steps: 100000, maxSeconds: 0, learningRate: 1e-2, signal: controller.signal })).rejects.toThrow('stop now');
    expect((performance.now() - t1) / 1000).toBeLessThan(2);
  }, 30_000);

  it('a checkpoint round trip renders identical pixels and resumes the exact trajectory', async () => {
    const a = await newNerf(5);
    await trainNerf(a, { steps: 20, maxSeconds: 0, learningRate: 1e-2, occupancyInterval: 8 });
    const bytes = encodeCheckpoint(a.toCheckpoint(scene.bounds, { steps: 20, seconds: 1, seed: 5, source: 'sphere' }, { step: 20, seconds: 1, fingerprint: 'x' }));
    const ckpt = decodeCheckpoint(bytes);
    expect(ckpt.field.config).toEqual(a.config);
    expect(ckpt.training!.step).toBe(20);
    const { evaluator } = await createFieldEvaluator(a.config, paramLayout(a.config));
    const b = Nerf.fromCheckpoint(ckpt, evaluator, { seed: 5, raysPerBatch: 512 });
    b.setTrainingSet(trainingSet(train));
    const ra = await a.renderCamera(test[0]!.camera), rb = await b.renderCamera(test[0]!.camera);
    expect(Buffer.from(rb.rgb.buffer).equals(Buffer.from(ra.rgb.buffer))).toBe(true);
    expect(Buffer.from(rb.depth.buffer).equals(Buffer.from(ra.depth.buffer))).toBe(true);
    // Ten more steps from the checkpoint equal ten more steps of the original.
    await trainNerf(a, { steps: 30, maxSeconds: 0, learningRate: 1e-2, occupancyInterval: 8, startStep: 20 });
    await trainNerf(b, { steps: 30, maxSeconds: 0, learningRate: 1e-2, occupancyInterval: 8, startStep: 20 });
    expect(Buffer.from(b.params.buffer).equals(Buffer.from(a.params.buffer))).toBe(true);
    // A damaged file is refused with a clear message.
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 100), 'cut.ckpt')).toThrow(/cut.ckpt is truncated/);
    expect(() => decodeCheckpoint(new Uint8Array(64), 'zero.ckpt')).toThrow(/not a samnerf field checkpoint/);
  }, 30_000);
});

describe('training with a worker-thread shard (Node adapter)', () => {
  it('splits each step with a worker: deterministic for a seed, and it learns', async () => {
    const { attachWorkerShards } = await import('../../runtime-gpu/nerf/node/shard-pool');
    const make = async () => {
      const config = smallFieldConfig();
      const { evaluator } = await createFieldEvaluator(config, paramLayout(config), 'onnxruntime');
      const nerf = new Nerf(config, evaluator, { seed: 9, raysPerBatch: 512, shared: true });
      const set = trainingSet(train);
      nerf.setTrainingSet(set);
      const shards = await attachWorkerShards(nerf, set, 1, 'onnxruntime');
      return { nerf, shards };
    };
    const a = await make(), b = await make();
    try {
      for (const { nerf } of [a, b]) await trainNerf(nerf, { steps: 60, maxSeconds: 0, learningRate: 1e-2 });
      expect(Buffer.from(a.nerf.params.buffer).equals(Buffer.from(b.nerf.params.buffer))).toBe(true);
      const result = await evaluateViews(a.nerf, test);
      expect(result.psnr).toBeGreaterThan(meanColourPsnr() + 8);
    } finally {
      for (const s of [...a.shards, ...b.shards]) await s.dispose();
    }
  }, 60_000);
});

describe('contracted space (unbounded and forward-facing captures)', () => {
  it('trains on a scene without alpha in contract mode', async () => {
    const unbounded: typeof scene = { ...scene, sceneKind: 'unbounded', views: scene.views.map(({ alpha: _alpha, ...v }) => v) };
    const config = configForScene({ ...unbounded, pixelFootprint: pixelFootprint(unbounded) }, { levels: 8, log2TableSize: 14 });
    expect(config.scene.mode).toBe('contract');
    const { evaluator } = await createFieldEvaluator(config, paramLayout(config));
    const nerf = new Nerf(config, evaluator, { seed: 4, raysPerBatch: 512 });
    nerf.setTrainingSet(trainingSet(viewsOf(unbounded, 'train')));
    expect(nerf.grid.hull).toBeUndefined();
    await trainNerf(nerf, { steps: 150, maxSeconds: 0, learningRate: 2e-2 });
    const result = await evaluateViews(nerf, viewsOf(unbounded, 'test'));
    expect(result.psnr).toBeGreaterThan(meanColourPsnr() + 8);
  }, 60_000);
});
