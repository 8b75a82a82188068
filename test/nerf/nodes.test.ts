// NeRFTrainer and ViewRenderer through real graph runs with the CLI's host:
// metrics.json, renders, the checkpoint (and resuming from it), the
// renderer's frames and animated preview, and clear errors.
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { defineNode, Executor, loadGraph, validateGraph, type EngineEvent, type GraphJson, type ImageValue, type RadianceFieldValue, type ViewsValue } from '../../engine';
import { applyOverrides } from '../../cli/load-graph';
import { createNodeHost } from '../../cli/node-host';
import { createNodeRegistry } from '../../nodes';
import { registerNerfNode } from '../../runtime-gpu/nerf/node';
import { HAS_SHARED, needsShared, REPO_ROOT, sharedPath } from '../helpers/shared';
import { sphereScene } from './sphere-scene';

registerNerfNode();
const scene = sphereScene({ size: 32, train: 24, test: 4 });

/** The registry plus a source node handing out a prepared Views value. */
function registryWith(views: ViewsValue) {
  const Scene = defineNode({
    type: 'TestViews',
    version: 1,
    category: 'Test',
    description: 'a prepared Views value',
    inputs: {},
    outputs: { views: { type: 'Views', description: 'the views' } },
    params: {},
    run: () => ({ views }),
  });
  return createNodeRegistry().register(Scene);
}

function graph(trainer: Record<string, unknown>, renderer?: Record<string, unknown>): GraphJson {
  return {
    format: 'samnerf.graph',
    version: 1,
    nodes: [
      { id: 'scene', type: 'TestViews' },
      { id: 'nerf', type: 'NeRFTrainer', params: { hashLevels: 8, log2TableSize: 14, raysPerBatch: 512, ...trainer } },
      ...(renderer ? [{ id: 'render', type: 'ViewRenderer', params: renderer }] : []),
    ],
    edges: [
      { from: 'scene.views', to: 'nerf.views' },
      ...(renderer ? [{ from: 'nerf.field', to: 'render.field' }, { from: 'scene.views', to: 'render.views' }] : []),
    ],
  };
}

async function run(g: GraphJson, out: string) {
  const registry = registryWith(scene);
  const v = validateGraph(g, registry);
  if (!v.compiled) throw new Error(JSON.stringify(v.errors));
  const executor = new Executor({ host: await createNodeHost({ out, device: 'cpu' }) });
  const events: EngineEvent[] = [];
  executor.events.on((e) => events.push(e));
  const result = await executor.run(v.compiled);
  return { result, events };
}

describe('NeRFTrainer and ViewRenderer in a graph', () => {
  const out = mkdtempSync(join(tmpdir(), 'samnerf-nerf-'));

  it('trains, reports progress, writes metrics.json, renders of every test view and field.ckpt; ViewRenderer writes frames and an APNG', async () => {
    const { result, events } = await run(graph({ steps: 100, maxSeconds: 0, evalViews: 2 }, { split: 'test' }), out);
    expect(result.status, JSON.stringify([...result.failures.values()].map((f) => f.message))).toBe('done');
    const progress = events.filter((e) => e.type === 'node-progress' && e.node === 'nerf');
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect((progress[3] as { message: string }).message).toMatch(/step \d+ · loss .* · PSNR [\d.]+ dB · \d+ rays\/s/);

    const metrics = JSON.parse(readFileSync(join(out, 'nerf', 'metrics.json'), 'utf8'));
    expect(metrics.steps).toBe(100);
    expect(metrics.seconds).toBeGreaterThan(0);
    expect(metrics.rays_per_second).toBeGreaterThan(100);
    expect(metrics.psnr_test).toBeGreaterThan(25);
    expect(metrics.eval_views).toEqual(['test/v_0', 'test/v_2']);
    for (const name of metrics.eval_views) {
      const png = await sharp(join(out, 'nerf', 'renders', `${name}.png`)).metadata();
      expect([png.width, png.height]).toEqual([32, 32]);
    }
    expect(statSync(join(out, 'nerf', 'field.ckpt')).size).toBeGreaterThan(1000);

    const field = result.outputs.get('nerf')!.field as RadianceFieldValue;
    expect(field.kind).toBe('RadianceField');
    expect(field.provenance.steps).toBe(100);
    expect(field.provenance.psnrTest).toBeCloseTo(metrics.psnr_test, 2);

    // ViewRenderer: every test view as RGB, depth and opacity, an APNG of four frames, PSNR per frame.
    for (const kind of ['rgb', 'depth', 'acc']) expect(readdirSync(join(out, 'render', kind, 'test')).sort()).toEqual(['v_0.png', 'v_1.png', 'v_2.png', 'v_3.png']);
    const apng = readFileSync(join(out, 'render', 'preview.png'));
    const actl = apng.indexOf('acTL');
    expect(actl).toBeGreaterThan(0);
    expect(apng.readUInt32BE(actl + 4)).toBe(4);
    const report = JSON.parse(readFileSync(join(out, 'render', 'renders.json'), 'utf8'));
    expect(report.frames[0].psnr).toBeCloseTo(field.provenance.psnrTest!, -1);
    expect(report.psnr_mean).toBeGreaterThan(25);
    const image = result.outputs.get('render')!.image as ImageValue;
    expect([image.width, image.height]).toEqual([32, 32]);
    // The first frame's pixels are what was written as rgb/test/v_0.png.
    const written = await sharp(join(out, 'render', 'rgb', 'test', 'v_0.png')).raw().toBuffer();
    expect(Buffer.from(image.data).equals(written)).toBe(true);
  }, 60_000);

  it('resumes from its checkpoint: skips training when the checkpoint reached the steps, refuses a mismatching one', async () => {
    const ckpt = join(out, 'nerf', 'field.ckpt');
    const out2 = join(out, 'second');
    const { result, events } = await run(graph({ steps: 100, maxSeconds: 0, evalViews: 2, checkpoint: ckpt }), out2);
    expect(result.status, JSON.stringify([...result.failures.values()].map((f) => f.message))).toBe('done');
    expect(events.some((e) => e.type === 'node-log' && /resuming from .* at step 100/.test((e as { message: string }).message))).toBe(true);
    const first = JSON.parse(readFileSync(join(out, 'nerf', 'metrics.json'), 'utf8'));
    const second = JSON.parse(readFileSync(join(out2, 'nerf', 'metrics.json'), 'utf8'));
    expect(second.steps).toBe(100);
    expect(second.psnr_test).toBeCloseTo(first.psnr_test, 6);

    const bad = await run(graph({ steps: 100, maxSeconds: 0, hashLevels: 6, checkpoint: ckpt }), join(out, 'third'));
    expect(bad.result.status).toBe('failed');
    expect(bad.result.failures.get('nerf')!.message).toMatch(/does not match: its hash settings .*delete it or clear the checkpoint param/);

    // Sizes left automatic (0) take the checkpoint's, so a longer budget (which alone would pick 2^19
    // entries and 4096 rays) continues this field instead of refusing it.
    const longer = await run(graph({ steps: 100, maxSeconds: 900, log2TableSize: 0, raysPerBatch: 0, checkpoint: ckpt }), join(out, 'fourth'));
    expect(longer.result.status, JSON.stringify([...longer.result.failures.values()].map((f) => f.message))).toBe('done');
    expect(longer.events.some((e) => e.type === 'node-log' && /resuming from .* at step 100/.test((e as { message: string }).message))).toBe(true);
    const fresh = await run(graph({ steps: 1, maxSeconds: 900, log2TableSize: 0, raysPerBatch: 0, evalViews: 0 }), join(out, 'fifth'));
    expect((fresh.result.outputs.get('nerf')!.field as RadianceFieldValue).config.hash.log2TableSize).toBe(19);
  }, 60_000);

  it('renders an orbit without views, and names the fix for a GPU device that is not there yet', async () => {
    const { result } = await run(graph({ steps: 30, maxSeconds: 0, evalViews: 0 }), join(out, 'orbit-train'));
    const field = result.outputs.get('nerf')!.field as RadianceFieldValue;
    const Source = defineNode({
      type: 'TestField', version: 1, category: 'Test', description: 'a field', inputs: {},
      outputs: { field: { type: 'RadianceField', description: 'the field' } }, params: {}, run: () => ({ field }),
    });
    const registry = createNodeRegistry().register(Source);
    const v = validateGraph({ format: 'samnerf.graph', version: 1, nodes: [{ id: 'f', type: 'TestField' }, { id: 'orbit', type: 'ViewRenderer', params: { orbitFrames: 6, width: 24, height: 20 } }], edges: [{ from: 'f.field', to: 'orbit.field' }] }, registry);
    const outOrbit = join(out, 'orbit');
    const r = await new Executor({ host: await createNodeHost({ out: outOrbit, device: 'cpu' }) }).run(v.compiled!);
    expect(r.status, JSON.stringify([...r.failures.values()].map((f) => f.message))).toBe('done');
    expect(readdirSync(join(outOrbit, 'orbit', 'rgb')).length).toBe(6);
    expect(existsSync(join(outOrbit, 'orbit', 'preview.png'))).toBe(true);
    const image = r.outputs.get('orbit')!.image as ImageValue;
    expect([image.width, image.height]).toEqual([24, 20]);

    const gpu = await run(graph({ steps: 10, maxSeconds: 0, device: 'cuda' }), join(out, 'gpu'));
    // No CUDA build of onnxruntime-node here: the error names how to install it and the alternatives.
    const failure = gpu.result.failures.get('nerf');
    if (failure) expect(failure.message).toMatch(/cannot train on cuda: .*(ONNXRUNTIME_NODE_INSTALL|Linux x64).*webgpu/s);
  }, 60_000);
});

describe.skipIf(!HAS_SHARED)(needsShared('presets/nerf-train.json on lego_200'), () => {
  it('loads the dataset, trains, evaluates and renders the test views and an orbit', async () => {
    const registry = createNodeRegistry();
    const g = loadGraph(readFileSync(join(REPO_ROOT, 'presets', 'nerf-train.json'), 'utf8'), registry).graph!;
    const sets = [`data.path=${sharedPath('data/lego_200')}`, 'data.scale=0.5', 'nerf.steps=60', 'nerf.raysPerBatch=1024', 'nerf.maxSeconds=0', 'nerf.evalViews=50', 'render.every=50', 'orbit.orbitFrames=4'];
    const v = validateGraph(applyOverrides(g, sets, registry), registry, { baseDir: join(REPO_ROOT, 'presets') });
    if (!v.compiled) throw new Error(JSON.stringify(v.errors));
    const out = mkdtempSync(join(tmpdir(), 'samnerf-nerf-preset-'));
    const result = await new Executor({ host: await createNodeHost({ out, device: 'cpu' }) }).run(v.compiled);
    expect(result.status, JSON.stringify([...result.failures.values()].map((f) => f.message))).toBe('done');
    const metrics = JSON.parse(readFileSync(join(out, 'nerf', 'metrics.json'), 'utf8'));
    expect(metrics.steps).toBe(60);
    expect(metrics.eval_views).toEqual(['test/r_0', 'test/r_50', 'test/r_100', 'test/r_150']);
    expect(metrics.psnr_test).toBeGreaterThan(20);
    expect(readdirSync(join(out, 'nerf', 'renders', 'test')).length).toBe(4);
    expect(readdirSync(join(out, 'render', 'rgb', 'test')).length).toBe(4);
    expect(readdirSync(join(out, 'orbit', 'rgb')).length).toBe(4);
    const png = await sharp(join(out, 'orbit', 'rgb', 'orbit_000.png')).metadata();
    expect([png.width, png.height]).toEqual([100, 100]);
  }, 90_000);
});
