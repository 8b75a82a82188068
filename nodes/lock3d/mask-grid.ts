// The 3D mask: logits on the nodes of a regular grid, kept sparsely around
// the observed surfaces, rendered into a view by looking up each pixel's
// surface point (its ray at the rendered depth) and interpolating the logits
// of its cell's 8 nodes trilinearly; fitted to 2D masks by inverse rendering
// with SA3D's loss (docs/lock3d.md).

import type { Camera } from '../../engine/values';
import type { DepthRender } from './geometry';

export interface GridSpec {
  origin: [number, number, number];
  voxelSize: number;
  dims: [number, number, number];
}

/** Compact ids for the grid nodes in use, by linear index. */
export class SparseNodes {
  private readonly map = new Map<number, number>();
  readonly linear: number[] = [];
  constructor(readonly grid: GridSpec) {}

  get size(): number {
    return this.linear.length;
  }

  lookup(linear: number): number {
    return this.map.get(linear) ?? -1;
  }

  add(linear: number): number {
    let id = this.map.get(linear);
    if (id === undefined) {
      id = this.linear.length;
      this.map.set(linear, id);
      this.linear.push(linear);
    }
    return id;
  }

  /** From stored (ascending) linear indices, e.g. a MaskField's nodes. */
  static from(grid: GridSpec, linear: ArrayLike<number>): SparseNodes {
    const nodes = new SparseNodes(grid);
    for (let i = 0; i < linear.length; i++) nodes.add(linear[i]!);
    return nodes;
  }
}

/** The surface points of one view in the grid: per sample its pixel, opacity, and 8 nodes with trilinear weights. */
export interface SurfaceSamples {
  width: number;
  height: number;
  count: number;
  pixel: Int32Array;
  accumulation: Float32Array;
  /** 8 per sample: node id, or -1 where the node is not stored (lookups of views outside the fit). */
  node: Int32Array;
  weight: Float32Array;
  /** Planar depth per pixel (0 = no surface), for self-prompting. */
  depth: Float32Array;
}

/** Calls fn(pixel, x, y, z, depth, accumulation) for each pixel with a solid surface. */
export function forEachSurfacePoint(
  camera: Camera,
  render: DepthRender,
  minAccumulation: number,
  fn: (pixel: number, x: number, y: number, z: number, depth: number, accumulation: number) => void,
): void {
  const m = camera.cameraToWorld;
  const { width, height, depth, accumulation } = render;
  const ox = m[3]!, oy = m[7]!, oz = m[11]!;
  for (let v = 0; v < height; v++) {
    const dy = -(v + 0.5 - camera.cy) / camera.fy;
    for (let u = 0; u < width; u++) {
      const p = v * width + u;
      const d = depth[p]!, a = accumulation[p]!;
      if (!(d > 0) || !(a >= minAccumulation)) continue;
      const dx = (u + 0.5 - camera.cx) / camera.fx;
      fn(p, ox + d * (m[0]! * dx + m[1]! * dy - m[2]!), oy + d * (m[4]! * dx + m[5]! * dy - m[6]!), oz + d * (m[8]! * dx + m[9]! * dy - m[10]!), d, a);
    }
  }
}

/** Median pixel footprint (world units per pixel) at the surfaces a view sees. */
export function medianFootprint(camera: Camera, render: DepthRender, minAccumulation: number): number {
  const values: number[] = [];
  const f = Math.sqrt(camera.fx * camera.fy);
  forEachSurfacePoint(camera, render, minAccumulation, (_p, _x, _y, _z, d) => values.push(d / f));
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  return values[values.length >> 1]!;
}

/** A grid of the given voxel size around a box, with one voxel of margin. */
export function gridAround(min: readonly number[], max: readonly number[], voxelSize: number): GridSpec {
  const origin = [0, 1, 2].map((a) => min[a]! - voxelSize) as [number, number, number];
  const dims = [0, 1, 2].map((a) => Math.max(2, Math.ceil((max[a]! - min[a]!) / voxelSize) + 3)) as [number, number, number];
  if (dims[0] * dims[1] * dims[2] > 2 ** 32) throw new RangeError(`a ${dims.join('x')} grid is too large; use a larger voxel size`);
  return { origin, voxelSize, dims };
}

/**
 * A view's surface samples. With `create`, nodes missing from `nodes` are
 * added (views being fitted); without, they are looked up only (-1 where
 * absent). Points outside the grid are skipped.
 */
export function sampleSurface(camera: Camera, render: DepthRender, nodes: SparseNodes, minAccumulation: number, create: boolean): SurfaceSamples {
  const { origin, voxelSize, dims } = nodes.grid;
  const [nx, ny, nz] = dims;
  const n = render.width * render.height;
  const pixel = new Int32Array(n), accumulation = new Float32Array(n);
  const node = new Int32Array(8 * n), weight = new Float32Array(8 * n);
  let count = 0;
  forEachSurfacePoint(camera, render, minAccumulation, (p, x, y, z, _d, a) => {
    const fx = (x - origin[0]) / voxelSize, fy = (y - origin[1]) / voxelSize, fz = (z - origin[2]) / voxelSize;
    const i = Math.floor(fx), j = Math.floor(fy), k = Math.floor(fz);
    if (i < 0 || j < 0 || k < 0 || i >= nx - 1 || j >= ny - 1 || k >= nz - 1) return;
    const tx = fx - i, ty = fy - j, tz = fz - k;
    const s = count++;
    pixel[s] = p;
    accumulation[s] = a;
    for (let c = 0; c < 8; c++) {
      const cx = c & 1, cy = (c >> 1) & 1, cz = c >> 2;
      const lin = i + cx + nx * (j + cy + ny * (k + cz));
      node[8 * s + c] = create ? nodes.add(lin) : nodes.lookup(lin);
      weight[8 * s + c] = (cx ? tx : 1 - tx) * (cy ? ty : 1 - ty) * (cz ? tz : 1 - tz);
    }
  });
  return {
    width: render.width,
    height: render.height,
    count,
    pixel: pixel.slice(0, count),
    accumulation: accumulation.slice(0, count),
    node: node.slice(0, 8 * count),
    weight: weight.slice(0, 8 * count),
    depth: render.depth,
  };
}

export interface FitTarget {
  samples: SurfaceSamples;
  /** The 2D mask to match, width*height, 1 = object. */
  mask: Uint8Array;
}

export interface FitOptions {
  /** Weight of the background term of SA3D's loss (lambda, 1 in SA3D). */
  lambda: number;
  iterations: number;
  learningRate: number;
  /** Start from these logits (warm start); zeros otherwise. */
  init?: Float32Array;
}

export interface FitResult {
  logits: Float32Array;
  /** Summed interpolation weight x opacity of the supervising pixels, per node. */
  evidence: Float32Array;
  /** SA3D loss per supervising pixel at the end: -mean(M m) + lambda mean((1 - M) m). */
  loss: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Logit of nodes that no positive pixel touches: never fitted, since every pixel supervising them says background. */
export const BACKGROUND_LOGIT = -6;

/**
 * Fits node logits so that the rendered mask m = a * sigmoid(z) (z the
 * trilinear logit at the pixel's surface point, a its opacity) matches the
 * targets under SA3D's loss  L = sum_p [-M_p m_p + lambda (1 - M_p) m_p],
 * with Adam. The sigmoid bounds the mask in [0, 1] so the linear loss has
 * a minimiser. Only pixels whose cell touches a node that some positive
 * pixel touches are fitted; the other observed nodes are background
 * (BACKGROUND_LOGIT). Nodes no target sees keep zero evidence.
 */
export function fitMaskLogits(targets: readonly FitTarget[], nodeCount: number, options: FitOptions): FitResult {
  const evidence = new Float32Array(nodeCount);
  const positive = new Uint8Array(nodeCount);
  for (const { samples, mask } of targets) {
    for (let s = 0; s < samples.count; s++) {
      const a = samples.accumulation[s]!;
      const inside = mask[samples.pixel[s]!];
      for (let c = 0; c < 8; c++) {
        const id = samples.node[8 * s + c]!;
        if (id < 0) continue;
        evidence[id] += a * samples.weight[8 * s + c]!;
        if (inside) positive[id] = 1;
      }
    }
  }
  const logits = new Float32Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) logits[i] = positive[i] ? options.init?.[i] ?? 0 : evidence[i]! > 0 ? BACKGROUND_LOGIT : 0;
  // The samples that touch a positive node, per target.
  const active: Int32Array[] = [];
  let total = 0;
  for (const { samples } of targets) {
    const list: number[] = [];
    for (let s = 0; s < samples.count; s++) {
      for (let c = 0; c < 8; c++) {
        const id = samples.node[8 * s + c]!;
        if (id >= 0 && positive[id]) {
          list.push(s);
          break;
        }
      }
    }
    active.push(Int32Array.from(list));
    total += list.length;
  }
  const grad = new Float32Array(nodeCount), m1 = new Float32Array(nodeCount), m2 = new Float32Array(nodeCount);
  const beta1 = 0.9, beta2 = 0.99, eps = 1e-8, lambda = options.lambda;
  const scale = 1 / Math.max(1, total);
  let loss = 0;
  for (let it = 1; it <= options.iterations; it++) {
    grad.fill(0);
    loss = 0;
    targets.forEach(({ samples, mask }, t) => {
      const { node, weight, accumulation, pixel } = samples;
      const list = active[t]!;
      for (let k = 0; k < list.length; k++) {
        const s = list[k]!;
        const o = 8 * s;
        let z = 0, w = 0;
        for (let c = 0; c < 8; c++) {
          const id = node[o + c]!;
          if (id < 0) continue;
          z += weight[o + c]! * logits[id]!;
          w += weight[o + c]!;
        }
        if (w <= 0) continue;
        z /= w;
        const sg = sigmoid(z), a = accumulation[s]!;
        const coeff = mask[pixel[s]!] ? -1 : lambda; // dL/dm
        loss += coeff * a * sg;
        const g = (coeff * a * sg * (1 - sg) * scale) / w;
        for (let c = 0; c < 8; c++) {
          const id = node[o + c]!;
          if (id >= 0 && positive[id]) grad[id] += g * weight[o + c]!;
        }
      }
    });
    const lr = options.learningRate, b1 = 1 - beta1 ** it, b2 = 1 - beta2 ** it;
    for (let i = 0; i < nodeCount; i++) {
      if (!positive[i]) continue;
      const g = grad[i]!;
      m1[i] = beta1 * m1[i]! + (1 - beta1) * g;
      m2[i] = beta2 * m2[i]! + (1 - beta2) * g * g;
      logits[i] -= (lr * (m1[i]! / b1)) / (Math.sqrt(m2[i]! / b2) + eps);
    }
  }
  return { logits, evidence, loss: loss * scale };
}

/** Per pixel: 0 = no surface (or outside the grid), 1 = surface never observed, 2 = known. */
export const NO_SURFACE = 0, UNKNOWN = 1, KNOWN = 2;

export interface RenderedMask {
  width: number;
  height: number;
  /** Interpolated logit per pixel (0 where not known). */
  logit: Float32Array;
  state: Uint8Array;
}

/**
 * Renders an object's logits into a view: the trilinear logit over the
 * cell's observed nodes (evidence > 0), renormalised; a pixel none of whose
 * nodes was observed is UNKNOWN.
 */
export function renderMaskLogits(samples: SurfaceSamples, logits: Float32Array, evidence: Float32Array, offset = 0): RenderedMask {
  const n = samples.width * samples.height;
  const logit = new Float32Array(n), state = new Uint8Array(n);
  const { node, weight, pixel } = samples;
  for (let s = 0; s < samples.count; s++) {
    const o = 8 * s;
    let z = 0, w = 0;
    for (let c = 0; c < 8; c++) {
      const id = node[o + c]!;
      if (id < 0 || !(evidence[offset + id]! > 0)) continue;
      z += weight[o + c]! * logits[offset + id]!;
      w += weight[o + c]!;
    }
    const p = pixel[s]!;
    if (w > 1e-6) {
      logit[p] = z / w;
      state[p] = KNOWN;
    } else state[p] = UNKNOWN;
  }
  return { width: samples.width, height: samples.height, logit, state };
}

/** The binary mask of a rendering: known pixels with a positive logit. */
export function maskOf(r: RenderedMask): Uint8Array {
  const out = new Uint8Array(r.logit.length);
  for (let p = 0; p < out.length; p++) out[p] = r.state[p] === KNOWN && r.logit[p]! > 0 ? 1 : 0;
  return out;
}
