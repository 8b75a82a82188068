// LiftPrompts: clicks in a view of a posed scene -> world points at the
// rendered depth of their pixels (docs/lock3d.md). Several prompt groups
// ("object": 1, 2, ...) give several labelled objects. Clicks on pixels with
// low accumulated opacity are refused and reported.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { PointsValue, Prompts3DValue, RadianceFieldValue, View, ViewsValue } from '../engine/values';
import type { SamnerfHost } from './host';
import { chooseGeometry, type DepthSource } from './lock3d/geometry';
import { liftClick } from './lock3d/project';

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
    if (clicks.length === 0) throw new NodeError('no clicks', { param: 'points', fix: 'add a click on the object, e.g. [{"x": 60, "y": 48, "label": 1}], or connect PromptToPoints' });

    const groups = [...new Set(clicks.map((c) => c.object))].sort((a, b) => a - b);
    const names = params.names as string[];
    const objects: Prompts3DValue['objects'] = groups.map((id) => ({
      id,
      name: names[id - 1] || `object ${id}`,
      view: clicks.find((c) => c.object === id && c.label === 1)?.view ?? clicks.find((c) => c.object === id)!.view,
    }));
    const positions: number[] = [], labels: number[] = [], object: number[] = [];
    const sources: Prompts3DValue['sources'] = [];
    const rejected: Prompts3DValue['rejected'] = [];
    const minAccumulation = params.minAccumulation as number;
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
    for (const [index, o] of objects.entries()) {
      if (!object.some((k, i) => k === index && labels[i] === 1)) {
        const why = rejected.filter((r) => r.object === index).map((r) => `(${r.x}, ${r.y}): ${r.reason}`).join('; ');
        throw new NodeError(`${o.name} has no foreground click on a surface${why ? ` — ${why}` : ''}`, {
          param: 'points',
          fix: `click on the object itself (label 1)${depthSource === 'field' ? ', lower minAccumulation, or train the NeRF longer' : ''}`,
        });
      }
    }
    ctx.log(`lifted ${sources.length} of ${clicks.length} clicks (${objects.map((o) => o.name).join(', ')}) with ${depthSource} depth${rejected.length ? `; ${rejected.length} refused` : ''}`);
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
