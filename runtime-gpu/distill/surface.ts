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

import type { FeatureFieldConfig, RadianceFieldValue } from '../../engine/values';
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
