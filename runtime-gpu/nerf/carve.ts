// Space carving of the occupancy grid from alpha masks (the visual hull):
// a cell whose whole projected footprint is transparent (alpha = 0) in some
// training view cannot hold anything that view saw, so the grid starts with
// only the hull occupied instead of the whole box. Early training then
// marches a few dozen samples per ray instead of hundreds. Only for box-mode
// fields trained on views with alpha; conservative: a footprint that leaves
// the image, or lies behind the camera, carves nothing.

import type { View } from '../../engine/values';
import type { SceneMapping } from './config';
import type { OccupancyGrid } from './occupancy';

/** Summed-area table of (alpha > 0), (w + 1) x (h + 1). */
function opaqueTable(alpha: Uint8Array, w: number, h: number): Int32Array {
  const sat = new Int32Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += alpha[y * w + x]! > 0 ? 1 : 0;
      sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1]! + row;
    }
  }
  return sat;
}

/**
 * Returns a mask (1 = inside the hull) over the grid's cells and clears the
 * occupied flag of every carved cell. Views without alpha are ignored.
 */
export function carveFromAlpha(grid: OccupancyGrid, mapping: SceneMapping, views: readonly View[], marginPixels = 2): Uint8Array {
  const G = grid.resolution;
  const hull = new Uint8Array(grid.cells).fill(1);
  if (mapping.mode !== 'box') return hull;
  const usable = views.filter((v) => v.alpha);
  if (usable.length === 0) return hull;
  const cellSize = (2 * mapping.halfSize) / G;
  const halfDiagonal = (Math.sqrt(3) / 2) * cellSize;
  const [cx0, cy0, cz0] = mapping.center;
  const tables = usable.map((v) => opaqueTable(v.alpha!, v.image.width, v.image.height));
  for (let z = 0; z < G; z++) {
    const wz = cz0 - mapping.halfSize + (z + 0.5) * cellSize;
    for (let y = 0; y < G; y++) {
      const wy = cy0 - mapping.halfSize + (y + 0.5) * cellSize;
      for (let x = 0; x < G; x++) {
        const wx = cx0 - mapping.halfSize + (x + 0.5) * cellSize;
        for (let i = 0; i < usable.length; i++) {
          const cam = usable[i]!.camera;
          const m = cam.cameraToWorld;
          const px = wx - m[3]!, py = wy - m[7]!, pz = wz - m[11]!;
          // Camera coordinates: R^T (p - o).
          const X = m[0]! * px + m[4]! * py + m[8]! * pz;
          const Y = m[1]! * px + m[5]! * py + m[9]! * pz;
          const Z = m[2]! * px + m[6]! * py + m[10]! * pz;
          const depth = -Z;
          if (depth <= halfDiagonal) continue;
          const u = cam.cx + (cam.fx * X) / depth, v = cam.cy - (cam.fy * Y) / depth;
          const r = (halfDiagonal * Math.max(cam.fx, cam.fy)) / (depth - halfDiagonal) + marginPixels;
          const x0 = Math.floor(u - r), x1 = Math.ceil(u + r), y0 = Math.floor(v - r), y1 = Math.ceil(v + r);
          const w = cam.width, h = cam.height;
          if (x0 < 0 || y0 < 0 || x1 > w || y1 > h) continue;
          const sat = tables[i]!, W = w + 1;
          const opaque = sat[y1 * W + x1]! - sat[y0 * W + x1]! - sat[y1 * W + x0]! + sat[y0 * W + x0]!;
          if (opaque === 0) {
            hull[x + G * (y + G * z)] = 0;
            break;
          }
        }
      }
    }
  }
  let count = 0;
  for (let c = 0; c < grid.cells; c++) {
    if (!hull[c]) grid.occupied[c] = 0;
    count += grid.occupied[c]!;
  }
  grid.occupiedCount = count;
  return hull;
}
