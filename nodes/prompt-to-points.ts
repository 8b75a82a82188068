// PromptToPoints: the prompts SAM receives, from explicit clicks and a box,
// and/or from a heat map (ClipSeg) turned into points.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { HeatmapValue, ImageValue, PointsValue, PromptBox, PromptPoint } from '../engine/values';
import type { SamnerfHost } from './host';
import { heatmapToPoints } from './prompts/heatmap-points';

function checkPoints(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'expected an array of {"x", "y", "label"}';
  for (const [i, p] of value.entries()) {
    if (typeof p !== 'object' || p === null) return `point ${i} is not an object {"x", "y", "label"}`;
    const { x, y, label } = p as Record<string, unknown>;
    if (typeof x !== 'number' || typeof y !== 'number' || !Number.isFinite(x) || !Number.isFinite(y)) return `point ${i} needs numeric "x" and "y"`;
    if (label !== undefined && label !== 0 && label !== 1) return `point ${i} has label ${JSON.stringify(label)}; use 1 (foreground) or 0 (background)`;
  }
  return undefined;
}

function checkBox(value: unknown): string | undefined {
  if (value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return 'expected null or {"x0", "y0", "x1", "y1"}';
  const b = value as Record<string, unknown>;
  for (const k of ['x0', 'y0', 'x1', 'y1']) if (typeof b[k] !== 'number' || !Number.isFinite(b[k])) return `box needs a number "${k}"`;
  if ((b.x1 as number) <= (b.x0 as number) || (b.y1 as number) <= (b.y0 as number)) return 'box needs x1 > x0 and y1 > y0';
  return undefined;
}

export const PromptToPoints = defineNode({
  type: 'PromptToPoints',
  version: 1,
  category: 'Prompts',
  description: 'Clicks and a box in pixel coordinates, and/or points from a heat map (threshold, top-k peaks with NMS, optional background points)',
  inputs: {
    image: { type: 'Image', description: 'the photo the prompts refer to (gives their frame and bounds)', optional: true },
    heatmap: { type: 'Heatmap', description: 'e.g. a ClipSeg heat map; its peaks become foreground points', optional: true },
  },
  outputs: { points: { type: 'Points', description: 'points (x, y, label) and an optional box' } },
  params: {
    points: { type: 'json', shape: '[{"x": 500, "y": 375, "label": 1}, ...]', default: [], description: 'clicks in image pixels; label 1 = foreground, 0 = background', check: checkPoints },
    box: { type: 'json', shape: 'null or {"x0", "y0", "x1", "y1"}', default: null, description: 'a box around the object, in image pixels', check: checkBox },
    threshold: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.01, description: 'heat-map cells above this become candidate points' },
    topK: { type: 'integer', default: 5, min: 0, max: 64, description: 'most foreground points taken from the heat map' },
    grid: { type: 'integer', default: 32, min: 1, max: 512, description: 'heat-map cells along the long side of the image' },
    minDistance: { type: 'integer', default: 2, min: 0, max: 64, description: 'minimum distance between chosen cells, in cells (non-maximum suppression)' },
    backgroundPoints: { type: 'integer', default: 0, min: 0, max: 64, description: 'background points taken from the coldest cells' },
  },
  run(_ctx: NodeContext<SamnerfHost>, inputs, params) {
    const image = inputs.image as ImageValue | undefined;
    const heatmap = inputs.heatmap as HeatmapValue | undefined;
    const frame = image ?? heatmap;
    if (!frame) throw new NodeError('the prompts need a frame', { port: 'image', fix: 'connect the photo to "image" (or a heat map to "heatmap")' });
    if (image && heatmap && (image.width !== heatmap.width || image.height !== heatmap.height))
      throw new NodeError(`the heat map is ${heatmap.width}x${heatmap.height} but the image is ${image.width}x${image.height}`, { port: 'heatmap', fix: 'connect a heat map made from the same image' });
    const { width, height } = frame;
    const points: PromptPoint[] = (params.points as Array<{ x: number; y: number; label?: 0 | 1 }>).map((p) => ({ x: p.x, y: p.y, label: p.label ?? 1 }));
    points.forEach((p, i) => {
      if (p.x < 0 || p.y < 0 || p.x >= width || p.y >= height)
        throw new NodeError(`point ${i} (${p.x}, ${p.y}) is outside the ${width}x${height} image`, { param: 'points', fix: `use x in [0, ${width}) and y in [0, ${height})` });
    });
    const box = (params.box as PromptBox | null) ?? undefined;
    if (box && (box.x0 < 0 || box.y0 < 0 || box.x1 > width || box.y1 > height))
      throw new NodeError(`the box (${box.x0}, ${box.y0})-(${box.x1}, ${box.y1}) leaves the ${width}x${height} image`, { param: 'box' });
    if (heatmap) {
      const found = heatmapToPoints(heatmap, {
        grid: params.grid as number,
        threshold: params.threshold as number,
        topK: params.topK as number,
        minDistance: params.minDistance as number,
        background: params.backgroundPoints as number,
      });
      if (!found.points.some((p) => p.label === 1) && points.length === 0 && !box)
        throw new NodeError(`no heat-map cell is above the threshold ${params.threshold} (the hottest cell is ${found.maxCell.toFixed(3)})`, {
          param: 'threshold',
          fix: `lower "threshold" below ${found.maxCell.toFixed(2)} or rephrase the text prompt`,
        });
      points.push(...found.points);
    }
    if (points.length === 0 && !box) throw new NodeError('no prompt: no points, no box and no heat map', { param: 'points', fix: 'add a click, a box, or connect a heat map' });
    const value: PointsValue = { kind: 'Points', width, height, points, box };
    return { points: value };
  },
});
