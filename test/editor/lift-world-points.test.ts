// LiftPrompts' worldPoints (what the editor's 3D view records): world points
// join the prompts as they are, attributed to a view that sees them on a
// surface; a point in empty space is refused with the reason. On a
// generated scene with exact depth (depthSource "dataset").

import { beforeAll, describe, expect, it } from 'vitest';
import { Executor, NodeError, validateGraph, type GraphJson } from '../../engine';
import type { Prompts3DValue } from '../../engine/values';
import { createNodeHost } from '../../cli/node-host';
import { createNodeRegistry } from '../../nodes';
import { datasetGeometry } from '../../nodes/lock3d/geometry';
import { liftClick } from '../../nodes/lock3d/project';
import { project } from '../../nodes/views/camera';
import { makeScene, userClick, type TestScene } from '../lock3d/helpers';

let t: TestScene;
beforeAll(async () => {
  t = await makeScene({ views: 16, size: 64, seed: 3 });
});

const registry = createNodeRegistry();

async function run(params: Record<string, unknown>) {
  const graph: GraphJson = {
    format: 'samnerf.graph',
    version: 1,
    nodes: [
      { id: 'data', type: 'ImageLoader', version: 1, params: { path: t.dir, splits: 'train,test' } },
      { id: 'prompt', type: 'LiftPrompts', version: 1, params: { depthSource: 'dataset', ...params } },
    ],
    edges: [{ from: 'data.views', to: 'prompt.views' }],
  };
  const v = validateGraph(graph, registry);
  if (!v.compiled) return { errors: v.errors };
  const result = await new Executor({ host: await createNodeHost({ out: `${t.dir}/out`, device: 'cpu' }) }).run(v.compiled);
  return { result };
}

async function surfacePoint(id: number): Promise<[number, number, number]> {
  const click = userClick(t, id);
  const view = t.byName.get(click.view)!;
  const lifted = liftClick(view.camera, await datasetGeometry(t.views).render(view.camera, view.name), click.x, click.y, 0.5);
  if (!lifted.ok) throw new Error(lifted.reason);
  return lifted.position.map((c) => Math.round(c * 1e4) / 1e4) as [number, number, number];
}

describe('LiftPrompts worldPoints', () => {
  it('adds a world point on an object as it is, in a train view whose pixel shows that object', async () => {
    const xyz = await surfacePoint(2);
    const { result } = await run({ worldPoints: [{ xyz, label: 1, object: 1 }] });
    expect(result!.status).toBe('done');
    const prompts = result!.outputs.get('prompt')!.prompts as Prompts3DValue;
    expect(Array.from(prompts.positions)).toEqual(Array.from(Float32Array.from(xyz)));
    expect(Array.from(prompts.labels)).toEqual([1]);
    const source = prompts.sources[0]!;
    const view = t.byName.get(source.view)!;
    expect(view.split).toBe('train');
    expect(view.instances![source.y * view.camera.width + source.x]).toBe(2);
    const q = project(view.camera, xyz);
    expect(Math.abs(q.x - (source.x + 0.5))).toBeLessThanOrEqual(1.5);
    expect(Math.abs(q.y - (source.y + 0.5))).toBeLessThanOrEqual(1.5);
    expect(prompts.objects).toEqual([{ id: 1, name: 'object 1', view: source.view }]);
  });

  it('mixes with 2D clicks: groups, labels and order (clicks first)', async () => {
    const a = userClick(t, 1);
    const xyz = await surfacePoint(2);
    const { result } = await run({ points: [{ ...a, label: 1, object: 1 }], worldPoints: [{ xyz, label: 1, object: 2 }, { xyz, label: 0, object: 1 }], names: ['one', 'two'] });
    expect(result!.status).toBe('done');
    const prompts = result!.outputs.get('prompt')!.prompts as Prompts3DValue;
    expect(Array.from(prompts.object)).toEqual([0, 1, 0]);
    expect(Array.from(prompts.labels)).toEqual([1, 1, 0]);
    expect(prompts.objects.map((o) => [o.name, o.view])).toEqual([['one', a.view], ['two', prompts.sources[1]!.view]]);
  });

  it('refuses a world point in empty space, naming worldPoints, and checks the param shape', async () => {
    const { result } = await run({ worldPoints: [{ xyz: [0, 0, 50], label: 1 }] });
    expect(result!.status).toBe('failed');
    const failure = result!.failures.get('prompt')!;
    expect((failure.error as NodeError).param).toBe('worldPoints');
    expect(failure.message).toMatch(/object 1 has no foreground click on a surface — world point 0 \(0\.000, 0\.000, 50\.000\): no view sees it on a surface/);
    const bad = await run({ worldPoints: [{ xyz: [0, 0], label: 1 }] });
    expect(bad.errors!.map((e) => e.message).join()).toMatch(/world point 0 needs "xyz": three finite numbers/);
  });
});
