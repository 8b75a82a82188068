// Heat map -> SAM point prompts, after SAM-NeRF's ClipSeg-to-points step:
// average-pool the map into square cells, keep cells above a threshold, take
// the strongest with non-maximum suppression, and place each point at its
// cell's centre (the original used the top-left corner, which biases every
// point up and left by half a cell).

import type { HeatmapValue, PromptPoint } from '../../engine/values';

export interface HeatmapPointOptions {
  /** Cells along the image's long side. */
  grid: number;
  /** Minimum mean heat of a cell to become a foreground point. */
  threshold: number;
  /** Most foreground points. */
  topK: number;
  /** Minimum distance between chosen cells, in cells (Chebyshev). */
  minDistance: number;
  /** Background points from the coldest cells (0 = none). */
  background: number;
}

export interface CellGrid {
  cellSize: number;
  cols: number;
  rows: number;
  /** Mean heat per cell, row-major. */
  means: Float32Array;
}

export function poolCells(heatmap: Pick<HeatmapValue, 'width' | 'height' | 'data'>, grid: number): CellGrid {
  const { width, height, data } = heatmap;
  const cellSize = Math.max(1, Math.ceil(Math.max(width, height) / grid));
  const cols = Math.ceil(width / cellSize);
  const rows = Math.ceil(height / cellSize);
  const sums = new Float64Array(cols * rows);
  const counts = new Uint32Array(cols * rows);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / cellSize) * cols;
    for (let x = 0; x < width; x++) {
      const cell = row + Math.floor(x / cellSize);
      sums[cell]! += data[y * width + x]!;
      counts[cell]!++;
    }
  }
  const means = new Float32Array(cols * rows);
  for (let i = 0; i < means.length; i++) means[i] = sums[i]! / counts[i]!;
  return { cellSize, cols, rows, means };
}

/** Greedy NMS over cells in the given order: keep a cell only if far enough from every kept one. */
function pickSpread(order: number[], grid: CellGrid, count: number, minDistance: number): number[] {
  const kept: number[] = [];
  for (const cell of order) {
    if (kept.length >= count) break;
    const cx = cell % grid.cols;
    const cy = Math.floor(cell / grid.cols);
    const far = kept.every((k) => Math.max(Math.abs((k % grid.cols) - cx), Math.abs(Math.floor(k / grid.cols) - cy)) >= minDistance);
    if (far) kept.push(cell);
  }
  return kept;
}

function cellCentre(cell: number, grid: CellGrid, width: number, height: number): { x: number; y: number } {
  const cx = cell % grid.cols;
  const cy = Math.floor(cell / grid.cols);
  const x0 = cx * grid.cellSize;
  const y0 = cy * grid.cellSize;
  return { x: (x0 + Math.min(x0 + grid.cellSize, width)) / 2, y: (y0 + Math.min(y0 + grid.cellSize, height)) / 2 };
}

export interface HeatmapPoints {
  points: PromptPoint[];
  /** Highest cell mean, for messages when nothing passes the threshold. */
  maxCell: number;
}

export function heatmapToPoints(heatmap: Pick<HeatmapValue, 'width' | 'height' | 'data'>, options: HeatmapPointOptions): HeatmapPoints {
  const grid = poolCells(heatmap, options.grid);
  const cells = Array.from(grid.means.keys());
  const hot = cells.filter((c) => grid.means[c]! > options.threshold).sort((a, b) => grid.means[b]! - grid.means[a]! || a - b);
  const cold = [...cells].sort((a, b) => grid.means[a]! - grid.means[b]! || a - b);
  const points: PromptPoint[] = [];
  for (const cell of pickSpread(hot, grid, options.topK, options.minDistance))
    points.push({ ...cellCentre(cell, grid, heatmap.width, heatmap.height), label: 1 });
  if (options.background > 0) {
    // Background cells must be below the threshold whatever their rank.
    const coldEnough = cold.filter((c) => grid.means[c]! <= options.threshold);
    for (const cell of pickSpread(coldEnough, grid, options.background, options.minDistance))
      points.push({ ...cellCentre(cell, grid, heatmap.width, heatmap.height), label: 0 });
  }
  let maxCell = 0;
  for (const m of grid.means) maxCell = Math.max(maxCell, m);
  return { points, maxCell };
}
