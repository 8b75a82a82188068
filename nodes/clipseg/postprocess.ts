// ClipSeg's logits -> one heat map per text at the photo's size.

import type { HeatmapValue } from '../../engine/values';
import { resizeFloat } from '../../runtime-gpu/image/resize';

/**
 * Sigmoid, then torch-style bilinear resize (align_corners=false) of every map
 * to width x height. Accepts logits [N, h, w], [N, 1, h, w], or [h, w] (the HF
 * export squeezes N when there is a single text).
 */
export function logitsToHeatmaps(
  logits: Float32Array,
  dims: readonly number[],
  width: number,
  height: number,
  labels: readonly string[],
): HeatmapValue[] {
  const { count, mapH, mapW } = mapLayout(dims);
  if (logits.length !== count * mapH * mapW) {
    throw new Error(`logitsToHeatmaps: ${logits.length} values do not fill dims [${dims.join(', ')}]`);
  }
  if (labels.length !== count) {
    throw new Error(`logitsToHeatmaps: ${count} map(s) in logits [${dims.join(', ')}] but ${labels.length} label(s)`);
  }
  const probabilities = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) probabilities[i] = 1 / (1 + Math.exp(-logits[i]!));
  // Sigmoid first keeps every resized value a convex mix of probabilities, so still in [0, 1].
  const resized = resizeFloat(probabilities, mapW, mapH, width, height, count);
  const plane = width * height;
  return labels.map((label, n) => ({
    kind: 'Heatmap',
    width,
    height,
    // Own buffers, so one map can be sent to a worker without dragging the others along.
    data: count === 1 ? resized : resized.slice(n * plane, (n + 1) * plane),
    label,
  }));
}

function mapLayout(dims: readonly number[]): { count: number; mapH: number; mapW: number } {
  if (dims.length === 2) return { count: 1, mapH: dims[0]!, mapW: dims[1]! };
  if (dims.length === 3) return { count: dims[0]!, mapH: dims[1]!, mapW: dims[2]! };
  if (dims.length === 4 && dims[1] === 1) return { count: dims[0]!, mapH: dims[2]!, mapW: dims[3]! };
  throw new Error(`logitsToHeatmaps: expected logits [N, h, w], [N, 1, h, w] or [h, w], got [${dims.join(', ')}]`);
}
