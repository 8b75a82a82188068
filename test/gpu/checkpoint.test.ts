// Checkpoints and the GPU: a GpuNerf writes the same .ckpt (parameters,
// occupancy, hull, Adam moments, RNG state) as the CPU Nerf; a GPU-trained
// checkpoint loads on the CPU and renders the same image; resuming on the GPU
// continues the run it was saved from (the same rays, losses and
// parameters as an uninterrupted run), and the CPU continues it as well.
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../runtime-gpu/nerf/checkpoint';
import { configForScene, paramLayout } from '../../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../../runtime-gpu/nerf/dataset';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { GpuNerf } from '../../runtime-gpu/webgpu/gpu-nerf';
import { sphereScene } from '../nerf/sphere-scene';
import { maxAbsDiff, testGpu } from './gpu-context';

const gpu = await testGpu();
const scene = sphereScene({ size: 24, train: 12, test: 2 });
const set = trainingSet(viewsOf(scene, 'train'));
const test = viewsOf(scene, 'test');
const config = configForScene({ ...scene, pixelFootprint: pixelFootprint(scene) }, { levels: 6, log2TableSize: 13 });
const options = { seed: 7, raysPerBatch: 128, sampleBudget: 128 * 24 };
const provenance = { steps: 0, seconds: 0, seed: 7, source: 'sphere' };
const LR = 2e-2;

/** Steps `from` to `to` (1-based) of a run with an occupancy update after step 4. */
async function steps(nerf: { trainStep(lr: number): Promise<{ loss: number; rays: number }>; updateOccupancy(): Promise<void> }, from: number, to: number) {
  const losses: number[] = [];
  for (let s = from; s <= to; s++) {
    losses.push((await nerf.trainStep(LR)).loss);
    if (s === 4) await nerf.updateOccupancy();
  }
  return losses;
}

/** Parameters that differ by more than 1e-4 (Adam moves a parameter whose gradient is ~0 by up to lr per step on one side only). */
function differing(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 1e-4) n++;
  return n;
}

describe.skipIf(!!gpu.skip)('GPU checkpoints', () => {
  it('a GPU-trained checkpoint round-trips the file format, loads on the CPU and renders the same image', async () => {
    const g = await GpuNerf.create(gpu.ctx!, config, options);
    g.setTrainingSet(set);
    await steps(g, 1, 6);
    const ckpt = decodeCheckpoint(encodeCheckpoint(await g.toCheckpoint(scene.bounds, provenance, { step: 6, seconds: 1, fingerprint: 'f' })));
    expect(ckpt.training).toMatchObject({ step: 6, adamStep: 6, fingerprint: 'f', rngState: g.rng.getState() });
    expect(ckpt.hull).toEqual(g.grid.hull);
    expect(maxAbsDiff(ckpt.field.params, await g.readParams()).diff).toBe(0);
    expect(ckpt.training!.adamV.some((x) => x > 0)).toBe(true);
    const cpu = Nerf.fromCheckpoint(ckpt, new CpuFieldEvaluator(config, paramLayout(config)), options);
    expect(cpu.grid.occupiedCount).toBe(g.grid.occupiedCount);
    const a = await g.renderCamera(test[0]!.camera), b = await cpu.renderCamera(test[0]!.camera);
    const rgb = maxAbsDiff(a.rgb, b.rgb).diff, acc = maxAbsDiff(a.accumulation, b.accumulation).diff;
    console.log(`GPU-trained checkpoint rendered on GPU vs CPU: RGB ${rgb.toExponential(2)}, accumulation ${acc.toExponential(2)}`);
    expect(rgb).toBeLessThan(1e-4);
    expect(acc).toBeLessThan(1e-4);
    g.dispose();
  }, 120_000);

  it('resuming on the GPU continues the run: steps 6-10 after a save at step 5 match an uninterrupted run; the CPU continues it too', async () => {
    const straight = await GpuNerf.create(gpu.ctx!, config, options);
    straight.setTrainingSet(set);
    const all = await steps(straight, 1, 10);
    const first = await GpuNerf.create(gpu.ctx!, config, options);
    first.setTrainingSet(set);
    await steps(first, 1, 5);
    const bytes = encodeCheckpoint(await first.toCheckpoint(scene.bounds, provenance, { step: 5, seconds: 1, fingerprint: 'f' }));
    first.dispose();
    const resumed = await GpuNerf.fromCheckpoint(gpu.ctx!, decodeCheckpoint(bytes), options);
    resumed.setTrainingSet(set);
    expect(resumed.adamStep).toBe(5);
    const rest = await steps(resumed, 6, 10);
    for (let i = 0; i < 5; i++) expect(Math.abs(rest[i]! - all[5 + i]!)).toBeLessThan(1e-3 * all[5 + i]!);
    const pa = await straight.readParams(), pb = await resumed.readParams();
    expect(differing(pa, pb)).toBeLessThan(1e-3 * pa.length);
    // The CPU resumes the GPU's checkpoint: the same rays (RNG state), so nearly the same losses.
    const cpu = Nerf.fromCheckpoint(decodeCheckpoint(bytes), new CpuFieldEvaluator(config, paramLayout(config)), options);
    cpu.setTrainingSet(set);
    const onCpu = await steps(cpu, 6, 10);
    console.log(`losses of steps 6-10: uninterrupted GPU ${all.slice(5).map((x) => x.toFixed(5)).join(' ')}; resumed GPU ${rest.map((x) => x.toFixed(5)).join(' ')}; resumed CPU ${onCpu.map((x) => x.toFixed(5)).join(' ')}`);
    for (let i = 0; i < 5; i++) expect(Math.abs(onCpu[i]! - all[5 + i]!)).toBeLessThan(1e-2 * all[5 + i]!);
    expect(differing(pa, cpu.params)).toBeLessThan(1e-2 * pa.length);
    straight.dispose();
    resumed.dispose();
  }, 180_000);
});
