// SAM's embedding grid over an image: the image is resized so its long side
// is 1024 (sizes rounded as segment-anything's ResizeLongestSide) and padded
// bottom / right to 1024 x 1024; each of the 64 x 64 cells covers 16 x 16
// input pixels. Cells with any image pixel are "valid" (ceil(newW / 16)
// columns, ceil(newH / 16) rows, as the original crops its targets); the
// others see only padding.
//
// The patch of a cell: P x P rays at the centres of a P x P subdivision of
// the cell's footprint in the original image, the same in training and at
// inference (the original trains on adjacent pixels but renders spread over
// the cell; this avoids that mismatch).

import type { Camera } from '../../engine/values';
import { pixelRay } from '../nerf/rays';

export const EMBED_SIDE = 64;
export const EMBED_CELLS = EMBED_SIDE * EMBED_SIDE;
const INPUT = 1024;
const CELL = INPUT / EMBED_SIDE;

export interface CellGrid {
  width: number;
  height: number;
  resizedWidth: number;
  resizedHeight: number;
  /** Valid cells per row and per column. */
  cols: number;
  rows: number;
}

export function cellGrid(width: number, height: number): CellGrid {
  if (!(width > 0 && height > 0)) throw new RangeError(`image size must be positive, got ${width}x${height}`);
  const scale = INPUT / Math.max(width, height);
  const resizedHeight = Math.trunc(height * scale + 0.5), resizedWidth = Math.trunc(width * scale + 0.5);
  return { width, height, resizedWidth, resizedHeight, cols: Math.ceil(resizedWidth / CELL), rows: Math.ceil(resizedHeight / CELL) };
}

/**
 * Rays of cell (cx, cy)'s patch into out (6 per ray) from ray index `at`,
 * row-major within the patch. Positions are continuous image coordinates
 * (a pixel spans [u, u + 1)), mapped back from the resized frame with the
 * rounded sizes as SAM maps clicks. With `only` >= 0, writes that one ray
 * of the patch (index j P + i) at `at`.
 */
export function cellRays(camera: Camera, grid: CellGrid, cx: number, cy: number, P: number, out: Float64Array, at: number, only = -1): void {
  const sx = grid.width / grid.resizedWidth, sy = grid.height / grid.resizedHeight;
  const ray = new Float64Array(6);
  for (let j = 0; j < P; j++)
    for (let i = 0; i < P; i++) {
      if (only >= 0) {
        if (j * P + i !== only) continue;
        const x = CELL * (cx + (i + 0.5) / P) * sx, y = CELL * (cy + (j + 0.5) / P) * sy;
        pixelRay(camera, x - 0.5, y - 0.5, out.subarray(6 * at, 6 * at + 6));
        return;
      }
      const x = CELL * (cx + (i + 0.5) / P) * sx, y = CELL * (cy + (j + 0.5) / P) * sy;
      pixelRay(camera, x - 0.5, y - 0.5, ray);
      out.set(ray, 6 * (at + j * P + i));
    }
}

/** Rays of every valid cell (row-major cells, then the patch), and the cells' indices in the 64 x 64 grid. */
export function gridRays(camera: Camera, grid: CellGrid, P: number): { rays: Float64Array; cells: Uint32Array } {
  const n = grid.cols * grid.rows;
  const rays = new Float64Array(6 * n * P * P);
  const cells = new Uint32Array(n);
  let c = 0;
  for (let y = 0; y < grid.rows; y++)
    for (let x = 0; x < grid.cols; x++) {
      cellRays(camera, grid, x, y, P, rays, c * P * P);
      cells[c++] = y * EMBED_SIDE + x;
    }
  return { rays, cells };
}
