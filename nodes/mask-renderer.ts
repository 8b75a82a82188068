// MaskRenderer (2D): writes what a user keeps from a segmentation:
// mask.png (255 = object), overlay.png (mask tinted over the photo, prompts
// drawn), heatmap.png for heat maps, and result.json with the numbers.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { HeatmapValue, ImageValue, MaskValue, PointsValue } from '../engine/values';
import { drawBox, drawPoints, heatmapToRgb, maskToGray, tintMask, type Colormap } from '../runtime-gpu/image/draw';
import type { SamnerfHost } from './host';
import { colorParam } from './params';

export interface MaskStats {
  area: number;
  /** Fraction of the image covered. */
  coverage: number;
  bbox: { x0: number; y0: number; x1: number; y1: number } | null;
  centroid: { x: number; y: number } | null;
}

export function maskStats(mask: Pick<MaskValue, 'width' | 'height' | 'data'>): MaskStats {
  let area = 0, sx = 0, sy = 0;
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      area++;
      sx += x;
      sy += y;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return {
    area,
    coverage: area / (mask.width * mask.height),
    bbox: area ? { x0, y0, x1: x1 + 1, y1: y1 + 1 } : null,
    centroid: area ? { x: sx / area, y: sy / area } : null,
  };
}

function blendHeatmap(image: ImageValue, heatmap: HeatmapValue, colormap: Colormap): Uint8Array {
  const colours = heatmapToRgb(heatmap, colormap);
  const out = new Uint8Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(image.data[i]! * 0.5 + colours[i]! * 0.5);
  return out;
}

export const MaskRenderer = defineNode({
  type: 'MaskRenderer',
  version: 1,
  category: 'Output',
  description: 'Writes mask.png, overlay.png (mask and prompts over the photo), heatmap.png and result.json to <out>/<node id>/',
  inputs: {
    image: { type: 'Image', description: 'the photo under the overlay' },
    mask: { type: 'Mask', description: 'the mask to write and draw', optional: true },
    points: { type: 'Points', description: 'prompts to draw on the overlay', optional: true },
    heatmap: { type: 'Heatmap', description: 'a heat map to write (and to draw when there is no mask)', optional: true },
  },
  outputs: { overlay: { type: 'Image', description: 'the overlay, for previews' } },
  params: {
    color: colorParam('mask tint colour', [30, 144, 255]),
    opacity: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, description: 'mask tint opacity' },
    colormap: { type: 'enum', options: ['viridis', 'jet'], default: 'viridis', description: 'heat-map colours' },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const image = inputs.image as ImageValue;
    const mask = inputs.mask as MaskValue | undefined;
    const points = inputs.points as PointsValue | undefined;
    const heatmap = inputs.heatmap as HeatmapValue | undefined;
    const { width, height } = image;
    for (const [port, v] of [['mask', mask], ['heatmap', heatmap], ['points', points]] as const) {
      if (v && (v.width !== width || v.height !== height))
        throw new NodeError(`"${port}" is ${v.width}x${v.height} but the image is ${width}x${height}`, { port, fix: `connect a ${port} made from the same image` });
    }
    const { output, images } = ctx.host;
    const colormap = params.colormap as Colormap;
    const result: Record<string, unknown> = { image: image.name, width, height };
    let overlay: Uint8Array = image.data;
    if (mask) {
      await output.write(ctx.nodeId, 'mask.png', await images.encodePng({ width, height, channels: 1, data: maskToGray(mask) }));
      overlay = tintMask(image, mask, params.color as [number, number, number], params.opacity as number);
      Object.assign(result, maskStats(mask), { score: mask.score ?? null });
    } else if (heatmap) {
      overlay = blendHeatmap(image, heatmap, colormap);
    }
    if (heatmap) {
      await output.write(ctx.nodeId, 'heatmap.png', await images.encodePng({ width, height, channels: 3, data: heatmapToRgb(heatmap, colormap) }));
      result.heatmap = heatmap.label ?? null;
    }
    if (points) {
      if (overlay === image.data) overlay = image.data.slice();
      if (points.box) drawBox(overlay, width, height, points.box);
      drawPoints(overlay, width, height, points.points);
      result.points = points.points;
      result.box = points.box ?? null;
    }
    await output.write(ctx.nodeId, 'overlay.png', await images.encodePng({ width, height, channels: 3, data: overlay }));
    await output.write(ctx.nodeId, 'result.json', JSON.stringify(result, null, 2) + '\n');
    const preview: ImageValue = { kind: 'Image', width, height, data: overlay, name: `${ctx.nodeId}/overlay.png` };
    return { overlay: preview };
  },
});
