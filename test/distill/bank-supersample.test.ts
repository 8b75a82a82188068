// Silhouette supersampling of the view bank (runtime-gpu/distill/view-bank.ts,
// blendPatches): a silhouette cell is blended at each of its sub-rays' own
// points and takes their mean, so it mixes the surfaces it covers; the
// per-(view, cell) gathering of the reads is exact; FeatureFieldRenderer
// supersamples only the blended silhouette cells.

import { describe, expect, it } from 'vitest';
import { cellGrid, EMBED_CELLS, EMBED_SIDE } from '../../runtime-gpu/distill/cells';
import { FeatureDistillation, FeatureFieldRenderer, type DistillTarget } from '../../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../../runtime-gpu/distill/layout';
import { patchSurface, SurfaceSampler } from '../../runtime-gpu/distill/surface';
import { blendPatches, blendViews, silhouetteCells } from '../../runtime-gpu/distill/view-bank';
import { Rng } from '../../runtime-gpu/nerf/rng';
import { FeatureRenderer } from '../../nodes/distill';
import type { SamnerfHost } from '../../nodes/host';
import { testNodeContext } from '../helpers/node-context';
import { generatedScene, sdfRadianceField } from './scene';

const scene = generatedScene({ views: 16, size: 64, seed: 3 });
const field = sdfRadianceField(scene.layout, 48);
const views = scene.views.views;
const train = views.filter((v) => v.split === 'train');
const test = views.filter((v) => v.split === 'test');
const K = 256;
const P = 2;
const config = featureFieldConfig({ patch: P, aggChannels: 0, hidden: 8, levels: 4, log2TableSize: 12 });

/** Targets that vary with the cell, the view and the channel (random per view: any mixing shows). */
function targets(): DistillTarget[] {
  const rng = new Rng(5);
  return train.map((v) => ({ name: v.name, camera: v.camera, embedding: Float32Array.from({ length: K * EMBED_CELLS }, () => rng.uniform(-1, 1)) }));
}

async function fieldValue() {
  const d = new FeatureDistillation(config, field, 1);
  await d.prepare(targets(), { viewBank: { background: true } });
  return d.toValue('synthetic', { steps: 0, seconds: 0, seed: 1, views: [], finalLoss: 0 });
}

describe('view bank: silhouette supersampling', () => {
  it('silhouetteCells marks the cells next to a hit/miss boundary or a depth crease, not the interior', () => {
    const grid = cellGrid(64, 64); // 64 x 64 cells
    const n = grid.cols * grid.rows;
    const hit = new Uint8Array(n), depth = new Float32Array(n);
    for (let y = 0; y < grid.rows; y++)
      for (let x = 0; x < grid.cols; x++)
        if (x >= 10 && x < 30 && y >= 10 && y < 30) (hit[y * grid.cols + x] = 1), (depth[y * grid.cols + x] = x < 20 ? 2 : 3);
    const edge = silhouetteCells(grid, hit, depth);
    const at = (x: number, y: number) => edge[y * grid.cols + x];
    expect(at(10, 15)).toBe(1); // object side of the boundary
    expect(at(9, 15)).toBe(1); // background side
    expect(at(19, 15)).toBe(1); // depth crease 2 -> 3 (50%)
    expect(at(20, 15)).toBe(1);
    expect(at(15, 15)).toBe(0); // interior, same depth
    expect(at(25, 25)).toBe(0);
    expect(at(50, 50)).toBe(0); // empty background
    expect(silhouetteCells(grid, hit, depth, 0.6)[15 * grid.cols + 19]).toBe(0); // a 50% step under a 60% crease threshold
  });

  it('blendPatches with every patch ray at the centre point equals blendViews; a mixed patch is the mean of its rays', async () => {
    const value = await fieldValue();
    const bank = value.viewBank!;
    const camera = test[0]!.camera, grid = cellGrid(camera.width, camera.height);
    const { centres } = await patchSurface(new SurfaceSampler(field, config.surface), camera, grid, 1);
    const n = grid.cols * grid.rows, P2 = P * P;
    const viaCentres = new Float32Array(K * EMBED_CELLS);
    const blended = blendViews(bank, null, camera, grid, centres.points, centres.hit, viaCentres, K);
    const edges = silhouetteCells(grid, centres.hit, centres.depth);
    const cells = Array.from({ length: n }, (_, c) => c).filter((c) => blended[c] && edges[c]);
    expect(cells.length).toBeGreaterThan(20);
    // Every patch ray at its cell's centre surface point: the same blend (cells whose centre hits; background rays are placed per ray).
    const points = new Float64Array(3 * cells.length * P2), hit = new Uint8Array(cells.length * P2);
    cells.forEach((c, i) => {
      for (let j = 0; j < P2; j++) {
        points.set(centres.points.subarray(3 * c, 3 * c + 3), 3 * (i * P2 + j));
        hit[i * P2 + j] = centres.hit[c]!;
      }
    });
    const viaPatches = new Float32Array(K * EMBED_CELLS);
    expect(blendPatches(bank, null, camera, grid, cells, P, points, hit, viaPatches, K)).toBe(cells.length);
    let maxDiff = 0;
    for (const c of cells.filter((q) => centres.hit[q])) {
      const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
      for (let k = 0; k < K; k++) maxDiff = Math.max(maxDiff, Math.abs(viaPatches[k * EMBED_CELLS + cell]! - viaCentres[k * EMBED_CELLS + cell]!));
    }
    expect(maxDiff).toBeLessThan(1e-5);
    // A patch whose rays hit different surface points (the centres of the cell and its neighbours) = the mean of each ray's own blend
    // (the per-(view, cell) gathering of the reads is exact).
    const c = cells.find((q) => centres.hit[q])!;
    const sources = [c, c + 1, c + grid.cols, c - 1].map((q) => (q >= 0 && q < n && centres.hit[q] ? q : c));
    expect(new Set(sources).size).toBeGreaterThan(1);
    const mixedPoints = new Float64Array(3 * P2), mixedHit = new Uint8Array(P2);
    sources.forEach((q, j) => {
      mixedPoints.set(centres.points.subarray(3 * q, 3 * q + 3), 3 * j);
      mixedHit[j] = 1;
    });
    const mixed = new Float32Array(K * EMBED_CELLS);
    blendPatches(bank, null, camera, grid, [c], P, mixedPoints, mixedHit, mixed, K);
    const perRay = sources.map((q) => {
      const only = new Float64Array(3 * P2), onlyHit = new Uint8Array(P2).fill(1);
      for (let i = 0; i < P2; i++) only.set(centres.points.subarray(3 * q, 3 * q + 3), 3 * i);
      const out = new Float32Array(K * EMBED_CELLS);
      expect(blendPatches(bank, null, camera, grid, [c], P, only, onlyHit, out, K)).toBe(1);
      return out;
    });
    const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
    let diff = 0, spread = 0;
    for (let k = 0; k < K; k++) {
      const i = k * EMBED_CELLS + cell;
      diff = Math.max(diff, Math.abs(mixed[i]! - perRay.reduce((s, e) => s + e[i]!, 0) / P2));
      for (const e of perRay) spread = Math.max(spread, Math.abs(e[i]! - perRay[0]![i]!));
    }
    expect(spread).toBeGreaterThan(0.05); // the rays read different things
    expect(diff).toBeLessThan(1e-5);
  });

  it('FeatureFieldRenderer supersamples only blended silhouette cells and leaves the others as without it', async () => {
    const value = await fieldValue();
    const renderer = new FeatureFieldRenderer(value);
    const camera = test[0]!.camera;
    const on = await renderer.render(camera, { head: 'cpu' });
    const off = await renderer.render(camera, { head: 'cpu', supersample: false });
    expect(on.cells.supersampled).toBeGreaterThan(20);
    expect(off.cells.supersampled).toBe(0);
    // 3 x 3 sub-rays instead of the default 2 x 2 change the silhouette cells again (the sub-rays are the renderer's own, not the field's patch).
    const on3 = await renderer.render(camera, { head: 'cpu', supersample: 3 });
    let differs = 0;
    for (let i = 0; i < on.embedding.length; i++) if (Math.abs(on3.embedding[i]! - on.embedding[i]!) > 1e-6) differs++;
    expect(differs).toBeGreaterThan(0);
    const grid = cellGrid(camera.width, camera.height);
    const { centres } = await patchSurface(new SurfaceSampler(field, config.surface), camera, grid, 1);
    const edges = silhouetteCells(grid, centres.hit, centres.depth);
    let changed = 0, changedInterior = 0;
    for (let c = 0; c < grid.cols * grid.rows; c++) {
      const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
      let d = 0;
      for (let k = 0; k < K; k++) d = Math.max(d, Math.abs(on.embedding[k * EMBED_CELLS + cell]! - off.embedding[k * EMBED_CELLS + cell]!));
      if (d > 1e-6) (edges[c] ? changed++ : changedInterior++);
    }
    expect(changed).toBeGreaterThan(20);
    expect(changedInterior).toBe(0);
  });

  it("FeatureRenderer's supersample param: the default supersamples silhouette cells, 1 renders centre reads only", async () => {
    const value = await fieldValue();
    const view = test[0]!;
    const run = async (supersample?: number) => {
      const logs: string[] = [];
      const params = { view: view.name, ...(supersample === undefined ? {} : { supersample }) };
      const defaults = { supersample: (FeatureRenderer.params.supersample as { default: number }).default };
      const out = (await FeatureRenderer.run(testNodeContext({} as SamnerfHost, 'render', logs), { features: value, views: scene.views }, { ...defaults, ...params })) as { embedding: { data: Float32Array } };
      return { logs: logs.join('\n'), data: out.embedding.data };
    };
    const on = await run();
    const off = await run(1);
    expect(on.logs).toMatch(/from the view bank \(([1-9]\d+) of them supersampled\)/);
    expect(off.logs).toMatch(/from the view bank \(0 of them supersampled\)/);
    let differs = 0;
    for (let i = 0; i < on.data.length; i++) if (on.data[i] !== off.data[i]) differs++;
    expect(differs).toBeGreaterThan(0);
  }, 60_000);
});
