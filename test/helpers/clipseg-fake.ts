// A small ClipSeg-shaped ONNX model for tests (the real export cannot be
// downloaded here): the published export's I/O (input_ids, attention_mask
// [n, L] int64, pixel_values [n, 3, 352, 352] -> logits [n, 352, 352]) and
// its structure as far as the split cares: a patch Conv (stride 16) into
// 22 x 22 tokens plus a CLS token, three "vision layers" (3, 6, 9), the
// decoder's reduces named by module scope (/decoder/reduces.{i}/MatMul, then
// /Add) on layers 9, 6, 3, FiLM from a text embedding (masked mean of an
// embedding table gathered by input_ids), three decoder layers that mix
// tokens (so the CLS token matters), the reduced activations added in
// ClipSeg's order, CLS dropped, a transposed conv (stride 16) to logits.
// Random weights, fixed by a seed; reduce dim `reduce` (ClipSeg: 64).

import { Rng } from '../../runtime-gpu/nerf/rng';
import { onnxModel, type InitializerSpec, type NodeSpec } from './onnx-writer';

export interface FakeClipSegOptions {
  reduce?: number;
  /** Width of the fake vision tokens. */
  width?: number;
  seed?: number;
  /** Vocabulary rows of the text embedding (49,408 for CLIP's tokenizer). */
  vocab?: number;
  /** Prefix of the reduce nodes' names (default '/decoder/reduces'); tests change it to check the "not found" error. */
  reducesScope?: string;
  /** Also list the cut tensors as graph outputs (a reference for the split's encoder). */
  exposeCut?: boolean;
}

export const FAKE_CLIPSEG_SIDE = 22;
export const FAKE_CLIPSEG_INPUT = 352;

export function fakeClipSegModel(options: FakeClipSegOptions = {}): Uint8Array {
  const D = options.reduce ?? 4, W = options.width ?? 8, V = options.vocab ?? 49408;
  const G = FAKE_CLIPSEG_SIDE, T = G * G, S = FAKE_CLIPSEG_INPUT;
  const scope = options.reducesScope ?? '/decoder/reduces';
  const rng = new Rng(options.seed ?? 1);
  const inits: InitializerSpec[] = [];
  const weight = (name: string, dims: number[], fanIn: number, gain = 1) => {
    const n = dims.reduce((a, b) => a * b, 1), b = gain * Math.sqrt(3 / fanIn);
    inits.push({ name, dims, data: Float32Array.from({ length: n }, () => rng.uniform(-b, b)) });
    return name;
  };
  const ints = (name: string, values: number[]) => {
    inits.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  };
  const nodes: NodeSpec[] = [];
  const op = (name: string, opType: string, inputs: string[], attributes?: NodeSpec['attributes']) => {
    const out = `${name}_output_0`;
    nodes.push({ name, opType, inputs, outputs: [out], attributes });
    return out;
  };
  // Vision: patches -> tokens, CLS = mean token + a learned offset.
  const conv = op('/clip/vision_model/embeddings/patch_embedding/Conv', 'Conv', ['pixel_values', weight('patch.w', [W, 3, 16, 16], 3 * 256), weight('patch.b', [W], 1, 0.1)], {
    kernel_shape: [16, 16], strides: [16, 16], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1,
  });
  const flat = op('/clip/vision_model/embeddings/Reshape', 'Reshape', [conv, ints('shape.tokens', [0, W, T])]);
  const tok = op('/clip/vision_model/embeddings/Transpose', 'Transpose', [flat], { perm: [0, 2, 1] });
  const mean = op('/clip/vision_model/embeddings/ReduceMean', 'ReduceMean', [tok], { axes: [1], keepdims: 1 });
  const cls = op('/clip/vision_model/embeddings/Add', 'Add', [mean, weight('cls', [W], 1)]);
  let x = op('/clip/vision_model/embeddings/Concat', 'Concat', [cls, tok], { axis: 1 });
  // Three vision layers (3, 6, 9): tanh(x W + b + mean_tokens(x) M).
  const layer = (prefix: string, input: string, width: number) => {
    const mm = op(`${prefix}/MatMul`, 'MatMul', [input, weight(`${prefix}.w`, [width, width], width)]);
    const ctx = op(`${prefix}/ReduceMean`, 'ReduceMean', [input], { axes: [1], keepdims: 1 });
    const mix = op(`${prefix}/MatMul_1`, 'MatMul', [ctx, weight(`${prefix}.m`, [width, width], width, 0.5)]);
    const sum = op(`${prefix}/Add`, 'Add', [mm, mix]);
    const biased = op(`${prefix}/Add_1`, 'Add', [sum, weight(`${prefix}.b`, [width], 1, 0.2)]);
    return op(`${prefix}/Tanh`, 'Tanh', [biased]);
  };
  const acts: string[] = [];
  for (const l of [3, 6, 9]) {
    x = layer(`/clip/vision_model/encoder/layers.${l}`, x, W);
    acts.push(x);
  }
  // Reduces: reduces.0 on layer 9, reduces.1 on 6, reduces.2 on 3 (ClipSeg walks the activations in reverse).
  const reduced = [2, 1, 0].map((a, i) => {
    const mm = op(`${scope}.${i}/MatMul`, 'MatMul', [acts[a]!, weight(`reduces.${i}.w`, [W, D], W)]);
    return op(`${scope}.${i}/Add`, 'Add', [mm, weight(`reduces.${i}.b`, [D], 1, 0.2)]);
  });
  // Text: masked mean of the token embeddings, then FiLM.
  const emb = op('/clip/text_model/embeddings/Gather', 'Gather', [weight('text.embedding', [V, D], 1), 'input_ids'], { axis: 0 });
  const maskF = op('/clip/text_model/Cast', 'Cast', ['attention_mask'], { to: 1 });
  const mask3 = op('/clip/text_model/Unsqueeze', 'Unsqueeze', [maskF, ints('axes.2', [2])]);
  const masked = op('/clip/text_model/Mul', 'Mul', [emb, mask3]);
  const sum = op('/clip/text_model/ReduceSum', 'ReduceSum', [masked, ints('axes.1', [1])], { keepdims: 0 });
  const count = op('/clip/text_model/ReduceSum_1', 'ReduceSum', [maskF, 'axes.1'], { keepdims: 1 });
  const cond = op('/clip/text_model/Div', 'Div', [sum, count]);
  const film = (name: string) => {
    const mm = op(`/decoder/${name}/MatMul`, 'MatMul', [cond, weight(`${name}.w`, [D, D], D)]);
    const add = op(`/decoder/${name}/Add`, 'Add', [mm, weight(`${name}.b`, [D], 1, name === 'film_mul' ? 3 : 0.2)]);
    return op(`/decoder/${name}/Unsqueeze`, 'Unsqueeze', [add, ints(`axes.${name}`, [1])]);
  };
  const filmMul = film('film_mul'), filmAdd = film('film_add');
  let a = op('/decoder/Mul', 'Mul', [reduced[0]!, filmMul]);
  a = op('/decoder/Add', 'Add', [a, filmAdd]);
  a = layer('/decoder/layers.0', a, D);
  a = op('/decoder/Add_1', 'Add', [a, reduced[1]!]);
  a = layer('/decoder/layers.1', a, D);
  a = op('/decoder/Add_2', 'Add', [a, reduced[2]!]);
  a = layer('/decoder/layers.2', a, D);
  // Drop CLS, back to the grid, transposed conv to the logits.
  const patches = op('/decoder/Slice', 'Slice', [a, ints('slice.starts', [1]), ints('slice.ends', [T + 1]), ints('slice.axes', [1])]);
  const chw = op('/decoder/Transpose', 'Transpose', [patches], { perm: [0, 2, 1] });
  const grid = op('/decoder/Reshape', 'Reshape', [chw, ints('shape.grid', [0, D, G, G])]);
  const up = op('/decoder/transposed_convolution/ConvTranspose', 'ConvTranspose', [grid, weight('tconv.w', [D, 1, 16, 16], D, 3), weight('tconv.b', [1], 1, 0.3)], {
    kernel_shape: [16, 16], strides: [16, 16], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1, output_padding: [0, 0],
  });
  nodes.push({ name: '/decoder/Squeeze', opType: 'Squeeze', inputs: [up, ints('axes.squeeze', [1])], outputs: ['logits'] });
  return onnxModel({
    inputs: [
      { name: 'input_ids', elemType: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', elemType: 'int64', shape: ['batch', 'sequence'] },
      { name: 'pixel_values', elemType: 'float', shape: ['batch', 3, S, S] },
    ],
    outputs: [
      { name: 'logits', elemType: 'float', shape: ['batch', S, S] },
      ...(options.exposeCut ? reduced.map((name) => ({ name, elemType: 'float' as const, shape: ['batch', T + 1, D] })) : []),
    ],
    nodes,
    initializers: inits,
    name: 'main_graph',
    producer: 'pytorch',
  });
}

/** The cut tensors of the fake model (reduces.0, 1, 2). */
export const FAKE_CLIPSEG_CUT = [0, 1, 2].map((i) => `/decoder/reduces.${i}/Add_output_0`);
