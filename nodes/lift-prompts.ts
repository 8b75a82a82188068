// LiftPrompts: clicks in a view of a posed scene -> world points at the
// rendered depth of their pixels (docs/lock3d.md). Several prompt groups
// ("object": 1, 2, ...) give several labelled objects. Clicks on pixels with
// low accumulated opacity are refused and reported. World points
// (`worldPoints`, the editor's orbit view adds them) join as they are, each
// attributed to the view that sees it most directly without occlusion.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { PointsValue, Prompts3DValue, RadianceFieldValue, View, ViewsValue } from '../engine/values';
import type { SamnerfHost } from './host';
import { chooseGeometry, type DepthSource } from './lock3d/geometry';
import { liftClick, reprojectPoint } from './lock3d/project';
import { cameraCentre, cameraForward } from './views/camera';

interface WorldPoint {
  xyz: [number, number, number];
  label: 0 | 1;
  object: number;
}

function checkWorldPoints(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'expected an array of {"xyz": [x, y, z], "label", "object"}';
  for (const [i, p] of value.entries()) {
    if (typeof p !== 'object' || p === null) return `world point ${i} is not an object {"xyz": [x, y, z], "label"}`;
    const { xyz, label, object } = p as Record<string, unknown>;
    if (!Array.isArray(xyz) || xyz.length !== 3 || xyz.some((c) => typeof c !== 'number' || !Number.isFinite(c))) return `world point ${i} needs "xyz": three finite numbers (world units)`;
    if (label !== undefined && label !== 0 && label !== 1) return `world point ${i} has label ${JSON.stringify(label)}; use 1 (object) or 0 (background)`;
    if (object !== undefined && (typeof object !== 'number' || !Number.isInteger(object) || object < 1 || object > 255))
      return `world point ${i} has object ${JSON.stringify(object)}; use an integer 1-255 (the prompt group)`;
  }
  return undefined;
}

/** Views tried per world point, most direct first, before it counts as seen by none. */
const WORLD_VIEW_TRIES = 8;

interface Click {
  x: number;
  y: number;
  label: 0 | 1;
  object: number;
  view: string;
}

function checkClicks(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'expected an array of {"x", "y", "label", "object", "view"}';
  for (const [i, p] of value.entries()) {
    if (typeof p !== 'object' || p === null) return `point ${i} is not an object {"x", "y", "label"}`;
    const { x, y, label, object, view } = p as Record<string, unknown>;
    if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) return `point ${i} needs numeric "x" and "y"`;
    if (label !== undefined && label !== 0 && label !== 1) return `point ${i} has label ${JSON.stringify(label)}; use 1 (object) or 0 (background)`;
    if (object !== undefined && (typeof object !== 'number' || !Number.isInteger(object) || object < 1 || object > 255))
      return `point ${i} has object ${JSON.stringify(object)}; use an integer 1-255 (the prompt group)`;
    if (view !== undefined && typeof view !== 'string') return `point ${i} has a non-string "view"`;
  }
  return undefined;
}

function checkNames(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return 'expected an array of names, e.g. ["red box", "cone"]';
  return undefined;
}

export const LiftPrompts = defineNode({
  type: 'LiftPrompts',
  version: 1,
  category: '3D segmentation',
  description: 'Lifts clicks in one view of a posed scene to 3D points at the rendered depth of their pixels; prompt groups ("object": 1, 2, ...) make several labelled objects',
  inputs: {
    views: { type: 'Views', description: 'the posed views (ImageLoader on a dataset folder)' },
    field: { type: 'RadianceField', description: 'the trained NeRF whose depth lifts the clicks (depthSource "field")', optional: true },
    points: { type: 'Points', description: 'extra prompts for object 1 in "view", e.g. ClipSeg peaks from PromptToPoints', optional: true },
  },
  outputs: { prompts: { type: 'Prompts3D', description: 'the clicks as world points with labels and object groups' } },
  params: {
    view: { type: 'string', default: '', description: 'the view the clicks are in, by name (e.g. "train/r_0"); empty = the first view' },
    points: {
      type: 'json',
      shape: '[{"x": 60, "y": 48, "label": 1, "object": 1}, ...]',
      default: [],
      description: 'clicks in pixels of the view; label 1 = object, 0 = background; "object" groups clicks into objects (default 1); "view" overrides the view per click',
      check: checkClicks,
    },
    names: { type: 'json', shape: '["red box", ...]', default: [], description: 'names of objects 1, 2, ... (default "object 1", ...)', check: checkNames },
    depthSource: {
      type: 'enum',
      options: ['field', 'dataset'],
      default: 'field',
      description: 'depth from the radiance field, or the dataset\'s ground-truth depth maps (generated scenes); every 3D node downstream follows this choice',
    },
    minAccumulation: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, description: 'clicks on pixels less opaque than this are refused (no surface to lift to)' },
    worldPoints: {
      type: 'json',
      shape: '[{"xyz": [0.1, 0.2, 0.3], "label": 1, "object": 1}, ...]',
      default: [],
      description:
        'prompts as world points (the editor\'s 3D view adds them by clicks on the field); each is attributed to the train view that sees it most directly, unoccluded, at its projected pixel',
      check: checkWorldPoints,
    },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const views = inputs.views as ViewsValue;
    const field = inputs.field as RadianceFieldValue | undefined;
    const extra = inputs.points as PointsValue | undefined;
    const depthSource = params.depthSource as DepthSource;
    const geometry = chooseGeometry(depthSource, views, field);
    const byName = new Map<string, View>(views.views.map((v) => [v.name, v]));
    const defaultView = (params.view as string) || views.views[0]!.name;
    const findView = (name: string, where: { param?: string; port?: string }): View => {
      const view = byName.get(name);
      if (!view) {
        const some = views.views.slice(0, 4).map((v) => v.name).join(', ');
        throw new NodeError(`the views have no view "${name}"`, { ...where, fix: `use a view name such as ${some}` });
      }
      return view;
    };
    findView(defaultView, { param: 'view' });
    const clicks: Click[] = (params.points as Array<Partial<Click> & { x: number; y: number }>).map((p) => ({
      x: p.x,
      y: p.y,
      label: p.label ?? 1,
      object: p.object ?? 1,
      view: p.view ?? defaultView,
    }));
    if (extra) {
      const view = findView(defaultView, { param: 'view' });
      if (extra.width !== view.camera.width || extra.height !== view.camera.height)
        throw new NodeError(`the points are for a ${extra.width}x${extra.height} image but view "${view.name}" is ${view.camera.width}x${view.camera.height}`, {
          port: 'points',
          fix: 'make the prompts on the same view (ImageLoader "view" = LiftPrompts "view")',
        });
      for (const p of extra.points) clicks.push({ x: p.x, y: p.y, label: p.label, object: 1, view: view.name });
    }
    const world: WorldPoint[] = (params.worldPoints as Array<Partial<WorldPoint> & { xyz: [number, number, number] }>).map((p) => ({
      xyz: p.xyz,
      label: p.label ?? 1,
      object: p.object ?? 1,
    }));
    if (clicks.length === 0 && world.length === 0)
      throw new NodeError('no clicks', { param: 'points', fix: 'add a click on the object, e.g. [{"x": 60, "y": 48, "label": 1}], connect PromptToPoints, or click the field in the editor\'s 3D view (worldPoints)' });

    const minAccumulation = params.minAccumulation as number;
    // World points: the view that sees each most directly (smallest angle off its axis), unoccluded.
    const candidates = views.views.some((v) => v.split === 'train') ? views.views.filter((v) => v.split === 'train') : views.views;
    const placed: Array<{ view: View; x: number; y: number; depth: number } | { reason: string }> = [];
    for (const p of world) {
      const ranked = candidates
        .map((v) => {
          const eye = cameraCentre(v.camera), f = cameraForward(v.camera);
          const d = [p.xyz[0] - eye[0], p.xyz[1] - eye[1], p.xyz[2] - eye[2]];
          const cos = (d[0]! * f[0] + d[1]! * f[1] + d[2]! * f[2]) / (Math.hypot(d[0]!, d[1]!, d[2]!) * Math.hypot(...f) || 1);
          return { v, cos };
        })
        .filter((c) => c.cos > 0)
        .sort((a, b) => b.cos - a.cos)
        .slice(0, WORLD_VIEW_TRIES);
      let found: { view: View; x: number; y: number; depth: number } | undefined;
      const reasons: Record<string, number> = {};
      for (const { v } of ranked) {
        const render = await geometry.render(v.camera, v.name, ctx.signal);
        const r = reprojectPoint(v.camera, render, p.xyz, { occlusion: true, depthTolerance: 0.03, minAccumulation, snapRadius: 1 });
        if (r.visible) {
          found = { view: v, x: r.x, y: r.y, depth: r.depth };
          break;
        }
        reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
      }
      placed.push(
        found ?? {
          reason: `no view sees it on a surface (${ranked.length} tried${Object.keys(reasons).length ? `: ${Object.entries(reasons).map(([k, n]) => `${n} ${k}`).join(', ')}` : ''})`,
        },
      );
    }

    const groups = [...new Set([...clicks.map((c) => c.object), ...world.map((w) => w.object)])].sort((a, b) => a - b);
    const names = params.names as string[];
    const worldView = (id: number, fg: boolean) => {
      const i = world.findIndex((w, k) => w.object === id && (!fg || w.label === 1) && 'view' in placed[k]!);
      return i >= 0 ? (placed[i] as { view: View }).view.name : undefined;
    };
    const objects: Prompts3DValue['objects'] = groups.map((id) => ({
      id,
      name: names[id - 1] || `object ${id}`,
      view: clicks.find((c) => c.object === id && c.label === 1)?.view ?? worldView(id, true) ?? clicks.find((c) => c.object === id)?.view ?? worldView(id, false) ?? defaultView,
    }));
    const positions: number[] = [], labels: number[] = [], object: number[] = [];
    const sources: Prompts3DValue['sources'] = [];
    const rejected: Prompts3DValue['rejected'] = [];
    for (const [i, click] of clicks.entries()) {
      const view = findView(click.view, { param: 'points' });
      const { width, height } = view.camera;
      if (click.x < 0 || click.y < 0 || click.x >= width || click.y >= height)
        throw new NodeError(`point ${i} (${click.x}, ${click.y}) is outside the ${width}x${height} view "${view.name}"`, { param: 'points', fix: `use x in [0, ${width}) and y in [0, ${height})` });
      const render = await geometry.render(view.camera, view.name, ctx.signal);
      const lifted = liftClick(view.camera, render, click.x, click.y, minAccumulation);
      const index = groups.indexOf(click.object);
      if (!lifted.ok) {
        rejected.push({ view: view.name, x: click.x, y: click.y, object: index, reason: lifted.reason });
        ctx.log(`point ${i} (${click.x}, ${click.y}) in ${view.name} not lifted: ${lifted.reason}`);
        continue;
      }
      positions.push(...lifted.position);
      labels.push(click.label);
      object.push(index);
      sources.push({ view: view.name, x: Math.floor(click.x), y: Math.floor(click.y), depth: lifted.depth });
    }
    for (const [i, p] of world.entries()) {
      const at = placed[i]!;
      const index = groups.indexOf(p.object);
      if (!('view' in at)) {
        rejected.push({ view: 'world', x: 0, y: 0, object: index, reason: `world point ${i} (${p.xyz.map((c) => c.toFixed(3)).join(', ')}): ${at.reason}` });
        ctx.log(`world point ${i} (${p.xyz.map((c) => c.toFixed(3)).join(', ')}) not used: ${at.reason}`);
        continue;
      }
      positions.push(...p.xyz);
      labels.push(p.label);
      object.push(index);
      sources.push({ view: at.view.name, x: at.x, y: at.y, depth: at.depth });
    }
    for (const [index, o] of objects.entries()) {
      if (!object.some((k, i) => k === index && labels[i] === 1)) {
        const why = rejected.filter((r) => r.object === index).map((r) => (r.view === 'world' ? r.reason : `(${r.x}, ${r.y}): ${r.reason}`)).join('; ');
        throw new NodeError(`${o.name} has no foreground click on a surface${why ? ` — ${why}` : ''}`, {
          param: clicks.some((c) => c.object === o.id) || world.every((w) => w.object !== o.id) ? 'points' : 'worldPoints',
          fix: `click on the object itself (label 1)${depthSource === 'field' ? ', lower minAccumulation, or train the NeRF longer' : ''}`,
        });
      }
    }
    ctx.log(`lifted ${sources.length} of ${clicks.length + world.length} ${world.length ? 'clicks and world points' : 'clicks'} (${objects.map((o) => o.name).join(', ')}) with ${depthSource} depth${rejected.length ? `; ${rejected.length} refused` : ''}`);
    const prompts: Prompts3DValue = {
      kind: 'Prompts3D',
      positions: Float32Array.from(positions),
      labels: Uint8Array.from(labels),
      object: Uint16Array.from(object),
      sources,
      objects,
      rejected,
      depthSource,
    };
    return { prompts };
  },
});
