// View-dependent rendering of SAM embeddings from the training views
// (docs/distill.md, "View-dependent blending"). SAM's embedding of a
// surface point depends on the view (the encoder sees its context), so a
// field that gives each 3D point one feature can only render the average
// over views; measured on the generated scene, that average caps held-out
// mask agreement with the encoder path near 0.58, while reading the
// embeddings of the training views nearest in direction reaches 0.84. The
// bank keeps the training views' embeddings and their cell-centre depth
// (from the frozen geometry); a rendered cell whose surface point x some
// training views see (reprojected depth within `depthTolerance`) takes
//
//   prior[cell] + sum_v w_v (E_v(x_v) - prior(x_v)) / sum_v w_v,
//   w_v = exp(sharpness (cos(x - c_new, x - c_v) - 1)), the maxViews largest,
//
// with E_v(x_v) the bilinear read of view v's embedding at x's reprojection
// (only the corners whose depth agrees; prior(x_v) the per-cell prior read
// the same way, or 0 without a prior). Cells no training view sees keep the
// field's features.

import type { Camera, FeatureFieldValue } from '../../engine/values';
import { cellGrid, cellRays, EMBED_CELLS, EMBED_SIDE, type CellGrid } from './cells';

export type ViewBank = NonNullable<FeatureFieldValue['viewBank']>;

export const VIEW_BANK_DEFAULTS = { sharpness: 20, maxViews: 4, depthTolerance: 0.03 } as const;

interface Projector {
  m: readonly number[];
  camera: Camera;
  grid: CellGrid;
  /** Original pixels per embedding cell along x and y. */
  cellX: number;
  cellY: number;
}

function projector(camera: Camera): Projector {
  const grid = cellGrid(camera.width, camera.height);
  return { m: camera.cameraToWorld, camera, grid, cellX: (16 * grid.width) / grid.resizedWidth, cellY: (16 * grid.height) / grid.resizedHeight };
}

/** Per-call state of the bank's reads: the projectors and scratch buffers. */
interface BankReader {
  bank: ViewBank;
  views: Projector[];
  priorCells: Float32Array | null;
  K: number;
  cornerCell: Int32Array;
  cornerW: Float64Array;
  /** Reused Seen records (seeingViews allocates none per call: it runs per cell and per sub-ray). */
  pool: Seen[];
  /** The last seeingViews result's views (tried first by the next call), how many, and per-view marks of the current call. */
  order: Int32Array;
  lastCount: number;
  tried: Uint32Array;
  stamp: number;
}

function bankReader(bank: ViewBank, priorCells: Float32Array | null, K: number): BankReader {
  return { bank, views: bank.cameras.map(projector), priorCells, K, cornerCell: new Int32Array(4), cornerW: new Float64Array(4), pool: [], order: new Int32Array(16), lastCount: 0, tried: new Uint32Array(bank.cameras.length), stamp: 0 };
}

/** A bank view that sees a point: its index, cos of the angle between its viewing direction and the new one, the point's cell coordinates in it. */
interface Seen {
  v: number;
  cos: number;
  gx: number;
  gy: number;
}

/**
 * The bank views that see the point p (background: that see background at
 * its reprojection) from the unit direction a (camera to p), sorted by cos
 * descending (the weight's order for any sharpness > 0), the `limit` best
 * only (ties: the lower view index first, as a stable sort); view `exclude`
 * is skipped (leave-one-out). The records are the reader's, valid until the
 * next call.
 */
function seeingViews(r: BankReader, px: number, py: number, pz: number, background: boolean, ax: number, ay: number, az: number, out: Seen[], limit: number, exclude = -1): Seen[] {
  out.length = 0;
  const { bank, views, pool, order } = r;
  const tol = bank.depthTolerance;
  const V = views.length;
  // Neighbouring calls (cells, sub-rays) have nearly the same best views: trying the last call's first fills the list early,
  // so most other views are rejected by their cos alone, before the projection. The result does not depend on the order
  // (ties go to the lower view index).
  const stamp = ++r.stamp;
  let nFirst = r.lastCount;
  for (let i = 0; i < nFirst; i++) r.tried[order[i]!] = stamp;
  for (let k = 0; k < nFirst + V; k++) {
    let v: number;
    if (k < nFirst) v = order[k]!;
    else {
      v = k - nFirst;
      if (r.tried[v] === stamp) continue;
    }
    if (v === exclude) continue;
    const { m, camera: vc, grid: vg, cellX, cellY } = views[v]!;
    const d0 = px - m[3]!, d1 = py - m[7]!, d2 = pz - m[11]!;
    const cos = (ax * d0 + ay * d1 + az * d2) / Math.hypot(d0, d1, d2);
    const n = out.length;
    if (n >= limit) {
      const last = out[n - 1]!;
      if (!(cos > last.cos || (cos === last.cos && v < last.v))) continue;
    }
    const depth = -(m[2]! * d0 + m[6]! * d1 + m[10]! * d2);
    if (!(depth > 0)) continue;
    const xc = m[0]! * d0 + m[4]! * d1 + m[8]! * d2, yc = m[1]! * d0 + m[5]! * d1 + m[9]! * d2;
    const u = vc.cx + (vc.fx * xc) / depth, w = vc.cy - (vc.fy * yc) / depth;
    if (!(u >= 0 && w >= 0 && u < vc.width && w < vc.height)) continue;
    const gx = u / cellX - 0.5, gy = w / cellY - 0.5;
    // Visible when the nearest cell centre of v sees a surface at this depth.
    const nx = Math.min(vg.cols - 1, Math.max(0, Math.round(gx))), ny = Math.min(vg.rows - 1, Math.max(0, Math.round(gy)));
    const bd = bank.depth[v * EMBED_CELLS + ny * EMBED_SIDE + nx]!;
    if (background ? bd !== 0 : !(Math.abs(bd - depth) <= tol * depth)) continue;
    // Insertion into the sorted top `limit` (cos descending, then view index ascending).
    const rec = n >= limit ? out.pop()! : (pool[n] ??= { v: 0, cos: 0, gx: 0, gy: 0 });
    rec.v = v;
    rec.cos = cos;
    rec.gx = gx;
    rec.gy = gy;
    let i = out.length;
    out.push(rec);
    while (i > 0 && (out[i - 1]!.cos < cos || (out[i - 1]!.cos === cos && out[i - 1]!.v > v))) {
      out[i] = out[i - 1]!;
      i--;
    }
    out[i] = rec;
  }
  r.lastCount = Math.min(out.length, order.length);
  for (let i = 0; i < r.lastCount; i++) order[i] = out[i]!.v;
  return out;
}

/**
 * The cells of bank view s.v that the read of s takes, with weights summing to 1, into r.cornerCell / r.cornerW
 * (returns how many): the bilinear corners on the same surface as the nearest one.
 */
function readCorners(r: BankReader, s: Seen, background: boolean): number {
  const { bank, views, cornerCell, cornerW } = r;
  const { v, gx, gy } = s;
  const vg = views[v]!.grid;
  const tol = bank.depthTolerance;
  const dOff = v * EMBED_CELLS;
  const depthAll = bank.depth;
  const nx = Math.min(vg.cols - 1, Math.max(0, Math.round(gx))), ny = Math.min(vg.rows - 1, Math.max(0, Math.round(gy)));
  const ref = depthAll[dOff + ny * EMBED_SIDE + nx]!;
  let nc = 0, bsum = 0;
  const x0 = Math.floor(gx), y0 = Math.floor(gy), fx = gx - x0, fy = gy - y0;
  for (let q = 0; q < 4; q++) {
    const dx = q & 1, dy = q >> 1;
    const b = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
    if (b <= 0) continue;
    const x = Math.min(vg.cols - 1, Math.max(0, x0 + dx)), y = Math.min(vg.rows - 1, Math.max(0, y0 + dy));
    const cell = y * EMBED_SIDE + x;
    const dc = depthAll[dOff + cell]!;
    if (background ? dc !== 0 : !(Math.abs(dc - ref) <= tol * ref)) continue;
    cornerCell[nc] = cell;
    cornerW[nc++] = b;
    bsum += b;
  }
  if (bsum <= 0) (cornerCell[0] = ny * EMBED_SIDE + nx), (cornerW[0] = bsum = 1), (nc = 1);
  for (let q = 0; q < nc; q++) cornerW[q]! /= bsum;
  return nc;
}

/** acc += weight (E_v(x_v) - prior(x_v)) read at cell `cell` of bank view v. */
function addCell(r: BankReader, v: number, cell: number, weight: number, acc: Float64Array, at = 0): void {
  const { bank, priorCells, K } = r;
  const e = bank.embeddings;
  const eo = (v * EMBED_CELLS + cell) * K, po = cell * K;
  if (priorCells) for (let k = 0; k < K; k++) acc[at + k] += weight * (e[eo + k]! - priorCells[po + k]!);
  else for (let k = 0; k < K; k++) acc[at + k] += weight * e[eo + k]!;
}

/** acc += weight (E_v(x_v) - prior(x_v)) for the read of s (readCorners). */
function addRead(r: BankReader, s: Seen, background: boolean, weight: number, acc: Float64Array, at = 0): void {
  const nc = readCorners(r, s, background);
  for (let q = 0; q < nc; q++) addCell(r, s.v, r.cornerCell[q]!, weight * r.cornerW[q]!, acc, at);
}

/**
 * The point a cell of `camera` blends at: its surface point, or (no hit) the
 * point of its centre ray on the background plane (through the bank's
 * background centre, facing the camera); null when there is none.
 */
function cellPoint(bank: ViewBank, camera: Camera, grid: CellGrid, c: number, points: Float64Array, hit: Uint8Array, ray: Float64Array, out: Float64Array): boolean {
  if (hit[c]) {
    out[0] = points[3 * c]!;
    out[1] = points[3 * c + 1]!;
    out[2] = points[3 * c + 2]!;
    return true;
  }
  return backgroundPoint(bank, camera, grid, c % grid.cols, Math.floor(c / grid.cols), 1, 0, ray, out);
}

/**
 * The point where ray j of cell (cx, cy)'s P x P rays meets the background
 * plane (through the bank's background centre, facing the camera), into
 * out; false without a background plane or when it is behind the camera.
 */
function backgroundPoint(bank: ViewBank, camera: Camera, grid: CellGrid, cx: number, cy: number, P: number, j: number, ray: Float64Array, out: Float64Array): boolean {
  const bgPlane = bank.background;
  if (!bgPlane) return false;
  const cm = camera.cameraToWorld;
  // The camera's viewing axis (-Z) and the plane depth of the background centre.
  const a0 = -cm[2]!, a1 = -cm[6]!, a2 = -cm[10]!;
  const bgDepth = a0 * (bgPlane.centre[0] - cm[3]!) + a1 * (bgPlane.centre[1] - cm[7]!) + a2 * (bgPlane.centre[2] - cm[11]!);
  if (!(bgDepth > 0)) return false;
  cellRays(camera, grid, cx, cy, P, ray, 0, j);
  const t = bgDepth / (a0 * ray[3]! + a1 * ray[4]! + a2 * ray[5]!);
  out[0] = ray[0]! + t * ray[3]!;
  out[1] = ray[1]! + t * ray[4]!;
  out[2] = ray[2]! + t * ray[5]!;
  return true;
}

/** Unit direction from the camera's centre to p, written to out. */
function viewDirection(camera: Camera, p: Float64Array, out: Float64Array): void {
  const cm = camera.cameraToWorld;
  const ax = p[0]! - cm[3]!, ay = p[1]! - cm[7]!, az = p[2]! - cm[11]!;
  const al = Math.hypot(ax, ay, az);
  out[0] = ax / al;
  out[1] = ay / al;
  out[2] = az / al;
}

/**
 * Adds sum_v w_v (E_v(x_v) - prior(x_v)) over the bank views that see p
 * (seen along the unit direction a) to acc and returns sum_v w_v (0: no
 * bank view sees p).
 */
function blendPoint(r: BankReader, p: Float64Array, background: boolean, a: Float64Array, cand: Seen[], acc: Float64Array): number {
  seeingViews(r, p[0]!, p[1]!, p[2]!, background, a[0]!, a[1]!, a[2]!, cand, r.bank.maxViews);
  let wsum = 0;
  for (const s of cand) {
    const w = Math.exp(r.bank.sharpness * (s.cos - 1));
    addRead(r, s, background, w, acc);
    wsum += w;
  }
  return wsum;
}

/** As blendPoint, but adds scale * w_v * corner weight / sum_v w_v per (view, cell) read to `reads` instead of reading; returns whether any view sees p. */
function collectPoint(r: BankReader, p: Float64Array, background: boolean, a: Float64Array, cand: Seen[], scale: number, reads: Map<number, number>): boolean {
  seeingViews(r, p[0]!, p[1]!, p[2]!, background, a[0]!, a[1]!, a[2]!, cand, r.bank.maxViews);
  if (cand.length === 0) return false;
  let wsum = 0;
  for (const s of cand) wsum += (s.cos = Math.exp(r.bank.sharpness * (s.cos - 1)));
  for (const s of cand) {
    const nc = readCorners(r, s, background);
    for (let q = 0; q < nc; q++) {
      const key = s.v * EMBED_CELLS + r.cornerCell[q]!;
      reads.set(key, (reads.get(key) ?? 0) + (scale * s.cos * r.cornerW[q]!) / wsum);
    }
  }
  return true;
}

/**
 * Writes blended embeddings into `embedding` (K x 64 x 64) for the valid
 * cells of `grid` with a surface point (`points`: world xyz per valid cell,
 * `hit` 1 where the cell has one); returns 1 per valid cell that was blended.
 */
export function blendViews(
  bank: ViewBank,
  /** The per-cell prior cell-major ([64 x 64][K], see cellMajor()), or null. */
  priorCells: Float32Array | null,
  camera: Camera,
  grid: CellGrid,
  points: Float64Array,
  hit: Uint8Array,
  embedding: Float32Array,
  K: number,
): Uint8Array {
  const r = bankReader(bank, priorCells, K);
  const n = grid.cols * grid.rows;
  const blended = new Uint8Array(n);
  const acc = new Float64Array(K);
  const cand: Seen[] = [];
  const ray = new Float64Array(6), p = new Float64Array(3), a = new Float64Array(3);
  for (let c = 0; c < n; c++) {
    if (!cellPoint(bank, camera, grid, c, points, hit, ray, p)) continue;
    viewDirection(camera, p, a);
    acc.fill(0);
    const wsum = blendPoint(r, p, !hit[c], a, cand, acc);
    if (wsum <= 0) continue;
    const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
    const po = cell * K, inv = 1 / wsum;
    for (let k = 0; k < K; k++) embedding[k * EMBED_CELLS + cell] = (priorCells ? priorCells[po + k]! : 0) + acc[k]! * inv;
    blended[c] = 1;
  }
  return blended;
}

/**
 * Silhouette cells whose centres disagree with a neighbour's: one has a
 * surface and the other not, or their planar depths differ by more than
 * `crease` (relative). Returns 1 per valid cell.
 */
export function silhouetteCells(grid: CellGrid, hit: Uint8Array, depth: Float32Array, crease = 0.05): Uint8Array {
  const { cols, rows } = grid;
  const out = new Uint8Array(cols * rows);
  for (let y = 0; y < rows; y++)
    for (let x = 0; x < cols; x++) {
      const c = y * cols + x;
      for (let dy = -1; dy <= 1 && !out[c]; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= cols || ny >= rows) continue;
          const q = ny * cols + nx;
          if (hit[q] !== hit[c] || (hit[c] && Math.abs(depth[q]! - depth[c]!) > crease * depth[c]!)) {
            out[c] = 1;
            break;
          }
        }
    }
  return out;
}

/**
 * Supersampled blending of the given cells: each of a cell's P x P sub-rays
 * is blended at its own point (its surface point when `subHit`, else its
 * point on the background plane) and the cell takes the mean over the
 * sub-rays that some bank view sees. At a silhouette the cell then mixes
 * the two surfaces in the proportion the new view covers them, as the
 * encoder's patch does, instead of taking whichever surface its centre ray
 * hits. `subPoints`: world xyz per sub-ray, cells[i]'s ray j at i * P^2 + j
 * (the order of cellRays). Returns the number of cells written.
 */
export function blendPatches(
  bank: ViewBank,
  priorCells: Float32Array | null,
  camera: Camera,
  grid: CellGrid,
  cells: readonly number[],
  P: number,
  subPoints: Float64Array,
  subHit: Uint8Array,
  embedding: Float32Array,
  K: number,
): number {
  const r = bankReader(bank, priorCells, K);
  const P2 = P * P;
  const acc = new Float64Array(K);
  // The sub-rays of a cell read nearly the same cells of the same views: their weights are gathered per (view, cell) first, and each is read once.
  const reads = new Map<number, number>();
  const cand: Seen[] = [];
  const ray = new Float64Array(6), p = new Float64Array(3), a = new Float64Array(3);
  let written = 0;
  cells.forEach((c, i) => {
    const cx = c % grid.cols, cy = Math.floor(c / grid.cols);
    reads.clear();
    let seen = 0;
    for (let j = 0; j < P2; j++) {
      const rj = i * P2 + j;
      const background = !subHit[rj];
      if (!background) {
        p[0] = subPoints[3 * rj]!;
        p[1] = subPoints[3 * rj + 1]!;
        p[2] = subPoints[3 * rj + 2]!;
      } else if (!backgroundPoint(bank, camera, grid, cx, cy, P, j, ray, p)) continue;
      viewDirection(camera, p, a);
      if (collectPoint(r, p, background, a, cand, 1, reads)) seen++;
    }
    if (seen === 0) return;
    acc.fill(0);
    for (const [key, w] of reads) addCell(r, Math.floor(key / EMBED_CELLS), key % EMBED_CELLS, w / seen, acc);
    const cell = cy * EMBED_SIDE + cx;
    const po = cell * K;
    for (let k = 0; k < K; k++) embedding[k * EMBED_CELLS + cell] = (priorCells ? priorCells[po + k]! : 0) + acc[k]!;
    written++;
  });
  return written;
}

/** One setting of the bank's weighting and its leave-one-out error. */
export interface BankSetting {
  sharpness: number;
  maxViews: number;
  /** Mean squared error per channel over the left-out views' blended cells. */
  mse: number;
}

export interface BankTuning {
  best: BankSetting;
  /** Every setting tried, in the order of the grid (sharpness-major). */
  table: BankSetting[];
  /** Views left out, and cells scored over them (the same cells for every setting). */
  views: number[];
  cells: number;
}

export const BANK_TUNING_GRID = { sharpness: [5, 10, 20, 30, 50, 80], maxViews: [1, 2, 3, 4, 6, 8] } as const;

/**
 * Leave-one-out tuning of the bank's weighting on its own training views:
 * each view in `views` (default: up to 24, evenly spaced) is removed from
 * the bank and rendered from the others at its own camera (its cell-centre
 * surface from the bank's depth; background cells on the background plane),
 * and every (sharpness, maxViews) on the grid is scored by the mean squared
 * error against that view's own embedding over the cells the other views
 * see. The seeing views and their reads do not depend on the setting, so
 * each cell is gathered once. Held-out views are never used. The per-cell
 * prior (when given) includes the left-out view (1/V of it): the same for
 * every setting.
 */
export function tuneViewBank(
  bank: ViewBank,
  priorCells: Float32Array | null,
  K: number,
  options: { sharpness?: readonly number[]; maxViews?: readonly number[]; views?: readonly number[]; maxLeftOut?: number; cellStride?: number } = {},
): BankTuning {
  const sharp = options.sharpness ?? BANK_TUNING_GRID.sharpness, maxV = options.maxViews ?? BANK_TUNING_GRID.maxViews;
  if (sharp.length === 0 || maxV.length === 0) throw new Error('tuneViewBank: give at least one sharpness and one maxViews');
  const V = bank.cameras.length;
  if (V < 2) throw new Error(`tuneViewBank: leave-one-out needs at least 2 bank views (the bank has ${V})`);
  const limit = options.maxLeftOut ?? 24;
  const views = options.views ? [...options.views] : Array.from({ length: Math.min(V, limit) }, (_, i) => Math.floor((i * V) / Math.min(V, limit)));
  const stride = options.cellStride ?? 1;
  const M = Math.max(...maxV);
  const r = bankReader(bank, priorCells, K);
  const reads = new Float64Array(M * K);
  const sse = new Float64Array(sharp.length * maxV.length);
  const pred = new Float64Array(K);
  const cand: Seen[] = [];
  const ray = new Float64Array(6), p = new Float64Array(3), a = new Float64Array(3);
  let cells = 0;
  for (const t of views) {
    if (!(t >= 0 && t < V)) throw new Error(`tuneViewBank: view ${t} is not in the bank (0..${V - 1})`);
    const camera = bank.cameras[t]!;
    const grid = cellGrid(camera.width, camera.height);
    const n = grid.cols * grid.rows;
    // The view's cell-centre surface from the bank's depth (planar depth along -Z).
    const points = new Float64Array(3 * n), hit = new Uint8Array(n);
    const cm = camera.cameraToWorld;
    for (let c = 0; c < n; c++) {
      const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
      const d = bank.depth[t * EMBED_CELLS + cell]!;
      if (!(d > 0)) continue;
      cellRays(camera, grid, c % grid.cols, Math.floor(c / grid.cols), 1, ray, 0);
      const s = d / -(cm[2]! * ray[3]! + cm[6]! * ray[4]! + cm[10]! * ray[5]!);
      points[3 * c] = ray[0]! + s * ray[3]!;
      points[3 * c + 1] = ray[1]! + s * ray[4]!;
      points[3 * c + 2] = ray[2]! + s * ray[5]!;
      hit[c] = 1;
    }
    for (let c = 0; c < n; c += stride) {
      if (!cellPoint(bank, camera, grid, c, points, hit, ray, p)) continue;
      const background = !hit[c];
      viewDirection(camera, p, a);
      seeingViews(r, p[0]!, p[1]!, p[2]!, background, a[0]!, a[1]!, a[2]!, cand, M, t);
      if (cand.length === 0) continue;
      const m = Math.min(M, cand.length);
      reads.fill(0, 0, m * K);
      for (let i = 0; i < m; i++) addRead(r, cand[i]!, background, 1, reads, i * K);
      // Target residual: the left-out view's embedding minus the prior at its cell.
      const cell = Math.floor(c / grid.cols) * EMBED_SIDE + (c % grid.cols);
      const eo = (t * EMBED_CELLS + cell) * K, po = cell * K;
      for (let si = 0; si < sharp.length; si++)
        for (let mi = 0; mi < maxV.length; mi++) {
          const mm = Math.min(m, maxV[mi]!);
          pred.fill(0);
          let wsum = 0;
          for (let i = 0; i < mm; i++) {
            const w = Math.exp(sharp[si]! * (cand[i]!.cos - 1));
            wsum += w;
            for (let k = 0; k < K; k++) pred[k] += w * reads[i * K + k]!;
          }
          let e2 = 0;
          for (let k = 0; k < K; k++) {
            const d = pred[k]! / wsum - (bank.embeddings[eo + k]! - (priorCells ? priorCells[po + k]! : 0));
            e2 += d * d;
          }
          sse[si * maxV.length + mi] += e2 / K;
        }
      cells++;
    }
  }
  if (cells === 0) throw new Error('tuneViewBank: no left-out cell is seen by another bank view (views too far apart, or no geometry)');
  const table: BankSetting[] = [];
  for (let si = 0; si < sharp.length; si++) for (let mi = 0; mi < maxV.length; mi++) table.push({ sharpness: sharp[si]!, maxViews: maxV[mi]!, mse: sse[si * maxV.length + mi]! / cells });
  const best = table.reduce((b, x) => (x.mse < b.mse ? x : b));
  return { best, table, views, cells };
}

/** [K][64 x 64] channel-major (SAM's layout) -> [64 x 64][K] cell-major (each cell's vector contiguous), or back. */
export function cellMajor(a: Float32Array, K: number, out = new Float32Array(a.length), inverse = false): Float32Array {
  for (let k = 0; k < K; k++)
    for (let c = 0; c < EMBED_CELLS; c++) {
      if (inverse) out[k * EMBED_CELLS + c] = a[c * K + k]!;
      else out[c * K + k] = a[k * EMBED_CELLS + c]!;
    }
  return out;
}
