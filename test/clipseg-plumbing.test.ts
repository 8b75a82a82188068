// ClipSeg plumbing without the real weights (they cannot be downloaded here):
// small ONNX graphs written by test/helpers/onnx-writer run in onnxruntime-node
// with our tokenizer output and preprocessed pixels, and the answers are
// checked against values worked out by hand.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageValue } from '../engine/values';
import { clipSegFeeds, type FeedTensor } from '../nodes/clipseg/feeds';
import { logitsToHeatmaps } from '../nodes/clipseg/postprocess';
import { clipSegPixelValues, IMAGENET_MEAN, IMAGENET_STD } from '../nodes/clipseg/preprocess';
import { ClipTokenizer } from '../nodes/clipseg/tokenizer';
import { resizeFloat } from '../runtime-gpu/image/resize';
import { onnxFloat, onnxModel, type ModelSpec } from './helpers/onnx-writer';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const bpePath = resolve(repoRoot, '../shared/data/clip/bpe_simple_vocab_16e6.txt.gz');
const haveBpe = existsSync(bpePath);

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

async function runModel(spec: ModelSpec, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await InferenceSession.create(onnxModel(spec));
  try {
    return (await session.run(feeds)) as Record<string, Tensor>;
  } finally {
    await session.release();
  }
}

function toOrtTensor(feed: FeedTensor): Tensor {
  return feed.type === 'int64' ? new Tensor('int64', feed.data, feed.dims) : new Tensor('float32', feed.data, feed.dims);
}

describe('onnx-writer builds models onnxruntime-node runs', () => {
  const f = (name: string, shape: (number | string)[]) => ({ name, elemType: 'float' as const, shape });

  it('Add and Mul with an initializer, on dynamic shapes', async () => {
    const out = await runModel(
      {
        inputs: [f('a', ['n']), f('b', ['n'])],
        outputs: [f('y', ['n'])],
        nodes: [
          { opType: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
          { opType: 'Mul', inputs: ['sum', 'three'], outputs: ['y'] },
        ],
        initializers: [{ name: 'three', dims: [], data: new Float32Array([3]) }],
      },
      { a: new Tensor('float32', new Float32Array([1, 2, -1]), [3]), b: new Tensor('float32', new Float32Array([0.5, 1, 4]), [3]) },
    );
    expect(Array.from(out.y!.data as Float32Array)).toEqual([4.5, 9, 9]);
  });

  it('Conv (attributes spelled out) then Sigmoid', async () => {
    const input = Float32Array.from({ length: 16 }, (_, i) => i); // [1,1,4,4]
    const weight = new Float32Array([0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]); // [2,1,3,3]
    const bias = new Float32Array([0.5, -100]);
    const out = await runModel(
      {
        inputs: [f('x', [1, 1, 4, 4])],
        outputs: [f('conv', [1, 2, 4, 4]), f('y', [1, 2, 4, 4])],
        nodes: [
          {
            opType: 'Conv',
            inputs: ['x', 'w', 'b'],
            outputs: ['conv'],
            attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 },
          },
          { opType: 'Sigmoid', inputs: ['conv'], outputs: ['y'] },
        ],
        initializers: [
          { name: 'w', dims: [2, 1, 3, 3], data: weight },
          { name: 'b', dims: [2], data: bias },
        ],
      },
      { x: new Tensor('float32', input, [1, 1, 4, 4]) },
    );
    const conv = out.conv!.data as Float32Array;
    // Channel 0: identity kernel + 0.5.
    for (let i = 0; i < 16; i++) expect(conv[i]).toBeCloseTo(i + 0.5, 5);
    // Channel 1: 3x3 box sum with zero padding - 100; at (1,1): 0+1+2+4+5+6+8+9+10 = 45.
    expect(conv[16 + 5]).toBeCloseTo(45 - 100, 4);
    // Corner (0,0): 0+1+4+5 = 10.
    expect(conv[16]).toBeCloseTo(10 - 100, 4);
    const y = out.y!.data as Float32Array;
    expect(y[3]).toBeCloseTo(sigmoid(3.5), 6);
  });

  it('ReduceMean over channels and Resize matching resizeFloat (torch bilinear, align_corners=False)', async () => {
    const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i) * 3); // [1,2,3,4]
    const out = await runModel(
      {
        inputs: [f('x', [1, 2, 3, 4])],
        outputs: [f('mean', [1, 3, 4]), f('up', [1, 2, 7, 5])],
        nodes: [
          { opType: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attributes: { axes: [1], keepdims: 0 } },
          {
            opType: 'Resize',
            inputs: ['x', '', '', 'sizes'],
            outputs: ['up'],
            attributes: { mode: 'linear', coordinate_transformation_mode: 'half_pixel', cubic_coeff_a: onnxFloat(-0.75) },
          },
        ],
        initializers: [{ name: 'sizes', dims: [4], data: new BigInt64Array([1n, 2n, 7n, 5n]) }],
      },
      { x: new Tensor('float32', x, [1, 2, 3, 4]) },
    );
    const mean = out.mean!.data as Float32Array;
    for (let i = 0; i < 12; i++) expect(mean[i]).toBeCloseTo((x[i]! + x[12 + i]!) / 2, 6);
    const ours = resizeFloat(x, 4, 3, 5, 7, 2);
    const theirs = out.up!.data as Float32Array;
    expect(out.up!.dims).toEqual([1, 2, 7, 5]);
    for (let i = 0; i < ours.length; i++) expect(theirs[i]).toBeCloseTo(ours[i]!, 5);
  });
});

describe('clipSegFeeds', () => {
  const tokens = {
    inputIds: new BigInt64Array([49406n, 320n, 49407n, 49406n, 2368n, 49407n]),
    attentionMask: new BigInt64Array([1n, 1n, 1n, 1n, 1n, 1n]),
    dims: [2, 3] as [number, number],
  };
  const pixels = { data: Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i), dims: [1, 3, 2, 2] as [1, 3, number, number] };

  it('repeats the image per text and includes attention_mask only when the model has it', () => {
    const feeds = clipSegFeeds(['input_ids', 'pixel_values', 'attention_mask'], tokens, pixels, 2);
    expect(feeds.pixel_values!.dims).toEqual([2, 3, 2, 2]);
    expect(Array.from(feeds.pixel_values!.data as Float32Array)).toEqual([...pixels.data, ...pixels.data]);
    expect(feeds.input_ids).toMatchObject({ type: 'int64', dims: [2, 3] });
    expect(feeds.attention_mask).toMatchObject({ type: 'int64', dims: [2, 3] });
    const noMask = clipSegFeeds(['pixel_values', 'input_ids'], tokens, pixels, 2);
    expect(Object.keys(noMask).sort()).toEqual(['input_ids', 'pixel_values']);
  });

  it('names expected and actual inputs when the model does not match', () => {
    expect(() => clipSegFeeds(['input_ids', 'image'], tokens, pixels, 2)).toThrow(
      /expected input_ids, pixel_values.*\[input_ids, image\].*missing pixel_values.*unexpected image/,
    );
  });

  it('checks the text count against the token batch', () => {
    expect(() => clipSegFeeds(['input_ids', 'pixel_values'], tokens, pixels, 3)).toThrow(/3 text\(s\).*2 row/);
  });
});

describe('clipSegPixelValues', () => {
  it('squashes, scales and normalises into planar NCHW', () => {
    const image = quadrantImage(704, 240);
    const { data, dims } = clipSegPixelValues(image);
    expect(dims).toEqual([1, 3, 352, 352]);
    const at = (c: number, y: number, x: number) => data[(c * 352 + y) * 352 + x]!;
    // (x, y) well inside each quadrant of the 352x352 input.
    for (const [x, y, rgb] of [
      [50, 50, QUADRANT_COLORS[0]],
      [300, 50, QUADRANT_COLORS[1]],
      [50, 300, QUADRANT_COLORS[2]],
      [300, 300, QUADRANT_COLORS[3]],
    ] as const) {
      for (let c = 0; c < 3; c++) expect(at(c, y, x)).toBeCloseTo((rgb[c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!, 6);
    }
  });

  it('honours size, mean and std', () => {
    const image: ImageValue = { kind: 'Image', width: 2, height: 1, data: new Uint8Array([255, 0, 51, 255, 0, 51]), name: 't' };
    const { data, dims } = clipSegPixelValues(image, { size: 4, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(dims).toEqual([1, 3, 4, 4]);
    expect(data[0]).toBeCloseTo(1, 6);
    expect(data[16]).toBeCloseTo(-1, 6);
    expect(data[32]).toBeCloseTo(-0.6, 6);
  });
});

describe('logitsToHeatmaps', () => {
  it('applies the sigmoid and upsamples like torch bilinear (align_corners=False), squeezed [h, w] input', () => {
    const [a, b, c, d] = [-2, 1, 0.5, 3];
    const maps = logitsToHeatmaps(new Float32Array([a, b, c, d]), [2, 2], 4, 4, ['thing']);
    expect(maps).toHaveLength(1);
    const map = maps[0]!;
    expect(map).toMatchObject({ kind: 'Heatmap', width: 4, height: 4, label: 'thing' });
    const [sa, sb, sc] = [sigmoid(a), sigmoid(b), sigmoid(c)];
    // 2x upsampling with half-pixel centres: row 0 = [a, .75a+.25b, .25a+.75b, b].
    expect(map.data[0]).toBeCloseTo(sa, 6);
    expect(map.data[1]).toBeCloseTo(0.75 * sa + 0.25 * sb, 6);
    expect(map.data[2]).toBeCloseTo(0.25 * sa + 0.75 * sb, 6);
    expect(map.data[3]).toBeCloseTo(sb, 6);
    expect(map.data[4]).toBeCloseTo(0.75 * sa + 0.25 * sc, 6);
  });

  it('splits [N, h, w] and [N, 1, h, w] into one map per label, and checks the label count', () => {
    const logits = new Float32Array([0, 0, 0, 0, 5, 5, 5, 5]);
    for (const dims of [[2, 2, 2], [2, 1, 2, 2]]) {
      const maps = logitsToHeatmaps(logits, dims, 3, 5, ['a', 'b']);
      expect(maps.map((m) => m.label)).toEqual(['a', 'b']);
      expect(maps[0]!.data.length).toBe(15);
      expect(maps[0]!.data.every((v) => Math.abs(v - 0.5) < 1e-7)).toBe(true);
      expect(maps[1]!.data.every((v) => Math.abs(v - sigmoid(5)) < 1e-7)).toBe(true);
    }
    expect(() => logitsToHeatmaps(logits, [2, 2, 2], 3, 5, ['a'])).toThrow(/2 map\(s\).*1 label/);
    expect(() => logitsToHeatmaps(logits, [2, 3, 2], 3, 5, ['a', 'b'])).toThrow(/do not fill/);
  });
});

// Four flat quadrants, so values deep inside each survive any resize exactly.
const QUADRANT_COLORS = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [128, 64, 32],
] as const;

function quadrantImage(width: number, height: number): ImageValue {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const quadrant = (y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1);
      data.set(QUADRANT_COLORS[quadrant]!, (y * width + x) * 3);
    }
  }
  return { kind: 'Image', width, height, data, name: 'quadrants' };
}

/**
 * A stand-in with ClipSeg's real interface whose answer is known:
 * logits[n] = mean over channels of pixel_values[n] + 1e-5 * sum(input_ids[n] * attention_mask[n]).
 * The mask matters: HF pads with 49407, so an ignored mask would add ~0.5 per padding slot.
 */
function fakeClipSegModel(): Uint8Array {
  const int64 = (name: string, shape: (number | string)[]) => ({ name, elemType: 'int64' as const, shape });
  return onnxModel({
    inputs: [
      int64('input_ids', ['batch', 'sequence']),
      int64('attention_mask', ['batch', 'sequence']),
      { name: 'pixel_values', elemType: 'float', shape: ['batch', 3, 352, 352] },
    ],
    outputs: [{ name: 'logits', elemType: 'float', shape: ['batch', 352, 352] }],
    nodes: [
      { opType: 'ReduceMean', inputs: ['pixel_values'], outputs: ['pixel_mean'], attributes: { axes: [1], keepdims: 0 } },
      { opType: 'Mul', inputs: ['input_ids', 'attention_mask'], outputs: ['kept_ids'] },
      { opType: 'ReduceSum', inputs: ['kept_ids', 'axis_1'], outputs: ['id_sum'], attributes: { keepdims: 1 } },
      { opType: 'Cast', inputs: ['id_sum'], outputs: ['id_sum_float'], attributes: { to: 1 } },
      { opType: 'Mul', inputs: ['id_sum_float', 'text_scale'], outputs: ['text_bias'] },
      { opType: 'Unsqueeze', inputs: ['text_bias', 'axis_2'], outputs: ['text_bias_3d'] },
      { opType: 'Add', inputs: ['pixel_mean', 'text_bias_3d'], outputs: ['logits'] },
    ],
    initializers: [
      { name: 'axis_1', dims: [1], data: new BigInt64Array([1n]) },
      { name: 'axis_2', dims: [1], data: new BigInt64Array([2n]) },
      { name: 'text_scale', dims: [], data: new Float32Array([1e-5]) },
    ],
  });
}

describe.skipIf(!haveBpe)(`ClipSeg end to end on a stand-in model${haveBpe ? '' : ` (SKIPPED: ${bpePath} not found)`}`, () => {
  let tokenizer: ClipTokenizer;
  beforeAll(() => {
    tokenizer = ClipTokenizer.fromBpeMerges(new Uint8Array(readFileSync(bpePath)));
  });

  it('tokens + pixels -> session -> heat maps at the photo size, values at known points', async () => {
    const labels = ['a photo of a cat', 'Japanese stone lantern'];
    const image = quadrantImage(704, 240);
    const tokens = tokenizer.encodeBatch(labels);
    expect(Array.from(tokens.inputIds.slice(0, 7), Number)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    const pixels = clipSegPixelValues(image);

    const session = await InferenceSession.create(fakeClipSegModel());
    let logits: Tensor;
    try {
      expect([...session.inputNames].sort()).toEqual(['attention_mask', 'input_ids', 'pixel_values']);
      const feeds = clipSegFeeds(session.inputNames, tokens, pixels, labels.length);
      const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, feed]) => [name, toOrtTensor(feed)]));
      logits = (await session.run(ortFeeds)).logits!;
    } finally {
      await session.release();
    }
    expect(logits.dims).toEqual([2, 352, 352]);

    const normalisedMean = (rgb: readonly number[]) =>
      [0, 1, 2].reduce((s, c) => s + (rgb[c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!, 0) / 3;
    const textBias = labels.map((label) => 1e-5 * tokenizer.encode(label).reduce((s, id) => s + id, 0));
    const logitData = logits.data as Float32Array;
    // In the 352x352 frame: deep inside the top-left and bottom-right quadrants.
    for (let n = 0; n < 2; n++) {
      expect(logitData[n * 352 * 352 + 50 * 352 + 50]).toBeCloseTo(normalisedMean(QUADRANT_COLORS[0]) + textBias[n]!, 4);
      expect(logitData[n * 352 * 352 + 300 * 352 + 300]).toBeCloseTo(normalisedMean(QUADRANT_COLORS[3]) + textBias[n]!, 4);
    }

    const maps = logitsToHeatmaps(logitData, logits.dims, image.width, image.height, labels);
    expect(maps.map((m) => [m.label, m.width, m.height])).toEqual([
      ['a photo of a cat', 704, 240],
      ['Japanese stone lantern', 704, 240],
    ]);
    // Original-image points deep inside each quadrant (704x240: split at x = 352, y = 120).
    const points = [
      [100, 40, 0],
      [600, 40, 1],
      [100, 200, 2],
      [600, 200, 3],
    ] as const;
    for (let n = 0; n < 2; n++) {
      for (const [x, y, quadrant] of points) {
        const expected = sigmoid(normalisedMean(QUADRANT_COLORS[quadrant]) + textBias[n]!);
        expect(maps[n]!.data[y * 704 + x]).toBeCloseTo(expected, 4);
      }
    }
    // The text term reaches the output: the two maps differ by their token sums.
    expect(maps[0]!.data[40 * 704 + 100]).not.toBeCloseTo(maps[1]!.data[40 * 704 + 100], 2);
  });
});
