// PatchAggregator: its output, FeatureDistiller's `aggregation` input
// overriding the distiller's own patch params (a short run on a small
// generated scene with a generated SAM-shaped encoder), the checkpoint rule
// (a connected aggregator that disagrees with a loaded checkpoint is an
// error on the port), the errors, and the presets' wiring.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraph, validateGraph } from '../../engine';
import type { FeatureFieldValue, PatchAggregationValue } from '../../engine/values';
import { createNodeRegistry } from '../../nodes';
import { PatchAggregator } from '../../nodes/distill';
import { FeatureDistiller } from '../../nodes/feature-distiller';
import type { SamnerfHost } from '../../nodes/host';
import { resolveBackend, type InferenceSession } from '../../runtime-gpu/backend';
import { registerOrtNode } from '../../runtime-gpu/backends/ort-node';
import { decodeFeatureCheckpoint } from '../../runtime-gpu/distill/checkpoint';
import { featureLayout } from '../../runtime-gpu/distill/layout';
import { fakeSamEncoder } from '../helpers/fake-sam-encoder';
import { testNodeContext } from '../helpers/node-context';
import { REPO_ROOT } from '../helpers/shared';
import { generatedScene, sdfRadianceField } from './scene';

const scene = generatedScene({ views: 5, size: 32, seed: 5 });
const field = sdfRadianceField(scene.layout, 32);

const written: Record<string, Uint8Array> = {};
let encoder: InferenceSession | undefined;
const host = {
  device: 'cpu',
  files: {
    readFile: async (p: string) => {
      const bytes = written[p];
      if (!bytes) throw new Error(`test host: no file ${p}`);
      return bytes;
    },
  },
  output: { write: async (node: string, rel: string, bytes: Uint8Array) => ((written[`${node}/${rel}`] = bytes), `${node}/${rel}`) },
  images: {},
  models: { session: async () => encoder! },
} as unknown as SamnerfHost;

const defaults = (def: { params: Record<string, unknown> }) => Object.fromEntries(Object.entries(def.params).map(([k, s]) => [k, (s as { default: unknown }).default]));
// The distiller's own params: patch 3, 8 channels (not the defaults, not what the aggregators below give).
const distillParams = { ...defaults(FeatureDistiller), steps: 2, patch: 3, aggregate: true, aggChannels: 8, hidden: 8, levels: 4, log2TableSize: 12, viewBank: false, cellsPerBatch: 16, device: 'cpu', save: false };

async function aggregator(params: Record<string, unknown>, logs: string[] = []): Promise<PatchAggregationValue> {
  const out = await PatchAggregator.run(testNodeContext(host, 'patches', logs), {}, { ...defaults(PatchAggregator), ...params });
  return (out as { aggregation: PatchAggregationValue }).aggregation;
}

async function distil(inputs: Record<string, unknown>, params: Record<string, unknown> = {}, logs: string[] = []): Promise<FeatureFieldValue> {
  const out = await FeatureDistiller.run(testNodeContext(host, 'distill', logs), { field, views: scene.views, ...inputs }, { ...distillParams, ...params });
  return (out as { features: FeatureFieldValue }).features;
}

async function failure(p: Promise<unknown>): Promise<{ message: string; param?: string; port?: string; fix?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { message: string; param?: string; port?: string };
  }
  throw new Error('expected a failure');
}

describe('PatchAggregator', () => {
  it('outputs its settings as a PatchAggregation (aggregate off = 0 channels)', async () => {
    expect(await aggregator({})).toEqual({ kind: 'PatchAggregation', patch: 4, aggChannels: 32 });
    expect(await aggregator({ patch: 2, channels: 6 })).toEqual({ kind: 'PatchAggregation', patch: 2, aggChannels: 6 });
    expect(await aggregator({ patch: 5, aggregate: false, channels: 6 })).toEqual({ kind: 'PatchAggregation', patch: 5, aggChannels: 0 });
    const logs: string[] = [];
    await aggregator({ patch: 1 }, logs);
    expect(logs.join('\n')).toMatch(/patch 1 a cell is one ray.*set patch 2 or more/);
  });

  it('is registered with its port type, category and params', () => {
    const registry = createNodeRegistry();
    const d = registry.describe().find((n) => n.type === 'PatchAggregator')!;
    expect(d).toBeDefined();
    expect(d.category).toBe(FeatureDistiller.category);
    expect(d.outputs.aggregation!.type).toBe('PatchAggregation');
    expect(FeatureDistiller.inputs.aggregation).toMatchObject({ type: 'PatchAggregation', optional: true });
    expect(PatchAggregator.params.channels).toMatchObject({ default: 32, min: 1, max: 256, advanced: true });
    expect(PatchAggregator.params.patch).toMatchObject({ default: 4, min: 1, max: 8 });
    for (const p of ['patch', 'aggregate', 'aggChannels'] as const)
      expect((FeatureDistiller.params[p] as { description: string }).description).toContain('used when no PatchAggregator is connected');
  });

  it('errors name the node, the param and the fix', async () => {
    const badPatch = await failure(aggregator({ patch: 9 }));
    expect(badPatch.param).toBe('patch');
    expect(badPatch.message).toMatch(/PatchAggregator: patch must be an integer from 1 to 8.*got 9; set patch to 4/);
    const badChannels = await failure(aggregator({ channels: 0 }));
    expect(badChannels.param).toBe('channels');
    expect(badChannels.message).toMatch(/PatchAggregator: channels.*turn aggregate off/);
    // Channels are not used without aggregation.
    expect((await aggregator({ aggregate: false, channels: 0 })).aggChannels).toBe(0);
    // A malformed value on the distiller's input: an error on the port.
    const badInput = await failure(distil({ aggregation: { kind: 'PatchAggregation', patch: 0, aggChannels: 8 } }));
    expect(badInput.port).toBe('aggregation');
    expect(badInput.message).toMatch(/FeatureDistiller: the aggregation input is not a valid PatchAggregation.*connect a PatchAggregator/);
  });
});

describe('FeatureDistiller with a PatchAggregator', () => {
  beforeAll(async () => {
    registerOrtNode();
    const { backend } = await resolveBackend('cpu');
    encoder = await backend.createSession(fakeSamEncoder(1.1), { device: 'cpu' });
  });
  afterAll(async () => {
    await encoder?.release();
  });

  it('a connected aggregator sets patch and aggChannels; without one the params do', async () => {
    const logs: string[] = [];
    const withAgg = await distil({ aggregation: await aggregator({ patch: 2, channels: 6 }) }, {}, logs);
    expect(withAgg.config.patch).toBe(2);
    expect(withAgg.config.aggChannels).toBe(6);
    // The weights were built for that config (the convolutions' size depends on the channels).
    expect(withAgg.params.length).toBe(featureLayout(withAgg.config).count);
    expect(logs.join('\n')).toMatch(/patch aggregation: patch 2, aggregation 6 channels, from the connected PatchAggregator/);
    expect(logs.join('\n')).toMatch(/note: this node's params \(patch 3, aggregation 8 channels\) differ/);

    const plainLogs: string[] = [];
    const plain = await distil({ aggregation: await aggregator({ patch: 2, aggregate: false }) }, {}, plainLogs);
    expect(plain.config).toMatchObject({ patch: 2, aggChannels: 0 });
    const l = featureLayout(plain.config);
    expect(l.conv1).toBe(l.wOut); // no convolution weights at all

    const ownLogs: string[] = [];
    const own = await distil({}, {}, ownLogs);
    expect(own.config).toMatchObject({ patch: 3, aggChannels: 8 });
    expect(ownLogs.join('\n')).toMatch(/patch aggregation: patch 3, aggregation 8 channels, from the params \(no PatchAggregator connected\)/);
    expect(ownLogs.join('\n')).not.toMatch(/note: this node's params/);
    const ownOff = await distil({}, { aggregate: false });
    expect(ownOff.config).toMatchObject({ patch: 3, aggChannels: 0 });
  }, 120_000);

  it('loading a checkpoint: an aggregator that disagrees is an error on the port naming the fix; one that agrees or none loads', async () => {
    await distil({ aggregation: await aggregator({ patch: 2, channels: 6 }) }, { save: true });
    const saved = written['distill/features.snff']!;
    expect(decodeFeatureCheckpoint(saved).config).toMatchObject({ patch: 2, aggChannels: 6 });
    const checkpoint = 'distill/features.snff';
    const wrong = await failure(distil({ aggregation: await aggregator({ patch: 4, channels: 6 }) }, { checkpoint }));
    expect(wrong.port).toBe('aggregation');
    expect(wrong.message).toMatch(/the connected PatchAggregator \(patch 4, aggregation 6 channels\) disagrees with the checkpoint distill\/features\.snff \(patch 2, aggregation 6 channels\)/);
    expect(wrong.message).toMatch(/set the PatchAggregator to patch 2, aggregate on, channels 6 \(the checkpoint's\), disconnect it, or clear checkpoint/);
    const off = await failure(distil({ aggregation: await aggregator({ patch: 2, aggregate: false }) }, { checkpoint }));
    expect(off.port).toBe('aggregation');

    const logs: string[] = [];
    const agrees = await distil({ aggregation: await aggregator({ patch: 2, channels: 6 }) }, { checkpoint }, logs);
    expect(agrees.config).toMatchObject({ patch: 2, aggChannels: 6 });
    expect(logs.join('\n')).toMatch(/from the checkpoint \(matches the connected PatchAggregator\)/);
    // Without an aggregator the checkpoint loads as before (the params, patch 3 here, are not used).
    const noneLogs: string[] = [];
    const none = await distil({}, { checkpoint }, noneLogs);
    expect(none.config).toMatchObject({ patch: 2, aggChannels: 6 });
    expect(noneLogs.join('\n')).toMatch(/patch aggregation: patch 2, aggregation 6 channels, from the checkpoint/);
  }, 120_000);
});

describe.each(['samnerf-distill.json', 'samnerf-distill-text.json'])('presets/%s', (file) => {
  it('validates and wires a PatchAggregator (patch 4, aggregation 32 channels) into the FeatureDistiller', async () => {
    const registry = createNodeRegistry();
    const graph = loadGraph(readFileSync(join(REPO_ROOT, 'presets', file), 'utf8'), registry).graph!;
    expect(graph).toBeDefined();
    const v = validateGraph(graph, registry, { baseDir: join(REPO_ROOT, 'presets') });
    for (const e of v.errors) expect(JSON.stringify(e)).toMatch(/data|path/);
    const agg = graph.nodes.find((n) => n.type === 'PatchAggregator')!;
    const distill = graph.nodes.find((n) => n.type === 'FeatureDistiller')!;
    expect(agg).toBeDefined();
    expect(graph.edges).toEqual(expect.arrayContaining([expect.objectContaining({ from: `${agg.id}.aggregation`, to: `${distill.id}.aggregation` })]));
    // The values the preset used before the node existed (so results are unchanged).
    const out = await PatchAggregator.run(testNodeContext(host, agg.id), {}, { ...defaults(PatchAggregator), ...agg.params });
    expect((out as { aggregation: PatchAggregationValue }).aggregation).toEqual({ kind: 'PatchAggregation', patch: 4, aggChannels: 32 });
    // Laid out next to the distiller.
    const ui = (n: { ui?: unknown }) => n.ui as { x: number; y: number };
    expect(Math.abs(ui(agg).x - ui(distill).x)).toBeLessThanOrEqual(400);
    expect(Math.abs(ui(agg).y - ui(distill).y)).toBeLessThanOrEqual(400);
  });
});
