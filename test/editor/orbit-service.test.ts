// The worker's side of the device menu and the 3D view, driven in Node:
// the menu's choice applied per run (and named in a device error), the
// orbit source (a field, its views, the latest 3D mask over it), mask
// overlays, stale renders cancelled, clicks lifted. Small fake nodes make a
// field and a mask; an analytic sphere renders the field.

import { describe, expect, it } from 'vitest';
import { defineNode, NodeError, NodeRegistry, type GraphJson, type NodeDefinition } from '../../engine';
import type { Camera, MaskFieldValue, RadianceFieldValue, View, ViewsValue } from '../../engine/values';
import type { DepthRender } from '../../nodes/lock3d/geometry';
import { lookAt } from '../../nodes/scene';
import { pixelRay, project } from '../../nodes/views/camera';
import { sharpImageCodec } from '../../runtime-gpu/image/codec-sharp';
import { orbitCamera, type Orbit } from '../../editor/orbit';
import { createBrowserHost } from '../../editor/worker/browser-host';
import { applyDeviceChoice, EngineService } from '../../editor/worker/engine-service';
import type { FieldRenderers } from '../../editor/worker/field-renderers';
import type { UiEvent } from '../../editor/worker/protocol';

const BALL = { centre: [0, 0, 0.2] as const, radius: 0.4 };

function ring(): ViewsValue {
  const views: View[] = [];
  for (let i = 0; i < 6; i++) {
    const a = (2 * Math.PI * i) / 6;
    const camera: Camera = { width: 32, height: 32, fx: 32, fy: 32, cx: 16, cy: 16, cameraToWorld: lookAt([3 * Math.cos(a), 3 * Math.sin(a), 1.5], [0, 0, 0]) };
    views.push({ name: `train/${i}`, split: 'train', camera, image: { kind: 'Image', width: 32, height: 32, data: new Uint8Array(32 * 32 * 3), name: `${i}` } });
  }
  return { kind: 'Views', views, bounds: { min: [-1, -1, -1], max: [1, 1, 1] }, near: 0.1, far: 10, sceneKind: 'object', source: 'test', format: 'blender' };
}

/** Exact render of the ball; honours the signal after a pause, like the real renderers between ray chunks. */
async function renderBall(camera: Camera, signal?: AbortSignal): Promise<DepthRender> {
  await new Promise((r) => setTimeout(r, 5));
  if (signal?.aborted) throw signal.reason;
  const { width, height } = camera;
  const depth = new Float32Array(width * height), accumulation = new Float32Array(width * height), rgb = new Float32Array(width * height * 3).fill(1);
  for (let p = 0; p < width * height; p++) {
    const { origin, direction } = pixelRay(camera, (p % width) + 0.5, Math.floor(p / width) + 0.5);
    const oc = [0, 1, 2].map((k) => origin[k]! - BALL.centre[k]!);
    const a = direction[0] ** 2 + direction[1] ** 2 + direction[2] ** 2;
    const b = 2 * (oc[0]! * direction[0] + oc[1]! * direction[1] + oc[2]! * direction[2]);
    const disc = b * b - 4 * a * (oc[0]! ** 2 + oc[1]! ** 2 + oc[2]! ** 2 - BALL.radius ** 2);
    if (disc < 0) continue;
    depth[p] = (-b - Math.sqrt(disc)) / (2 * a);
    accumulation[p] = 1;
    rgb.fill(0.5, 3 * p, 3 * p + 3);
  }
  return { width, height, depth, accumulation, rgb };
}

/** A mask grid that holds the ball: logit +5 within 0.1 of it, -5 elsewhere. */
function ballMask(): MaskFieldValue {
  const n = 21, voxel = 0.1, origin: [number, number, number] = [-1, -1, -1];
  const nodes = new Uint32Array(n * n * n), logits = new Float32Array(n * n * n), evidence = new Float32Array(n * n * n).fill(1);
  for (let i = 0; i < nodes.length; i++) {
    nodes[i] = i;
    const x = origin[0] + voxel * (i % n), y = origin[1] + voxel * (Math.floor(i / n) % n), z = origin[2] + voxel * Math.floor(i / (n * n));
    logits[i] = Math.hypot(x - BALL.centre[0], y - BALL.centre[1], z - BALL.centre[2]) < BALL.radius + 0.1 ? 5 : -5;
  }
  return { kind: 'MaskField', grid: { origin, voxelSize: voxel, dims: [n, n, n] }, nodes, logits, evidence, objects: [{ id: 1, name: 'ball', color: [255, 0, 0], views: [], rejected: [] }], depthSource: 'field' };
}

const nodes: NodeDefinition[] = [
  defineNode({ type: 'FakeViews', version: 1, category: 'Test', description: 'views', inputs: {}, outputs: { views: { type: 'Views', description: '' } }, params: {}, run: () => ({ views: ring() }) }),
  defineNode({
    type: 'FakeTrainer',
    version: 1,
    category: 'Test',
    description: 'a field',
    inputs: { views: { type: 'Views', description: '' } },
    outputs: { field: { type: 'RadianceField', description: '' } },
    params: { device: { type: 'enum', options: ['auto', 'cpu', 'webgpu'], default: 'auto', description: 'where' } },
    run: (_ctx, inputs, params) => {
      if (params.device === 'webgpu') throw new NodeError('cannot train on webgpu: no WebGPU adapter found', { param: 'device', fix: 'set device to cpu or auto' });
      const views = inputs.views as ViewsValue;
      const field = { kind: 'RadianceField', bounds: views.bounds, provenance: { steps: 7, seconds: 1, seed: 0, source: 'test' } } as unknown as RadianceFieldValue;
      return { field };
    },
  }),
  defineNode({
    type: 'FakeFusion',
    version: 1,
    category: 'Test',
    description: 'a mask over the field',
    inputs: { field: { type: 'RadianceField', description: '' } },
    outputs: { mask: { type: 'MaskField', description: '' } },
    params: {},
    run: () => ({ mask: ballMask() }),
  }),
];

const graph: GraphJson = {
  format: 'samnerf.graph',
  version: 1,
  nodes: [
    { id: 'views', type: 'FakeViews' },
    { id: 'nerf', type: 'FakeTrainer' },
    { id: 'fusion', type: 'FakeFusion' },
  ],
  edges: [
    { from: 'views.views', to: 'nerf.views' },
    { from: 'nerf.field', to: 'fusion.field' },
  ],
};

function service() {
  const registry = new NodeRegistry().register(...nodes);
  const calls: string[] = [];
  const renderers = { renderer: async (_field: RadianceFieldValue, choice: string) => (calls.push(choice), { render: renderBall, device: `test (${choice})` }) } as unknown as FieldRenderers;
  const s = new EngineService(registry, createBrowserHost('http://app.test/', sharpImageCodec), sharpImageCodec, renderers);
  return { s, registry, calls };
}

describe('device menu', () => {
  it('auto keeps the saved params; cpu / webgpu set every node that has that device option, without touching the document', () => {
    const { registry } = service();
    const saved = structuredClone(graph);
    expect(applyDeviceChoice(saved, registry, 'auto')).toEqual({ graph: saved, overridden: [] });
    const { graph: run, overridden } = applyDeviceChoice(saved, registry, 'webgpu');
    expect(overridden).toEqual(['nerf']);
    expect(run.nodes.find((n) => n.id === 'nerf')!.params).toEqual({ device: 'webgpu' });
    expect(run.nodes.find((n) => n.id === 'fusion')!.params).toBeUndefined();
    expect(saved).toEqual(graph);
  });

  it('a device error on a node the menu set names the menu', async () => {
    const { s } = service();
    const events: UiEvent[] = [];
    const summary = await s.run(graph, (e) => events.push(e), { device: 'webgpu' });
    expect(summary.status).toBe('failed');
    const error = events.find((e) => e.type === 'node-error') as { node: string; message: string };
    expect(error.node).toBe('nerf');
    expect(error.message).toMatch(/cannot train on webgpu: no WebGPU adapter found \(device "webgpu" chosen in the toolbar's device menu\); choose auto or cpu in the toolbar's device menu/);
  });
});

describe('3D view in the worker', () => {
  it('needs a run and a field; then finds the views, the latest mask over the field, and renders with the menu\'s device', async () => {
    const { s, calls } = service();
    expect(s.orbitInfo('nerf')).toEqual({ ok: false, reason: expect.stringMatching(/nerf has not run yet/) });
    await s.run(graph, () => undefined, { device: 'cpu' });
    expect(s.orbitInfo('views')).toEqual({ ok: false, reason: expect.stringMatching(/views has no radiance field/) });
    const info = s.orbitInfo('nerf');
    if (!info.ok) throw new Error(info.reason);
    expect(info.mask).toEqual(['ball']);
    expect(info.steps).toBe(7);
    expect(info.orbit.centre).toEqual([0, 0, 0]);
    expect(info.orbit.radius).toBeCloseTo(Math.hypot(3, 1.5), 6);

    const rgb = await s.renderOrbit('nerf', info.orbit, 48, 'rgb');
    expect(rgb.device).toBe('test (cpu)');
    expect(calls).toEqual(['cpu']);
    expect(rgb.maskPixels).toBeUndefined();
    const mask = await s.renderOrbit('nerf', info.orbit, 48, 'mask');
    const ballPixels = Array.from((await renderBall(orbitCamera(info.orbit, 48))).accumulation).filter((a) => a > 0).length;
    expect(mask.maskPixels).toBe(ballPixels);
    // Tinted red where the ball is: the red channel rises, the others fall.
    const c = project(orbitCamera(info.orbit, 48), BALL.centre);
    const p = (Math.floor(c.y) * 48 + Math.floor(c.x)) * 4;
    expect(mask.rgba[p]!).toBeGreaterThan(rgb.rgba[p]! + 50);
    expect(mask.rgba[p + 1]!).toBeLessThan(rgb.rgba[p + 1]!);
    // The mask node's own view shows its mask too.
    expect(s.orbitInfo('fusion')).toMatchObject({ ok: true, mask: ['ball'] });
  });

  it('a newer render cancels an older one still rendering; clicks lift to the ball or are refused', async () => {
    const { s } = service();
    await s.run(graph, () => undefined);
    const info = s.orbitInfo('nerf');
    if (!info.ok) throw new Error(info.reason);
    const old = s.renderOrbit('nerf', info.orbit, 64, 'rgb');
    const moved: Orbit = { ...info.orbit, azimuth: 1 };
    const fresh = s.renderOrbit('nerf', moved, 32, 'depth');
    await expect(old).rejects.toMatchObject({ name: 'AbortError' });
    expect((await fresh).width).toBe(32);

    const cam = orbitCamera(moved, 64);
    const c = project(cam, BALL.centre);
    const hit = await s.liftOrbit('nerf', moved, 64, c.x + 2, c.y - 3, 0.5);
    if (!hit.ok) throw new Error(hit.reason);
    expect(Math.hypot(hit.xyz[0] - BALL.centre[0], hit.xyz[1] - BALL.centre[1], hit.xyz[2] - BALL.centre[2])).toBeCloseTo(BALL.radius, 4);
    const back = project(cam, hit.xyz);
    expect(Math.abs(back.x - (c.x + 2))).toBeLessThanOrEqual(1);
    expect(Math.abs(back.y - (c.y - 3))).toBeLessThanOrEqual(1);
    const miss = await s.liftOrbit('nerf', moved, 64, 1, 1, 0.5);
    expect(miss).toMatchObject({ ok: false, reason: expect.stringMatching(/^empty space under the click/) });
  });
});
