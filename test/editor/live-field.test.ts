// The 3D view while NeRFTrainer trains, in the worker's EngineService
// (Node): the real trainer publishes field snapshots (ctx.preview), the UI
// hears of each (step, PSNR; never the field's buffers), the orbit view of
// the training node renders the latest snapshot with the real CPU renderer,
// clicks lift on it and say so, and when training ends the final field
// replaces the snapshot. A generated scene, a tiny field, 60 steps.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineNode, NodeRegistry, type GraphJson } from '../../engine';
import type { RadianceFieldValue, ViewsValue } from '../../engine/values';
import { FIELD_SNAPSHOTS, NeRFTrainer } from '../../nodes/nerf-trainer';
import { sharpImageCodec } from '../../runtime-gpu/image/codec-sharp';
import { acquireWebGpu } from '../../runtime-gpu/webgpu/platform';
import { createBrowserHost } from '../../editor/worker/browser-host';
import { EngineService } from '../../editor/worker/engine-service';
import { FieldRenderers } from '../../editor/worker/field-renderers';
import type { FieldSnapshotInfo, OrbitFrame, UiEvent } from '../../editor/worker/protocol';
import { makeScene, type TestScene } from '../lock3d/helpers';

const STEPS = 60;
let scene: TestScene;
const saved = { ...FIELD_SNAPSHOTS };

beforeAll(async () => {
  scene = await makeScene({ views: 12, size: 48, seed: 3 });
  // A snapshot at every progress report (every 10 steps) instead of every 2 s, so a short run makes several.
  FIELD_SNAPSHOTS.cpuSeconds = 0;
}, 120_000);
afterAll(() => Object.assign(FIELD_SNAPSHOTS, saved));

const SceneViews = defineNode({
  type: 'SceneViews',
  version: 1,
  category: 'Test',
  description: 'the generated scene',
  inputs: {},
  outputs: { views: { type: 'Views', description: '' } },
  params: {},
  run: () => ({ views: scene.views as ViewsValue }),
});

const graph: GraphJson = {
  format: 'samnerf.graph',
  version: 1,
  nodes: [
    { id: 'data', type: 'SceneViews' },
    { id: 'nerf', type: 'NeRFTrainer', params: { steps: STEPS, maxSeconds: 0, raysPerBatch: 256, hashLevels: 8, log2TableSize: 14, evalViews: 0, device: 'cpu' } },
  ],
  edges: [{ from: 'data.views', to: 'nerf.views' }],
};

type Rendered = OrbitFrame & { device: string; snapshot?: FieldSnapshotInfo };

describe('live 3D view while NeRFTrainer trains', () => {
  it('renders each new snapshot (one render in flight, newer snapshots win), lifts clicks on it, then shows the final field', async () => {
    const registry = new NodeRegistry().register(SceneViews, NeRFTrainer);
    const s = new EngineService(registry, createBrowserHost('http://app.test/', sharpImageCodec), sharpImageCodec, new FieldRenderers({ acquire: (o) => acquireWebGpu(o) }));
    const events: UiEvent[] = [];
    const frames: Rendered[] = [];
    /** How many events had arrived when each frame was rendered. */
    const frameAt: number[] = [];
    let inFlight: Promise<void> | undefined;
    let wanted = false;
    let lifted: Awaited<ReturnType<EngineService['liftOrbit']>> | undefined;
    // What OrbitView does: on a snapshot, render the current camera; while a render runs, only remember that a newer one is wanted.
    const renderLatest = (): Promise<void> =>
      (async () => {
        while (wanted) {
          wanted = false;
          const info = s.orbitInfo('nerf');
          if (!info.ok) throw new Error(info.reason);
          frames.push(await s.renderOrbit('nerf', info.orbit, 32, 'rgb'));
          frameAt.push(events.length);
          if (!lifted) lifted = await s.liftOrbit('nerf', info.orbit, 32, 16, 16, 0);
        }
      })().finally(() => (inFlight = undefined));
    const summary = await s.run(graph, (e) => {
      events.push(e);
      if (e.type !== 'field-snapshot') return;
      wanted = true;
      inFlight ??= renderLatest();
    }, { device: 'cpu' });
    await inFlight;
    expect(summary.status).toBe('done');

    const snapshots = events.filter((e): e is Extract<UiEvent, { type: 'field-snapshot' }> => e.type === 'field-snapshot').map((e) => e.snapshot);
    console.log(`snapshots at steps ${snapshots.map((x) => x.step).join(', ')}; frames rendered from steps ${frames.map((f) => f.snapshot?.step).join(', ')}`);
    // Several snapshots, steps and seqs increasing, each before the node finished; the UI gets no buffers.
    expect(snapshots.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < snapshots.length; i++) {
      expect(snapshots[i]!.step).toBeGreaterThan(snapshots[i - 1]!.step);
      expect(snapshots[i]!.seq).toBeGreaterThan(snapshots[i - 1]!.seq);
    }
    expect(snapshots.every((x) => x.node === 'nerf' && x.port === 'field' && Number.isFinite(x.psnr))).toBe(true);
    const done = events.findIndex((e) => e.type === 'node-done' && e.node === 'nerf');
    expect(events.findIndex((e) => e.type === 'field-snapshot')).toBeLessThan(done);
    expect(events.filter((e) => e.type === 'field-snapshot').every((e) => JSON.stringify(e).length < 300)).toBe(true);

    // The view rendered at least two snapshots, in order, while training ran; they differ (the field learns).
    expect(frames.length).toBeGreaterThanOrEqual(2);
    const steps = frames.map((f) => f.snapshot?.step ?? -1);
    expect(steps.every((x) => x > 0 && x <= STEPS)).toBe(true);
    // The first frames came while the node still trained.
    expect(frameAt[1]!).toBeLessThan(done);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!).toBeGreaterThan(steps[i - 1]!);
    const diff = (a: Uint8ClampedArray, b: Uint8ClampedArray) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;
    expect(diff(frames[0]!.rgba, frames.at(-1)!.rgba)).toBeGreaterThan(0.5);
    expect(lifted?.snapshot?.step).toBe(frames[0]!.snapshot!.step);

    // Training ended: the final field (the node's output) replaces the snapshot.
    const info = s.orbitInfo('nerf');
    if (!info.ok) throw new Error(info.reason);
    expect(info.snapshot).toBeUndefined();
    expect(info.steps).toBe(STEPS);
    const final = await s.renderOrbit('nerf', info.orbit, 32, 'rgb');
    expect(final.snapshot).toBeUndefined();
    expect(diff(final.rgba, frames[0]!.rgba)).toBeGreaterThan(0.5);
    // A snapshot is the field at its step: one taken at the last step renders exactly as the final field.
    if (frames.at(-1)!.snapshot!.step === STEPS) expect(diff(final.rgba, frames.at(-1)!.rgba)).toBe(0);

    // Re-running from the cache makes no snapshot (the field is not trained again).
    const again: UiEvent[] = [];
    await s.run(graph, (e) => again.push(e), { device: 'cpu' });
    expect(again.some((e) => e.type === 'node-cached' && e.node === 'nerf')).toBe(true);
    expect(again.some((e) => e.type === 'field-snapshot')).toBe(false);
    expect((s.orbitInfo('nerf') as { steps: number }).steps).toBe(STEPS);
  }, 180_000);

  it('a cancelled training leaves no snapshot behind: the view says the node has not run', async () => {
    const registry = new NodeRegistry().register(SceneViews, NeRFTrainer);
    const s = new EngineService(registry, createBrowserHost('http://app.test/', sharpImageCodec), sharpImageCodec, new FieldRenderers({ acquire: (o) => acquireWebGpu(o) }));
    let seen: FieldSnapshotInfo | undefined;
    let during: ReturnType<EngineService['orbitInfo']> | undefined;
    const summary = await s.run({ ...graph, nodes: graph.nodes.map((n) => (n.id === 'nerf' ? { ...n, params: { ...n.params, steps: 100000 } } : n)) }, (e) => {
      if (e.type === 'field-snapshot' && !seen) {
        seen = e.snapshot;
        during = s.orbitInfo('nerf');
        s.cancel();
      }
    }, { device: 'cpu' });
    expect(summary.status).toBe('cancelled');
    expect(seen?.step).toBeGreaterThan(0);
    expect(during).toMatchObject({ ok: true, snapshot: { step: seen!.step } });
    expect(s.orbitInfo('nerf')).toEqual({ ok: false, reason: expect.stringMatching(/nerf has not run yet/) });
  }, 120_000);
});
