// Surface samples of rays through a frozen radiance field: the field's own
// marcher (occupancy skipping, early termination) with a density-only
// evaluator, then the surface rule of docs/distill.md on each ray's weights
//
//   w_i  = T_i (1 - exp(-sigma_i delta_i))        (volume-rendering weights)
//   keep the topK largest w_i, wh_i = w_i^power / sum_j w_j^power,
//   drop wh_i < minWeight, renormalise          (the original: top 16, power 10)
//
// plus the ray's accumulated opacity a = sum_i w_i (all samples). Features
// are read where the ray terminates; the field's parameters are only read.

import type { Camera, FeatureFieldConfig, RadianceFieldValue } from '../../engine/values';
import { normalizedToWorld, worldToNormalized } from '../nerf/contraction';
import { cellRays, type CellGrid } from './cells';
import { paramLayout } from '../nerf/config';
import { createCpuFieldEvaluator } from '../nerf/field-cpu';
import type { FieldEvaluator } from '../nerf/field-kernels';
import { RAY_DROPPED, RayBatch } from '../nerf/marcher';
import { OccupancyGrid } from '../nerf/occupancy';

export interface SurfaceSamples {
  rays: number;
  /** Samples of ray r: offsets[r] .. offsets[r + 1]. */
  offsets: Uint32Array;
  /** Normalised positions, 3 per sample. */
  positions: Float32Array;
  /** Sharpened weights (sum to 1 per ray with samples). */
  weights: Float32Array;
  /** Accumulated opacity per ray. */
  acc: Float32Array;
}

const CHUNK = 256;

export class SurfaceSampler {
  readonly evaluator: FieldEvaluator;
  private readonly densityOnly: FieldEvaluator;
  private readonly grid: OccupancyGrid;
  private batch?: RayBatch;
  /** Field evaluations of the last sample() call. */
  evaluated = 0;

  constructor(
    readonly field: RadianceFieldValue,
    readonly surface: FeatureFieldConfig['surface'],
    evaluator?: FieldEvaluator,
  ) {
    const config = field.config;
    this.evaluator = evaluator ?? createCpuFieldEvaluator(config, paramLayout(config));
    const ev = this.evaluator;
    // Colour is not needed: only the density MLP runs.
    this.densityOnly = {
      name: `${ev.name}/density`,
      query: (params, positions, _sh, count, sigma) => ev.density(params, positions, count, sigma),
      density: (params, positions, count, sigma) => ev.density(params, positions, count, sigma),
      backward: () => {
        throw new Error('the geometry is frozen: no backward pass through the radiance field');
      },
    };
    this.grid = new OccupancyGrid(config.occupancy, { density: field.occupancy.density, occupied: field.occupancy.occupied });
  }

  /** Rays: 6 numbers each (world origin, unit direction). */
  async sample(rays: Float64Array, count: number, signal?: AbortSignal): Promise<SurfaceSamples> {
    const config = this.field.config;
    const perRay = config.render.marchSteps + 72;
    this.batch ??= new RayBatch(config, CHUNK, CHUNK * perRay);
    const { topK, power, minWeight } = this.surface;
    const acc = new Float32Array(count);
    const counts = new Uint32Array(count + 1);
    // Kept samples per chunk, concatenated at the end.
    const parts: Array<{ r0: number; offsets: Uint32Array; positions: Float32Array; weights: Float32Array }> = [];
    this.evaluated = 0;
    const todo: number[] = [];
    for (let r = 0; r < count; r++) todo.push(r);
    let capacity = perRay;
    while (todo.length > 0) {
      const dropped: number[] = [];
      for (let i0 = 0; i0 < todo.length; i0 += CHUNK) {
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
        const ids = todo.slice(i0, i0 + CHUNK);
        const batch = capacity === perRay ? this.batch : new RayBatch(config, ids.length, ids.length * capacity);
        batch.reset();
        for (const r of ids) batch.addRay(rays[6 * r]!, rays[6 * r + 1]!, rays[6 * r + 2]!, rays[6 * r + 3]!, rays[6 * r + 4]!, rays[6 * r + 5]!, 0.5, 1);
        await batch.march(this.densityOnly, this.field.params, this.grid, { retain: true });
        this.evaluated += batch.evaluated;
        parts.push(this.collect(batch, ids, acc, counts, dropped, topK, power, minWeight));
      }
      todo.length = 0;
      todo.push(...dropped);
      capacity *= 4;
    }
    // Offsets, then copy each ray's samples into place.
    const offsets = new Uint32Array(count + 1);
    for (let r = 0; r < count; r++) offsets[r + 1] = offsets[r]! + counts[r]!;
    const total = offsets[count]!;
    const positions = new Float32Array(3 * total), weights = new Float32Array(total);
    for (const part of parts) {
      const n = part.offsets.length - 1;
      for (let i = 0; i < n; i++) {
        const r = part.r0 + i;
        const a = part.offsets[i]!, b = part.offsets[i + 1]!;
        if (b === a) continue;
        const d = offsets[r]!;
        weights.set(part.weights.subarray(a, b), d);
        positions.set(part.positions.subarray(3 * a, 3 * b), 3 * d);
      }
    }
    return { rays: count, offsets, positions, weights, acc };
  }

  private collect(
    batch: RayBatch, ids: number[], acc: Float32Array, counts: Uint32Array, dropped: number[],
    topK: number, power: number, minWeight: number,
  ): { r0: number; offsets: Uint32Array; positions: Float32Array; weights: Float32Array } {
    const n = ids.length;
    // Group the used samples by ray (waves interleave rays).
    const per = new Uint32Array(n + 1);
    for (let s = 0; s < batch.sampleCount; s++) if (batch.used[s]) per[batch.ray[s]! + 1]!++;
    for (let i = 0; i < n; i++) per[i + 1]! += per[i]!;
    const fill = per.slice(0, n);
    const order = new Uint32Array(per[n]!);
    const w = new Float64Array(per[n]!);
    for (let s = 0; s < batch.sampleCount; s++) {
      if (!batch.used[s]) continue;
      const i = batch.ray[s]!;
      const j = fill[i]!++;
      order[j] = s;
      w[j] = batch.tBefore[s]! * (1 - Math.exp(-batch.sigma[s]! * batch.delta[s]!));
    }
    // Ids may be non-contiguous only for re-marched (dropped) rays; map results back through ids.
    const outOffsets = new Uint32Array(n + 1);
    const keptPos: number[] = [];
    const keptW: number[] = [];
    const idx: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = ids[i]!;
      if (batch.status[i] === RAY_DROPPED) {
        dropped.push(r);
        outOffsets[i + 1] = outOffsets[i]!;
        continue;
      }
      const a = per[i]!, b = per[i + 1]!;
      let sum = 0;
      idx.length = 0;
      for (let j = a; j < b; j++) {
        sum += w[j]!;
        idx.push(j);
      }
      acc[r] = sum;
      if (idx.length > topK) {
        idx.sort((x, y) => w[y]! - w[x]!);
        idx.length = topK;
      }
      // Sharpen relative to the largest weight (no underflow for tiny weights).
      let wMax = 0;
      for (const j of idx) if (w[j]! > wMax) wMax = w[j]!;
      let kept = 0;
      if (wMax > 0) {
        let total = 0;
        for (const j of idx) total += (w[j]! / wMax) ** power;
        let total2 = 0;
        const start = keptW.length;
        for (const j of idx) {
          const v = (w[j]! / wMax) ** power / total;
          if (v < minWeight) continue;
          keptW.push(v);
          total2 += v;
          const s = order[j]!;
          keptPos.push(batch.positions[3 * s]!, batch.positions[3 * s + 1]!, batch.positions[3 * s + 2]!);
          kept++;
        }
        for (let q = start; q < keptW.length; q++) keptW[q] = keptW[q]! / total2;
      }
      counts[r] = kept;
      outOffsets[i + 1] = outOffsets[i]! + kept;
    }
    // Parts are addressed by the ray ids they cover; contiguous ids let the caller copy by r0 + i.
    const contiguous = ids.every((r, i) => r === ids[0]! + i);
    if (!contiguous) {
      // Rare path (re-marched rays): emit one part per ray.
      return this.splitParts(ids, outOffsets, keptPos, keptW);
    }
    return { r0: ids[0]!, offsets: outOffsets, positions: Float32Array.from(keptPos), weights: Float32Array.from(keptW) };
  }

  private splitParts(ids: number[], offsets: Uint32Array, pos: number[], w: number[]): { r0: number; offsets: Uint32Array; positions: Float32Array; weights: Float32Array } {
    // Encode as a part over the id range [min, max] with empty rays in between.
    const r0 = Math.min(...ids), r1 = Math.max(...ids);
    const out = new Uint32Array(r1 - r0 + 2);
    const positions: number[] = [], weights: number[] = [];
    const byId = new Map<number, number>();
    ids.forEach((r, i) => byId.set(r, i));
    for (let r = r0; r <= r1; r++) {
      const i = byId.get(r);
      if (i !== undefined) {
        for (let j = offsets[i]!; j < offsets[i + 1]!; j++) {
          weights.push(w[j]!);
          positions.push(pos[3 * j]!, pos[3 * j + 1]!, pos[3 * j + 2]!);
        }
      }
      out[r - r0 + 1] = weights.length;
    }
    return { r0, offsets: out, positions: Float32Array.from(positions), weights: Float32Array.from(weights) };
  }
}

/** One surface point per ray: the sharpened-weight mean of its kept samples (acc 0 = no point). */
export function surfacePoints(s: SurfaceSamples): SurfaceSamples {
  const n = s.rays;
  const offsets = new Uint32Array(n + 1);
  const positions = new Float32Array(3 * n), weights = new Float32Array(n);
  let k = 0;
  for (let r = 0; r < n; r++) {
    const a = s.offsets[r]!, b = s.offsets[r + 1]!;
    if (b > a) {
      let x = 0, y = 0, z = 0;
      for (let q = a; q < b; q++) {
        const w = s.weights[q]!;
        x += w * s.positions[3 * q]!;
        y += w * s.positions[3 * q + 1]!;
        z += w * s.positions[3 * q + 2]!;
      }
      positions[3 * k] = x;
      positions[3 * k + 1] = y;
      positions[3 * k + 2] = z;
      weights[k++] = 1;
    }
    offsets[r + 1] = k;
  }
  return { rays: n, offsets, positions: positions.slice(0, 3 * k), weights: weights.slice(0, k), acc: s.acc };
}

/** The surface at each valid cell's centre ray: world point, planar depth (0 = none), opacity; `hit` where acc >= 0.5. */
export interface CentreSurface {
  points: Float64Array;
  depth: Float32Array;
  acc: Float32Array;
  hit: Uint8Array;
}

function centreSurface(centres: SurfaceSamples, mapping: RadianceFieldValue['config']['scene'], m: readonly number[]): CentreSurface {
  const n = centres.rays;
  const points = new Float64Array(3 * n), depth = new Float32Array(n), hit = new Uint8Array(n);
  for (let c = 0; c < n; c++) {
    const q = centres.offsets[c]!;
    if (centres.offsets[c + 1] === q || !(centres.acc[c]! >= 0.5)) continue;
    const [x, y, z] = normalizedToWorld(mapping, centres.positions[3 * q]!, centres.positions[3 * q + 1]!, centres.positions[3 * q + 2]!);
    const d = -(m[2]! * (x - m[3]!) + m[6]! * (y - m[7]!) + m[10]! * (z - m[11]!));
    if (!(d > 0)) continue;
    points[3 * c] = x;
    points[3 * c + 1] = y;
    points[3 * c + 2] = z;
    depth[c] = d;
    hit[c] = 1;
  }
  return { points, depth, acc: centres.acc, hit };
}

export interface PatchSurfaceStats {
  /** Cells whose P x P rays were marched (silhouettes, depth creases). */
  marchedCells: number;
  /** Rays marched in all (cell centres + the marched cells' patches). */
  marchedRays: number;
}

/**
 * Surface points of every valid cell's P x P patch (row-major cells, then
 * the patch), one point per ray, marching only where needed:
 *
 *  1. march the ray through each cell's centre (64 x 64 rays for a square image);
 *  2. a cell is smooth when it and its 8 neighbours are opaque (acc >= 0.99)
 *     and the inverse depth of the 3 x 3 centres is locally planar (second
 *     differences <= `crease` of the centre's), or when all nine are empty
 *     (acc <= 0.01): its rays are placed on the surface by bilinear
 *     interpolation of the inverse planar depth of the four surrounding
 *     centres (exact on planes), acc = 1 (or 0 when empty);
 *  3. every other cell's P x P rays are marched (one point each, the
 *     sharpened-weight mean of its samples).
 *
 * Training and rendering both use this function, so the patch footprint is
 * the same. With P = 1 it is the centre march alone.
 */
export async function patchSurface(
  sampler: SurfaceSampler,
  camera: Camera,
  grid: CellGrid,
  P: number,
  options: {
    signal?: AbortSignal;
    crease?: number;
    /** Called once the centres are known: 1 per valid cell whose patch is wanted (default all); the others' rays are left empty (acc 0) and not marched. A cell's patch does not depend on which cells are wanted. */
    want?: (centres: CentreSurface) => Uint8Array | undefined;
  } = {},
): Promise<SurfaceSamples & { stats: PatchSurfaceStats; centres: CentreSurface }> {
  const { cols, rows } = grid;
  const n = cols * rows, P2 = P * P;
  const crease = options.crease ?? 0.02;
  const centreRays = new Float64Array(6 * n);
  for (let c = 0; c < n; c++) cellRays(camera, grid, c % cols, Math.floor(c / cols), 1, centreRays, c);
  const centres = surfacePoints(await sampler.sample(centreRays, n, options.signal));
  const mapping = sampler.field.config.scene;
  const m = camera.cameraToWorld;
  // Inverse planar depth of each centre (0 where the ray is not opaque).
  const invZ = new Float64Array(n), acc = centres.acc;
  for (let c = 0; c < n; c++) {
    if (centres.offsets[c + 1] === centres.offsets[c]) continue;
    const [x, y, z] = normalizedToWorld(mapping, centres.positions[3 * centres.offsets[c]!]!, centres.positions[3 * centres.offsets[c]! + 1]!, centres.positions[3 * centres.offsets[c]! + 2]!);
    const depth = -(m[2]! * (x - m[3]!) + m[6]! * (y - m[7]!) + m[10]! * (z - m[11]!));
    if (depth > 0) invZ[c] = 1 / depth;
  }
  const OPAQUE = 0.99, EMPTY = 0.01;
  const kind = new Uint8Array(n); // 0 march, 1 smooth surface, 2 smooth empty, 3 not wanted
  for (let cy = 0; cy < rows; cy++)
    for (let cx = 0; cx < cols; cx++) {
      const c = cy * cols + cx;
      let opaque = true, empty = true;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const x = Math.min(cols - 1, Math.max(0, cx + dx)), y = Math.min(rows - 1, Math.max(0, cy + dy));
          const a = acc[y * cols + x]!;
          if (!(a >= OPAQUE && invZ[y * cols + x]! > 0)) opaque = false;
          if (!(a <= EMPTY)) empty = false;
        }
      if (empty) kind[c] = 2;
      else if (opaque) {
        const at = (x: number, y: number) => invZ[Math.min(rows - 1, Math.max(0, y)) * cols + Math.min(cols - 1, Math.max(0, x))]!;
        const z0 = invZ[c]!;
        const ddx = Math.abs(at(cx - 1, cy) + at(cx + 1, cy) - 2 * z0), ddy = Math.abs(at(cx, cy - 1) + at(cx, cy + 1) - 2 * z0);
        const dd1 = Math.abs(at(cx - 1, cy - 1) + at(cx + 1, cy + 1) - 2 * z0), dd2 = Math.abs(at(cx + 1, cy - 1) + at(cx - 1, cy + 1) - 2 * z0);
        if (Math.max(ddx, ddy, dd1, dd2) <= crease * z0) kind[c] = 1;
      }
    }
  const centreInfo = centreSurface(centres, mapping, m);
  const wanted = options.want?.(centreInfo);
  const SKIP = 3;
  if (wanted) for (let c = 0; c < n; c++) if (!wanted[c]) kind[c] = SKIP;
  // March the rest.
  const marchCells: number[] = [];
  for (let c = 0; c < n; c++) if (kind[c] === 0) marchCells.push(c);
  const marchRays = new Float64Array(6 * marchCells.length * P2);
  marchCells.forEach((c, i) => cellRays(camera, grid, c % cols, Math.floor(c / cols), P, marchRays, i * P2));
  const marched = P === 1 ? centres : surfacePoints(await sampler.sample(marchRays, marchCells.length * P2, options.signal));
  const slot = new Int32Array(n).fill(-1);
  marchCells.forEach((c, i) => (slot[c] = i));
  // Assemble.
  const R = n * P2;
  const offsets = new Uint32Array(R + 1), outAcc = new Float32Array(R);
  const positions = new Float32Array(3 * R), weights = new Float32Array(R);
  const ray = new Float64Array(6);
  let k = 0;
  for (let c = 0; c < n; c++) {
    const cx = c % cols, cy = Math.floor(c / cols);
    for (let p = 0; p < P2; p++) {
      const r = c * P2 + p;
      if (kind[c] === 0) {
        const src = P === 1 ? c : slot[c]! * P2 + p;
        outAcc[r] = marched.acc[src]!;
        for (let q = marched.offsets[src]!; q < marched.offsets[src + 1]!; q++) {
          positions[3 * k] = marched.positions[3 * q]!;
          positions[3 * k + 1] = marched.positions[3 * q + 1]!;
          positions[3 * k + 2] = marched.positions[3 * q + 2]!;
          weights[k++] = 1;
        }
      } else if (kind[c] === 1) {
        // Sub-ray position in grid units, relative to the cell centres.
        const i = p % P, j = Math.floor(p / P);
        const gx = cx + (i + 0.5) / P - 0.5, gy = cy + (j + 0.5) / P - 0.5;
        const x0 = Math.floor(gx), y0 = Math.floor(gy), fx = gx - x0, fy = gy - y0;
        const at = (x: number, y: number) => invZ[Math.min(rows - 1, Math.max(0, y)) * cols + Math.min(cols - 1, Math.max(0, x))]!;
        const iz = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
        cellRays(camera, grid, cx, cy, P, ray, 0, p);
        const zf = -(m[2]! * ray[3]! + m[6]! * ray[4]! + m[10]! * ray[5]!);
        const t = 1 / iz / zf;
        worldToNormalized(mapping, ray[0]! + t * ray[3]!, ray[1]! + t * ray[4]!, ray[2]! + t * ray[5]!, positions, 3 * k);
        weights[k++] = 1;
        outAcc[r] = 1;
      }
      offsets[r + 1] = k;
    }
  }
  return {
    rays: R,
    offsets,
    positions: positions.slice(0, 3 * k),
    weights: weights.slice(0, k),
    acc: outAcc,
    stats: { marchedCells: marchCells.length, marchedRays: n + (P === 1 ? 0 : marchCells.length * P2) },
    centres: centreInfo,
  };
}
