// Leave-one-out tuning of the view bank's weighting (runtime-gpu/distill/view-bank.ts,
// tuneViewBank): its error for a setting is the error of rendering the
// left-out view from the other bank views with that setting, and it picks
// the setting the data calls for (nearest views when the embedding changes
// fast with the viewing direction, many views when views disagree at random).

import { describe, expect, it } from 'vitest';
import type { Camera } from '../../engine/values';
import { cellGrid, EMBED_CELLS, EMBED_SIDE } from '../../runtime-gpu/distill/cells';
import { FeatureDistillation, type DistillTarget } from '../../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../../runtime-gpu/distill/layout';
import { patchSurface, SurfaceSampler } from '../../runtime-gpu/distill/surface';
import { blendViews, tuneViewBank, type ViewBank } from '../../runtime-gpu/distill/view-bank';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { generatedScene, sdfRadianceField } from './scene';

const scene = generatedScene({ views: 16, size: 64, seed: 3 });
const field = sdfRadianceField(scene.layout, 48);
const train = scene.views.views.filter((v) => v.split === 'train');
const K = 256;
const config = featureFieldConfig({ patch: 1, aggChannels: 0, hidden: 8, levels: 4, log2TableSize: 12 });

/** The camera's viewing direction (-Z of camera-to-world). */
const axis = (c: Camera) => [-c.cameraToWorld[2]!, -c.cameraToWorld[6]!, -c.cameraToWorld[10]!];

/** Targets whose every cell depends only on the view's direction, and fast (nearest views predict best). */
function directional(): DistillTarget[] {
  const rng = new Rng(7);
  const dirs = Array.from({ length: K }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)]);
  return train.map((v) => {
    const a = axis(v.camera), e = new Float32Array(K * EMBED_CELLS);
    for (let k = 0; k < K; k++) e.fill(Math.sin(6 * (dirs[k]![0]! * a[0]! + dirs[k]![1]! * a[1]! + dirs[k]![2]! * a[2]!)), k * EMBED_CELLS, (k + 1) * EMBED_CELLS);
    return { name: v.name, camera: v.camera, embedding: e };
  });
}

/** Targets = a shared value per cell plus independent noise per view (averaging many views predicts best). */
function noisy(): DistillTarget[] {
  const rng = new Rng(9);
  const shared = Float32Array.from({ length: K * EMBED_CELLS }, () => rng.uniform(-0.1, 0.1));
  return train.map((v) => ({ name: v.name, camera: v.camera, embedding: shared.map((s) => s + rng.uniform(-1, 1)) }));
}

async function bankOf(targets: DistillTarget[]): Promise<ViewBank> {
  const d = new FeatureDistillation(config, field, 1);
  await d.prepare(targets, { prior: false, viewBank: { background: true } });
  return d.toValue('synthetic', { steps: 0, seconds: 0, seed: 1, views: [], finalLoss: 0 }).viewBank!;
}

describe('view bank: leave-one-out tuning', () => {
  it("scores a setting by rendering the left-out view from the other views (blendViews), never from itself", async () => {
    const targets = directional();
    const bank = await bankOf(targets);
    const t = 3;
    const setting = { sharpness: 20, maxViews: 3 };
    const tuned = tuneViewBank(bank, null, K, { sharpness: [setting.sharpness], maxViews: [setting.maxViews], views: [t] });
    // The same view rendered by blendViews from a bank without it, on its centre-marched surface.
    const keep = bank.cameras.map((_, v) => v).filter((v) => v !== t);
    const without: ViewBank = {
      ...bank,
      ...setting,
      cameras: keep.map((v) => bank.cameras[v]!),
      embeddings: Float32Array.from(keep.flatMap((v) => [...bank.embeddings.subarray(v * K * EMBED_CELLS, (v + 1) * K * EMBED_CELLS)])),
      depth: Float32Array.from(keep.flatMap((v) => [...bank.depth.subarray(v * EMBED_CELLS, (v + 1) * EMBED_CELLS)])),
    };
    const camera = bank.cameras[t]!, grid = cellGrid(camera.width, camera.height);
    const { centres } = await patchSurface(new SurfaceSampler(field, config.surface), camera, grid, 1);
    const out = new Float32Array(K * EMBED_CELLS);
    const blended = blendViews(without, null, camera, grid, centres.points, centres.hit, out, K);
    let sse = 0, n = 0;
    for (let c = 0; c < grid.cols * grid.rows; c++) {
      if (!blended[c]) continue;
      const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
      for (let k = 0; k < K; k++) sse += (out[k * EMBED_CELLS + cell]! - targets[t]!.embedding[k * EMBED_CELLS + cell]!) ** 2 / K;
      n++;
    }
    expect(n).toBeGreaterThan(1000);
    expect(tuned.cells).toBe(n);
    expect(tuned.best.mse).toBeGreaterThan(0.01); // not the view itself (that would be 0)
    expect(Math.abs(tuned.best.mse - sse / n)).toBeLessThan(1e-4 * (sse / n));
  }, 60_000);

  it('picks the nearest views when embeddings change fast with direction, many views when views disagree at random', async () => {
    const fast = tuneViewBank(await bankOf(directional()), null, K, { cellStride: 7 });
    const noise = tuneViewBank(await bankOf(noisy()), null, K, { cellStride: 7 });
    expect(fast.table).toHaveLength(36);
    expect(fast.best.mse).toBe(Math.min(...fast.table.map((s) => s.mse)));
    // Fast: one or two views, or weights so sharp that the nearest dominates.
    expect(fast.best.maxViews <= 2 || fast.best.sharpness >= 50).toBe(true);
    const fastAll = fast.table.find((s) => s.sharpness === 5 && s.maxViews === 8)!;
    expect(fast.best.mse).toBeLessThan(0.9 * fastAll.mse);
    // Noise: as many views as the grid allows, weighted nearly equally.
    expect(noise.best.maxViews).toBe(8);
    expect(noise.best.sharpness).toBeLessThanOrEqual(10);
    const nearestOnly = noise.table.find((s) => s.sharpness === 20 && s.maxViews === 1)!;
    expect(noise.best.mse).toBeLessThan(0.8 * nearestOnly.mse);
  }, 120_000);

  it('prepare({ viewBank: { tune } }) sets the bank to the best setting; bad input is named', async () => {
    const d = new FeatureDistillation(config, field, 1);
    await d.prepare(noisy(), { prior: false, viewBank: { tune: { cellStride: 11, maxLeftOut: 4 } } });
    const bank = d.toValue('synthetic', { steps: 0, seconds: 0, seed: 1, views: [], finalLoss: 0 }).viewBank!;
    expect(d.bankTuning).not.toBeNull();
    expect(d.bankTuning!.views).toHaveLength(4);
    expect(bank.maxViews).toBe(d.bankTuning!.best.maxViews);
    expect(bank.sharpness).toBe(d.bankTuning!.best.sharpness);
    expect(() => tuneViewBank(bank, null, K, { views: [99] })).toThrow(/view 99 is not in the bank/);
    expect(() => tuneViewBank({ ...bank, cameras: bank.cameras.slice(0, 1) }, null, K)).toThrow(/at least 2 bank views/);
  }, 60_000);
});
