// The feature head's forward pass (head.ts) for rendering, with the hash
// encoding in TypeScript and every matrix product in onnxruntime: its CPU
// kernels (MLAS) run the aggregator's 3 x 3 convolution over 64 x 64 x P^2
// rays many times faster than the scalar TypeScript products. Platform-
// neutral: sessions come from the NeRF platform's SessionFactory when an
// adapter installed one (runtime-gpu/nerf/node: one thread, no spinning),
// else from the registered backend. Rendering only (no backward); it needs
// at most one surface point per ray (surface.placement 'centres'), so each
// ray's feature is acc g(x) + (1 - acc) bg. head.ts is the definition; a
// test checks that both agree.
//
// Graph, for B cells of P x P rays (R = B P^2 rows):
//   g  = relu(enc W1^T + b1)                            [R, H]
//   X  = acc g + (1 - acc) bg                           [R, H] -> [B, P^2, H]
//   m  = mean_p X                                       [B, H]
//   aggregation (C > 0):
//     cols = Gather(Pad(X, one zero row), neighbour)    [B, P^2, 9, H]   (im2col, zeros outside the patch)
//     Y    = relu(cols conv1^T + c1b)                   [B P^2, C]
//     T    = A Y                                        [B, 9, C]  (A[k][q] = #{p : p + k = q} / P^2)
//     m   += T conv2^T + c2b
//   out = m wOut^T + bOut                               [B, K]

import type { FeatureFieldConfig } from '../../engine/values';
import { resolveBackend, type InferenceSession } from '../backend';
import { hashEncodeForward } from '../nerf/hash-encoding';
import type { SessionFactory } from '../nerf/field-ort';
import { GraphBuilder, type ValueInfo } from '../nerf/onnx';
import { nerfPlatform } from '../nerf/platform';
import { tensor, type TensorData } from '../tensor';
import type { CellBatch } from './head';
import type { FeatureLayout } from './layout';

const f = (name: string, shape: (number | string)[]): ValueInfo => ({ name, elemType: 'float', shape });

/** Cells per onnxruntime call (keeps the im2col buffer at a few MB). */
const CHUNK_CELLS = 1024;

export function buildHeadGraph(config: FeatureFieldConfig, layout: FeatureLayout): Uint8Array {
  const P = config.patch, P2 = P * P, E = layout.encodingWidth, H = config.hidden, C = config.aggChannels, K = config.channels;
  const b = new GraphBuilder('feature_head');
  const g = b.node('Relu', [b.node('Gemm', ['enc', 'W1', 'b1'], { transB: 1 })]);
  const one = b.constFloat([1], []);
  const X = b.node('Add', [b.node('Mul', ['acc', g]), b.node('Mul', [b.node('Sub', [one, 'acc']), 'bg'])]);
  const X3 = b.node('Reshape', [X, b.constInt64([-1, P2, H])]);
  let m = b.node('ReduceMean', [X3], { axes: [1], keepdims: 0 });
  const inputs = [f('enc', ['n', E]), f('acc', ['n', 1]), f('W1', [H, E]), f('b1', [H]), f('bg', [H]), f('wOut', [K, H]), f('bOut', [K])];
  if (C > 0) {
    // Neighbour table: index of p + k within the patch, or P2 (the zero row added by Pad).
    const idx: number[] = [];
    const A = new Array<number>(9 * P2).fill(0);
    for (let y = 0; y < P; y++)
      for (let x = 0; x < P; x++)
        for (let k = 0; k < 9; k++) {
          const nx = x + (k % 3) - 1, ny = y + Math.floor(k / 3) - 1;
          const inside = nx >= 0 && ny >= 0 && nx < P && ny < P;
          idx.push(inside ? ny * P + nx : P2);
          if (inside) A[k * P2 + ny * P + nx]! += 1 / P2;
        }
    const pads = b.constInt64([0, 0, 0, 0, 1, 0]);
    const Xp = b.node('Pad', [X3, pads]);
    const idxName = `neighbour_${P}`;
    b.initializers.push({ name: idxName, dims: [P2, 9], data: new BigInt64Array(idx.map(BigInt)) });
    const cols = b.node('Reshape', [b.node('Gather', [Xp, idxName], { axis: 1 }), b.constInt64([-1, 9 * H])]);
    const Y = b.node('Relu', [b.node('Gemm', [cols, 'conv1', 'c1b'], { transB: 1 })]);
    const T = b.node('MatMul', [b.constFloat(A, [9, P2]), b.node('Reshape', [Y, b.constInt64([-1, P2, C])])]);
    const agg = b.node('Gemm', [b.node('Reshape', [T, b.constInt64([-1, 9 * C])]), 'conv2', 'c2b'], { transB: 1 });
    m = b.node('Add', [m, agg]);
    inputs.push(f('conv1', [C, 9 * H]), f('c1b', [C]), f('conv2', [H, 9 * C]), f('c2b', [H]));
  }
  b.node('Gemm', [m, 'wOut', 'bOut'], { transB: 1 }, 'out');
  return b.build(inputs, [f('out', ['b', K])]);
}

export class OrtFeatureHead {
  private enc = new Float32Array(0);
  private accBuf = new Float32Array(0);

  private constructor(
    readonly config: FeatureFieldConfig,
    readonly layout: FeatureLayout,
    private readonly session: InferenceSession,
  ) {}

  static async create(config: FeatureFieldConfig, layout: FeatureLayout, factory?: SessionFactory): Promise<OrtFeatureHead> {
    let create = (factory ?? nerfPlatform().sessionFactory)?.create;
    if (!create) {
      const resolved = await resolveBackend('cpu');
      create = (model) => resolved.backend.createSession(model, { device: resolved.device });
    }
    return new OrtFeatureHead(config, layout, await create(buildHeadGraph(config, layout)));
  }

  private weights(params: Float32Array): Record<string, TensorData> {
    const { layout: l, config } = this;
    const H = config.hidden, E = l.encodingWidth, C = config.aggChannels, K = config.channels;
    const w = (off: number, dims: number[]) => tensor('float32', params.slice(off, off + dims.reduce((a, b) => a * b, 1)), dims);
    const feeds: Record<string, TensorData> = { W1: w(l.w1, [H, E]), b1: w(l.b1, [H]), bg: w(l.bg, [H]), wOut: w(l.wOut, [K, H]), bOut: w(l.bOut, [K]) };
    if (C > 0) Object.assign(feeds, { conv1: w(l.conv1, [C, 9 * H]), c1b: w(l.c1b, [C]), conv2: w(l.conv2, [H, 9 * C]), c2b: w(l.c2b, [H]) });
    return feeds;
  }

  /** out[c * K + k] for the batch's cells, as FeatureHead.forward; every ray has at most one sample (weight 1). */
  async forward(params: Float32Array, batch: CellBatch, out: Float32Array): Promise<void> {
    const { config, layout } = this;
    const P2 = config.patch * config.patch, E = layout.encodingWidth, K = config.channels;
    const R = batch.cells * P2;
    if (batch.samples > R) throw new Error('OrtFeatureHead: at most one surface point per ray (surface.placement "centres")');
    // Per-ray positions (rays without a point read the cube's corner; their acc is 0).
    if (this.enc.length < R * E) this.enc = new Float32Array(R * E);
    if (this.accBuf.length < R) this.accBuf = new Float32Array(R);
    const pos = new Float32Array(3 * R);
    const acc = this.accBuf;
    acc.set(batch.acc.subarray(0, R));
    const has = new Uint8Array(R);
    for (let s = 0; s < batch.samples; s++) {
      const r = batch.sampleRay[s]!;
      if (has[r]) throw new Error('OrtFeatureHead: at most one surface point per ray (surface.placement "centres")');
      has[r] = 1;
      pos[3 * r] = batch.positions[3 * s]!;
      pos[3 * r + 1] = batch.positions[3 * s + 1]!;
      pos[3 * r + 2] = batch.positions[3 * s + 2]!;
    }
    for (let r = 0; r < R; r++) if (!has[r]) acc[r] = 0;
    hashEncodeForward(params, layout.levels, pos, R, this.enc, E);
    const weights = this.weights(params);
    for (let c0 = 0; c0 < batch.cells; c0 += CHUNK_CELLS) {
      const c1 = Math.min(batch.cells, c0 + CHUNK_CELLS), r0 = c0 * P2, r1 = c1 * P2;
      const res = await this.session.run({
        ...weights,
        enc: tensor('float32', this.enc.subarray(r0 * E, r1 * E), [r1 - r0, E]),
        acc: tensor('float32', acc.subarray(r0, r1), [r1 - r0, 1]),
      });
      out.set(res.out!.data as Float32Array, c0 * K);
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
