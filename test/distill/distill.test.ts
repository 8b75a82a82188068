// Distillation without SAM models: synthetic targets on the generated
// scene's exact geometry. The geometry stays frozen, the loss falls,
// surfaces are where the scene is, padding and checkpoints round-trip.

import { describe, expect, it } from 'vitest';
import type { Camera } from '../../engine/values';
import { cellGrid, EMBED_CELLS, gridRays } from '../../runtime-gpu/distill/cells';
import { decodeFeatureCheckpoint, encodeFeatureCheckpoint } from '../../runtime-gpu/distill/checkpoint';
import { FeatureDistillation, FeatureFieldRenderer, type DistillTarget } from '../../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../../runtime-gpu/distill/layout';
import { patchSurface, SurfaceSampler, surfacePoints } from '../../runtime-gpu/distill/surface';
import { registerOrtNode } from '../../runtime-gpu/backends/ort-node';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { syntheticTarget } from '../helpers/synthetic-target';
import { generatedScene, sdfRadianceField } from './scene';

const scene = generatedScene({ views: 9, size: 64, seed: 3 });
const field = sdfRadianceField(scene.layout, 48);
const trainViews = scene.views.views.filter((v) => v.split === 'train').slice(0, 3);

/** Bitwise equality of typed arrays (vitest's deep equality is slow on millions of elements). */
function same(a: Float32Array | Uint8Array | null | undefined, b: Float32Array | Uint8Array | null | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

describe('feature distillation (synthetic targets, exact geometry)', () => {
  it('never changes the radiance field, and the loss falls', async () => {
    const params0 = field.params.slice(), occ0 = field.occupancy.occupied.slice(), dens0 = field.occupancy.density.slice();
    const d = new FeatureDistillation(featureFieldConfig({ patch: 2, aggChannels: 8, hidden: 16, levels: 8, log2TableSize: 14 }), field, 1);
    await d.prepare(trainViews.map(syntheticTarget), { prior: false });
    const first: number[] = [], last: number[] = [];
    for (let s = 0; s < 160; s++) {
      const { loss } = d.step(5e-3, 32);
      if (s < 10) first.push(loss);
      if (s >= 150) last.push(loss);
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(last)).toBeLessThan(0.5 * mean(first));
    expect(same(field.params, params0)).toBe(true);
    expect(same(field.occupancy.occupied, occ0)).toBe(true);
    expect(same(field.occupancy.density, dens0)).toBe(true);
    expect(() => d.sampler['densityOnly'].backward(field.params, new Float32Array(3), new Float32Array(16), 1, new Float32Array(1), new Float32Array(3), new Float32Array(1))).toThrow(/frozen/);
  }, 60_000);

  it('reads features at the surface: sample depths match the ground-truth depth', async () => {
    const view = trainViews[0]!;
    const sampler = new SurfaceSampler(field, featureFieldConfig().surface);
    const grid = cellGrid(view.camera.width, view.camera.height);
    const { rays } = gridRays(view.camera, grid, 1);
    const s = await sampler.sample(rays, grid.cols * grid.rows);
    // Normalised position back to world (box mode: centre 0, halfSize 1.5), then planar depth.
    const m = view.camera.cameraToWorld;
    let err = 0, n = 0, background = 0;
    for (let y = 0; y < grid.rows; y++)
      for (let x = 0; x < grid.cols; x++) {
        const r = y * grid.cols + x;
        const gt = view.depth![y * view.camera.width + x]!; // 64 px image: one cell per pixel
        if (gt === 0) {
          background += s.acc[r]! < 0.5 ? 1 : 0;
          continue;
        }
        let px = 0, py = 0, pz = 0;
        for (let q = s.offsets[r]!; q < s.offsets[r + 1]!; q++) {
          const w = s.weights[q]!;
          px += w * (s.positions[3 * q]! - 0.5) * 3;
          py += w * (s.positions[3 * q + 1]! - 0.5) * 3;
          pz += w * (s.positions[3 * q + 2]! - 0.5) * 3;
        }
        const depth = -((px - m[3]!) * m[2]! + (py - m[7]!) * m[6]! + (pz - m[11]!) * m[10]!);
        err += Math.abs(depth - gt);
        n++;
      }
    expect(n).toBeGreaterThan(1000);
    expect(err / n).toBeLessThan(0.06);
    expect(background).toBeGreaterThan(100);
  }, 60_000);

  it('round-trips a checkpoint and renders padding for another aspect ratio', async () => {
    // Training views of 64 x 48: rows 48 of the grid are padding.
    const crop = (v: (typeof trainViews)[number]): DistillTarget => {
      const camera: Camera = { ...v.camera, height: 48, cy: 24 };
      const t = syntheticTarget(v);
      for (let y = 48; y < 64; y++) for (let x = 0; x < 64; x++) for (let k = 0; k < 256; k++) t.embedding[k * EMBED_CELLS + y * 64 + x] = 0.3 + 0.001 * k;
      return { ...t, camera };
    };
    expect(cellGrid(64, 48)).toMatchObject({ cols: 64, rows: 48, resizedWidth: 1024, resizedHeight: 768 });
    const d = new FeatureDistillation(featureFieldConfig({ patch: 1, aggChannels: 0, hidden: 8, levels: 4, log2TableSize: 12 }), field, 2);
    await d.prepare(trainViews.map(crop));
    for (let s = 0; s < 5; s++) d.step(1e-2, 16);
    const value = d.toValue('synthetic', { steps: 5, seconds: 0, seed: 2, views: trainViews.map((v) => v.name), finalLoss: 0 });
    const back = decodeFeatureCheckpoint(encodeFeatureCheckpoint(value));
    expect(back.config).toEqual(value.config);
    expect(same(back.params, value.params)).toBe(true);
    expect(value.prior).not.toBeNull();
    expect(same(back.prior, value.prior)).toBe(true);
    expect(same(back.padding?.embedding, value.padding?.embedding)).toBe(true);
    expect(same(back.padding?.observed, value.padding?.observed)).toBe(true);
    expect(same(back.geometry.params, field.params)).toBe(true);
    expect(same(back.geometry.occupancy.occupied, field.occupancy.occupied)).toBe(true);
    expect(back.provenance).toEqual(value.provenance);
    expect(value.viewBank?.cameras).toHaveLength(trainViews.length);
    expect(back.viewBank?.cameras).toEqual(value.viewBank?.cameras);
    expect(back.viewBank?.background).toEqual(value.viewBank?.background);
    expect(value.viewBank?.background).toBeDefined();
    expect(same(back.viewBank?.embeddings, value.viewBank?.embeddings)).toBe(true);
    expect(same(back.viewBank?.depth, value.viewBank?.depth)).toBe(true);
    const camera: Camera = { ...trainViews[0]!.camera, height: 48, cy: 24 };
    const a = await new FeatureFieldRenderer(value).render(camera);
    const b = await new FeatureFieldRenderer(back).render(camera);
    expect(same(b.embedding, a.embedding)).toBe(true);
    // Padding rows carry the training views' padding embedding, not zeros.
    expect(a.embedding[5 * EMBED_CELLS + 50 * 64 + 10]).toBeCloseTo(0.305, 5);
    expect(() => decodeFeatureCheckpoint(new Uint8Array(16))).toThrow(/SNFF/);
  }, 60_000);
});

describe('rendering fast: centre placement, onnxruntime head, view bank', () => {
  it("places patch rays on the surface like full marching, marching a fraction of the rays", async () => {
    const view = trainViews[1]!;
    const sampler = new SurfaceSampler(field, featureFieldConfig().surface);
    const grid = cellGrid(view.camera.width, view.camera.height);
    const P = 4;
    const full = surfacePoints(await sampler.sample(gridRays(view.camera, grid, P).rays, grid.cols * grid.rows * P * P));
    const fast = await patchSurface(sampler, view.camera, grid, P);
    expect(fast.rays).toBe(full.rays);
    let both = 0, close = 0, accOff = 0;
    for (let r = 0; r < full.rays; r++) {
      if (Math.abs(full.acc[r]! - fast.acc[r]!) > 0.5) accOff++;
      const a = full.offsets[r]!, b = fast.offsets[r]!;
      if (full.offsets[r + 1] === a || fast.offsets[r + 1] === b) continue;
      both++;
      const d = Math.hypot(full.positions[3 * a]! - fast.positions[3 * b]!, full.positions[3 * a + 1]! - fast.positions[3 * b + 1]!, full.positions[3 * a + 2]! - fast.positions[3 * b + 2]!);
      if (d < 0.005) close++; // 0.015 world units (the cube is 3 wide)
    }
    expect(both).toBeGreaterThan(5000);
    expect(close / both).toBeGreaterThan(0.98);
    expect(accOff / full.rays).toBeLessThan(0.005);
    expect(fast.stats.marchedRays).toBeLessThan(0.6 * full.rays);
    expect(fast.centres.hit.reduce((a, b) => a + b, 0)).toBeGreaterThan(300);
  }, 60_000);

  it('the onnxruntime head renders what the TypeScript head renders', async () => {
    registerOrtNode();
    const d = new FeatureDistillation(featureFieldConfig({ patch: 3, aggChannels: 6, hidden: 12, levels: 6, log2TableSize: 12 }), field, 4);
    const rng = new Rng(3);
    for (let i = 0; i < d.params.length; i++) d.params[i]! += rng.uniform(-0.05, 0.05);
    await d.prepare(trainViews.map(syntheticTarget), { viewBank: false });
    const value = d.toValue('synthetic', { steps: 0, seconds: 0, seed: 4, views: [], finalLoss: 0 });
    const r = new FeatureFieldRenderer(value);
    const cpu = await r.render(scene.views.views[0]!.camera, { head: 'cpu' });
    const ort = await r.render(scene.views.views[0]!.camera, { head: 'onnxruntime' });
    expect(ort.head).toBe('onnxruntime');
    expect(cpu.head).toBe('cpu');
    expect(cpu.cells.field).toBeGreaterThan(500);
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < cpu.embedding.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(cpu.embedding[i]! - ort.embedding[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(cpu.embedding[i]!));
    }
    expect(maxAbs).toBeGreaterThan(0.01);
    expect(maxDiff).toBeLessThan(1e-5 * Math.max(1, maxAbs));
  }, 60_000);

  it('the view bank reproduces a training view at its own camera, only where the surface is seen unless the background plane is on', async () => {
    const d = new FeatureDistillation(featureFieldConfig({ patch: 2, aggChannels: 0, hidden: 8, levels: 4, log2TableSize: 12 }), field, 5);
    const targets = trainViews.map(syntheticTarget);
    await d.prepare(targets, { viewBank: { maxViews: 1, background: false } });
    const value = d.toValue('synthetic', { steps: 0, seconds: 0, seed: 5, views: [], finalLoss: 0 });
    const r = new FeatureFieldRenderer(value);
    const view = trainViews[2]!;
    // Centre reads only: silhouette supersampling (test/distill/bank-supersample.test.ts) mixes a silhouette cell's patch rays.
    const withBank = await r.render(view.camera, { head: 'cpu', supersample: false });
    const without = await r.render(view.camera, { head: 'cpu', blend: false });
    expect(without.cells.blended).toBe(0);
    expect(withBank.cells.blended).toBeGreaterThan(300);
    expect(withBank.cells.blended + withBank.cells.field + withBank.cells.background).toBe(64 * 64);
    // Blended cells are the view's own target (the nearest view is itself, read at its cell centre); cells with no surface (depth 0) are not blended.
    let exact = 0, blendedOnBackground = 0, n = 0;
    for (let c = 0; c < EMBED_CELLS; c++) {
      const x = c % 64, y = Math.floor(c / 64);
      const gt = view.depth![y * 64 + x]!;
      const bank = withBank.embedding[7 * EMBED_CELLS + c]!, field = without.embedding[7 * EMBED_CELLS + c]!;
      if (bank === field) continue; // not blended
      n++;
      if (gt === 0) blendedOnBackground++;
      if (Math.abs(bank - targets[2]!.embedding[7 * EMBED_CELLS + c]!) < 1e-5) exact++;
    }
    expect(n).toBeGreaterThan(300);
    expect(exact / n).toBeGreaterThan(0.97);
    expect(blendedOnBackground / n).toBeLessThan(0.02);
    // With the background plane, cells whose ray misses are blended too (from bank views that see background there).
    const bg = new FeatureFieldRenderer({ ...value, viewBank: { ...value.viewBank!, background: { centre: [0, 0, 0] } } });
    const withBg = await bg.render(view.camera, { head: 'cpu', supersample: false });
    expect(withBg.cells.blended).toBeGreaterThan(withBank.cells.blended + 1000);
    expect(withBg.cells.blended + withBg.cells.field + withBg.cells.background).toBe(64 * 64);
  }, 60_000);
});
