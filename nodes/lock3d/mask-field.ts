// MaskFieldValue (engine/values.ts) to and from the working form, and
// rendering several objects into a view at once with exclusive labels.

import type { Camera, MaskFieldValue } from '../../engine/values';
import type { DepthRender } from './geometry';
import { forEachSurfacePoint, renderMaskLogits, sampleSurface, SparseNodes, type GridSpec, KNOWN, type SurfaceSamples } from './mask-grid';

/** Object colours, in order (the first is segment-anything's overlay blue). */
export const PALETTE: ReadonlyArray<[number, number, number]> = [
  [30, 144, 255],
  [255, 140, 0],
  [50, 205, 50],
  [220, 20, 160],
  [255, 215, 0],
  [0, 206, 209],
  [178, 34, 34],
  [138, 43, 226],
];

export function objectColor(index: number): [number, number, number] {
  return [...PALETTE[index % PALETTE.length]!] as [number, number, number];
}

/** Packs per-object fits over `nodes` (ids in insertion order) into a value with ascending node indices. */
export function packMaskField(
  grid: GridSpec,
  nodes: SparseNodes,
  fits: ReadonlyArray<{ logits: Float32Array; evidence: Float32Array }>,
  objects: MaskFieldValue['objects'],
  depthSource: MaskFieldValue['depthSource'],
): MaskFieldValue {
  const n = nodes.size;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => nodes.linear[a]! - nodes.linear[b]!);
  const linear = new Uint32Array(n);
  for (let i = 0; i < n; i++) linear[i] = nodes.linear[order[i]!]!;
  const logits = new Float32Array(n * fits.length), evidence = new Float32Array(n * fits.length);
  fits.forEach((fit, o) => {
    for (let i = 0; i < n; i++) {
      logits[o * n + i] = fit.logits[order[i]!]!;
      evidence[o * n + i] = fit.evidence[order[i]!]!;
    }
  });
  return { kind: 'MaskField', grid: { origin: [...grid.origin], voxelSize: grid.voxelSize, dims: [...grid.dims] }, nodes: linear, logits, evidence, objects, depthSource };
}

/** The node index of a stored field, built once per value. */
const opened = new WeakMap<MaskFieldValue, SparseNodes>();

export function fieldNodes(field: MaskFieldValue): SparseNodes {
  let nodes = opened.get(field);
  if (!nodes) opened.set(field, (nodes = SparseNodes.from(field.grid, field.nodes)));
  return nodes;
}

export interface RenderedObjects {
  width: number;
  height: number;
  /** Per pixel: 0 = no object, k = objects[k - 1] (the object with the largest positive logit). */
  labels: Uint8Array;
  /** Per object: its exclusive binary mask. */
  masks: Uint8Array[];
  /** Per pixel: 1 where some object's mask is known there (observed surface). */
  known: Uint8Array;
}

export function renderSamples(field: MaskFieldValue, samples: SurfaceSamples): RenderedObjects {
  const n = field.nodes.length;
  const size = samples.width * samples.height;
  const labels = new Uint8Array(size), known = new Uint8Array(size);
  const best = new Float32Array(size).fill(0);
  field.objects.forEach((_, o) => {
    const r = renderMaskLogits(samples, field.logits, field.evidence, o * n);
    for (let p = 0; p < size; p++) {
      if (r.state[p] !== KNOWN) continue;
      known[p] = 1;
      if (r.logit[p]! > best[p]!) {
        best[p] = r.logit[p]!;
        labels[p] = o + 1;
      }
    }
  });
  const masks = field.objects.map((_, o) => {
    const m = new Uint8Array(size);
    for (let p = 0; p < size; p++) m[p] = labels[p] === o + 1 ? 1 : 0;
    return m;
  });
  return { width: samples.width, height: samples.height, labels, masks, known };
}

/**
 * Renders the field's objects into a camera whose depth is `render`. With
 * `fillRadius` > 0, a surface pixel whose cell has no observed node (a novel
 * view's depth a little off the surfaces the fused views saw) takes the
 * inverse-square-distance weighted logits of the observed nodes within that
 * many voxels instead of staying unknown.
 */
export function renderObjects(field: MaskFieldValue, camera: Camera, render: DepthRender, minAccumulation: number, fillRadius = 0): RenderedObjects {
  const rendered = renderSamples(field, sampleSurface(camera, render, fieldNodes(field), minAccumulation, false));
  if (fillRadius > 0) fillUnknown(field, camera, render, minAccumulation, rendered, fillRadius);
  return rendered;
}

function fillUnknown(field: MaskFieldValue, camera: Camera, render: DepthRender, minAccumulation: number, out: RenderedObjects, radius: number): void {
  const nodes = fieldNodes(field);
  const { origin, voxelSize, dims } = field.grid;
  const [nx, ny, nz] = dims;
  const n = field.nodes.length, objects = field.objects.length;
  const z = new Float64Array(objects), w = new Float64Array(objects);
  forEachSurfacePoint(camera, render, minAccumulation, (p, x, y, zw) => {
    if (out.known[p]) return;
    const fx = (x - origin[0]) / voxelSize, fy = (y - origin[1]) / voxelSize, fz = (zw - origin[2]) / voxelSize;
    const i0 = Math.floor(fx), j0 = Math.floor(fy), k0 = Math.floor(fz);
    z.fill(0);
    w.fill(0);
    let any = false;
    for (let k = Math.max(0, k0 - radius + 1); k <= Math.min(nz - 1, k0 + radius); k++)
      for (let j = Math.max(0, j0 - radius + 1); j <= Math.min(ny - 1, j0 + radius); j++)
        for (let i = Math.max(0, i0 - radius + 1); i <= Math.min(nx - 1, i0 + radius); i++) {
          const id = nodes.lookup(i + nx * (j + ny * k));
          if (id < 0) continue;
          const weight = 1 / (0.25 + (fx - i) ** 2 + (fy - j) ** 2 + (fz - k) ** 2);
          for (let o = 0; o < objects; o++) {
            if (!(field.evidence[o * n + id]! > 0)) continue;
            z[o] += weight * field.logits[o * n + id]!;
            w[o] += weight;
            any = true;
          }
        }
    if (!any) return;
    out.known[p] = 1;
    let best = 0;
    for (let o = 0; o < objects; o++) {
      if (w[o]! > 0 && z[o]! / w[o]! > best) {
        best = z[o]! / w[o]!;
        out.labels[p] = o + 1;
      }
    }
    if (out.labels[p]) out.masks[out.labels[p]! - 1]![p] = 1;
  });
}

/**
 * The label of the 3D mask at world points (0 = no object): per object the
 * trilinear logit over the cell's observed nodes, the largest positive wins.
 */
export function labelPoints(field: MaskFieldValue, positions: Float32Array): Uint8Array {
  const nodes = fieldNodes(field);
  const { origin, voxelSize, dims } = field.grid;
  const [nx, ny, nz] = dims;
  const n = field.nodes.length;
  const count = positions.length / 3;
  const out = new Uint8Array(count);
  const ids = new Int32Array(8), w = new Float32Array(8);
  for (let i = 0; i < count; i++) {
    const fx = (positions[3 * i]! - origin[0]) / voxelSize, fy = (positions[3 * i + 1]! - origin[1]) / voxelSize, fz = (positions[3 * i + 2]! - origin[2]) / voxelSize;
    const a = Math.floor(fx), b = Math.floor(fy), c = Math.floor(fz);
    if (a < 0 || b < 0 || c < 0 || a >= nx - 1 || b >= ny - 1 || c >= nz - 1) continue;
    const tx = fx - a, ty = fy - b, tz = fz - c;
    for (let k = 0; k < 8; k++) {
      const dx = k & 1, dy = (k >> 1) & 1, dz = k >> 2;
      ids[k] = nodes.lookup(a + dx + nx * (b + dy + ny * (c + dz)));
      w[k] = (dx ? tx : 1 - tx) * (dy ? ty : 1 - ty) * (dz ? tz : 1 - tz);
    }
    let best = 0;
    for (let o = 0; o < field.objects.length; o++) {
      let z = 0, ws = 0;
      for (let k = 0; k < 8; k++) {
        const id = ids[k]!;
        if (id < 0 || !(field.evidence[o * n + id]! > 0)) continue;
        z += w[k]! * field.logits[o * n + id]!;
        ws += w[k]!;
      }
      if (ws > 1e-6 && z / ws > best) {
        best = z / ws;
        out[i] = o + 1;
      }
    }
  }
  return out;
}

/** The grid's nodes as a dense label volume [nz, ny, nx] (0 = no object or never observed). */
export function denseLabels(field: MaskFieldValue): Uint8Array {
  const [nx, ny, nz] = field.grid.dims;
  const out = new Uint8Array(nx * ny * nz);
  const n = field.nodes.length;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let o = 0; o < field.objects.length; o++) {
      const z = field.logits[o * n + i]!;
      if (field.evidence[o * n + i]! > 0 && z > best) {
        best = z;
        out[field.nodes[i]!] = o + 1;
      }
    }
  }
  return out;
}
