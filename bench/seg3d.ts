// 3D segmentation without distillation: time per object after training and
// where it goes (geometry rendering, SAM encoder, SAM decoder, fusion, the
// renderer's files), and IoU against the generated scene's instance masks.
// One click per object (the pixel deepest inside it in the train view where
// it shows most), objects one after another in one process: the first pays
// for encoding every view, the next reuse the cached embeddings (and NeRF).
//
// Usage: npx tsx bench/seg3d.ts [--views 24] [--size 112] [--seed 0]
//          [--depth dataset|field] [--seconds 60 | --steps N] [--objects 1,2,3]
//          [--set node.param=value ...] [--ab node.param=value]
// --steps trains the NeRF for a fixed number of steps (load-independent);
// --ab runs every object again with that override (NeRF and encodings
// cached) and prints both rows, e.g. --ab fuse.supportPlane=false.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Executor, loadGraph, validateGraph, type EngineEvent } from '../engine';
import type { ViewMasksValue } from '../engine/values';
import { applyOverrides } from '../cli/load-graph';
import { createNodeHost } from '../cli/node-host';
import { createNodeRegistry } from '../nodes';
import { clickOn } from '../nodes/lock3d/demo';
import { iou } from '../nodes/lock3d/metrics';
import { ENCODED_LOG } from '../nodes/lock3d/sam-views';
import { buildSceneDataset } from '../nodes/scene';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    views: { type: 'string', default: '24' },
    size: { type: 'string', default: '112' },
    seed: { type: 'string', default: '0' },
    depth: { type: 'string', default: 'dataset' },
    seconds: { type: 'string', default: '60' },
    objects: { type: 'string', default: '' },
    steps: { type: 'string', default: '' },
    set: { type: 'string', multiple: true, default: [] },
    ab: { type: 'string', default: '' },
  },
});
const depth = values.depth as 'dataset' | 'field';
if (depth !== 'dataset' && depth !== 'field') throw new Error('--depth: dataset or field');

const dir = mkdtempSync(join(tmpdir(), 'samnerf-bench-seg3d-'));
const scene = buildSceneDataset({ views: Number(values.views), size: Number(values.size), seed: Number(values.seed) });
for (const f of scene.files) {
  mkdirSync(dirname(join(dir, 'scene', f.path)), { recursive: true });
  writeFileSync(join(dir, 'scene', f.path), f.bytes);
}
const registry = createNodeRegistry();
const presetName = depth === 'field' ? 'samnerf-no-distill.json' : 'samnerf-no-distill-gt.json';
const preset = loadGraph(readFileSync(join(root, 'presets', presetName), 'utf8'), registry).graph!;
const executor = new Executor({ host: await createNodeHost({ out: join(dir, 'out'), device: 'cpu' }) });
const events: EngineEvent[] = [];
executor.events.on((e) => events.push(e));

const objects = values.objects ? values.objects.split(',').map(Number) : scene.layout.objects.map((o) => o.id);
const nerfBudget = values.steps ? [`nerf.steps=${values.steps}`, 'nerf.maxSeconds=0'] : [`nerf.maxSeconds=${values.seconds}`, 'nerf.steps=0'];
const base = [`data.path=${join(dir, 'scene')}`, ...(depth === 'field' ? nerfBudget : []), ...(values.set as string[])];
const compile = (sets: string[]) => {
  const v = validateGraph(applyOverrides(preset, [...base, ...sets], registry), registry);
  if (!v.compiled) throw new Error(JSON.stringify(v.errors));
  return v.compiled;
};

const ms = (runId: number, node: string) => (events.find((e) => e.type === 'node-done' && e.runId === runId && e.node === node) as { ms: number } | undefined)?.ms ?? 0;
const timing = (runId: number, node: string) => {
  const log = events.find((e) => e.type === 'node-log' && e.runId === runId && e.node === node && e.message.startsWith('timing:')) as { message: string } | undefined;
  const out: Record<string, number> = {};
  for (const m of log?.message.matchAll(/(\w+) (\d+) ms/g) ?? []) out[m[1]!] = Number(m[2]);
  return out;
};

/** Decoder runs a node's timing log reports (0 when the node was cached and logged nothing). */
const runsLogged = (runId: number, node: string, pattern: RegExp) => {
  const log = events.find((e) => e.type === 'node-log' && e.runId === runId && e.node === node && e.message.startsWith('timing:')) as { message: string } | undefined;
  return Number(pattern.exec(log?.message ?? '')?.[1] ?? 0);
};

let trainMs = 0;
if (depth === 'field') {
  const r = await executor.run(compile([]), { target: 'nerf' });
  if (r.status !== 'done') throw new Error([...r.failures.values()].map((f) => f.message).join('; '));
  trainMs = ms(r.runId, 'nerf');
  const metrics = JSON.parse(readFileSync(join(dir, 'out', 'nerf', 'metrics.json'), 'utf8'));
  console.log(`NeRF: ${metrics.steps} steps in ${metrics.seconds} s, test PSNR ${metrics.psnr_test} dB`);
}

interface Row {
  object: string;
  iou: number;
  iouTest: number;
  total: number;
  lift: number;
  geometry: number;
  encoder: number;
  encodes: number;
  decoder: number;
  decoderRuns: number;
  fitting: number;
  fusionOther: number;
  renderer: number;
}
const rows: Row[] = [];
const variants = values.ab ? [[], [values.ab]] : [[]];
for (const id of objects)
for (const variant of variants) {
  const click = clickOn(scene, id);
  if (!click) continue;
  const t0 = performance.now();
  const r = await executor.run(compile([`prompt.view=${click.view}`, `prompt.points=${JSON.stringify([{ x: click.x, y: click.y, label: 1 }])}`, `prompt.names=${JSON.stringify([click.name])}`, ...variant]));
  const total = performance.now() - t0;
  if (r.status !== 'done') throw new Error([...r.failures.values()].map((f) => f.message).join('; '));
  const masks = r.outputs.get('render')!.masks as ViewMasksValue;
  const ious = masks.views.map((v, i) => {
    const truth = scene.renders[scene.views.findIndex((s) => s.name === v.view)]!.instances;
    const gt = new Uint8Array(truth.length);
    for (let p = 0; p < gt.length; p++) gt[p] = truth[p] === id ? 1 : 0;
    return { split: scene.views.find((s) => s.name === masks.views[i]!.view)!.split, iou: iou(v.objects[0]!.mask ?? new Uint8Array(gt.length), gt) };
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sam = timing(r.runId, 'sam'), fuse = timing(r.runId, 'fuse'), render = timing(r.runId, 'render');
  rows.push({
    object: `${id} ${click.name}${variant.length ? ` (${variant.join(', ')})` : ''}`,
    iou: mean(ious.map((x) => x.iou)),
    iouTest: mean(ious.filter((x) => x.split === 'test').map((x) => x.iou)),
    total,
    lift: ms(r.runId, 'prompt'),
    geometry: (sam.geometry ?? 0) + (fuse.geometry ?? 0) + (render.geometry ?? 0),
    encoder: sam.encoder ?? 0,
    encodes: events.filter((e) => e.type === 'node-log' && e.runId === r.runId && ENCODED_LOG.test(e.message)).length,
    decoder: (sam.decoder ?? 0) + (fuse.decoder ?? 0),
    decoderRuns: runsLogged(r.runId, 'sam', /\((\d+) runs\)/) + runsLogged(r.runId, 'fuse', /decoder \d+ ms \((\d+) runs\)/),
    fitting: fuse.fitting ?? 0,
    fusionOther: fuse.other ?? 0,
    renderer: render.other ?? 0,
  });
  const row = rows[rows.length - 1]!;
  console.log(`${row.object}: IoU ${row.iou.toFixed(3)} (test ${row.iouTest.toFixed(3)}), ${(row.total / 1000).toFixed(1)} s, ${row.encodes} encodes, ${row.decoderRuns} decoder runs`);
}

const s = (x: number) => (x / 1000).toFixed(1);
console.log(`\nmachine: ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; scene ${values.views} views of ${values.size}px, seed ${values.seed}; depth ${depth}${depth === 'field' ? `, NeRF trained ${s(trainMs)} s` : ''}`);
console.log('| object | mean IoU (all / test) | time after training | lift | geometry | encoder | decoder | fusion fit | fusion other | renderer files |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.object} | ${r.iou.toFixed(3)} / ${r.iouTest.toFixed(3)} | ${s(r.total)} s | ${s(r.lift)} s | ${s(r.geometry)} s | ${s(r.encoder)} s (${r.encodes} runs) | ${s(r.decoder)} s (${r.decoderRuns} runs) | ${s(r.fitting)} s | ${s(r.fusionOther)} s | ${s(r.renderer)} s |`,
  );
const warm = rows.slice(1);
if (warm.length) console.log(`\nper object after the first (embeddings cached): mean ${s(warm.reduce((a, r) => a + r.total, 0) / warm.length)} s`);
