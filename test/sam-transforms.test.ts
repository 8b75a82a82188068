import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImageValue, SamTransform } from '../engine/values';
import {
  applyCoords,
  pickMask,
  samDecoderFeeds,
  samPreprocess,
  samResizeShape,
  SAM_PIXEL_MEAN,
  SAM_PIXEL_STD,
} from '../nodes/sam/transforms';
import { float32 } from '../runtime-gpu/tensor';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const vectorsPath = join(repoRoot, '..', 'shared', 'data', 'vectors', 'sam_resize_longest_side.json');
const haveVectors = existsSync(vectorsPath);

interface ResizeCase {
  image: string;
  orig_hw: [number, number];
  resized_hw: [number, number];
  points_xy: [number, number][];
  points_xy_transformed: [number, number][];
}

describe.skipIf(!haveVectors)(
  `SAM ResizeLongestSide vectors${haveVectors ? '' : ` (skipped: ${vectorsPath} not found; it lives in ../shared beside the repository)`}`,
  () => {
    const cases: ResizeCase[] = haveVectors ? JSON.parse(readFileSync(vectorsPath, 'utf8')).cases : [];

    it('has cases', () => expect(cases.length).toBeGreaterThan(0));

    it.each(cases.map((c) => [c.image, c] as const))('%s: resized size and click coordinates', (_name, c) => {
      const [h, w] = c.orig_hw;
      expect(samResizeShape(h, w)).toEqual(c.resized_hw);
      const got = applyCoords(c.points_xy, c.orig_hw, c.resized_hw);
      expect(got.length).toBe(c.points_xy_transformed.length);
      got.forEach(([x, y], i) => {
        expect(x).toBeCloseTo(c.points_xy_transformed[i][0], 9);
        expect(y).toBeCloseTo(c.points_xy_transformed[i][1], 9);
      });
    });
  },
);

function image(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): ImageValue {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  }
  return { kind: 'Image', width, height, data, name: 'synthetic' };
}

const normalised = (v: number, c: number) => (v - SAM_PIXEL_MEAN[c]) / SAM_PIXEL_STD[c];
const plane = 1024 * 1024;

describe('samPreprocess', () => {
  it('normalises a known pixel when no resize is needed, planar CHW', () => {
    const img = image(1024, 512, (x, y) => [x % 256, y % 256, (x + y) % 256]);
    const { data, dims, transform } = samPreprocess(img);
    expect(dims).toEqual([1, 3, 1024, 1024]);
    expect(data.length).toBe(3 * plane);
    expect(transform).toEqual({ originalHeight: 512, originalWidth: 1024, resizedHeight: 512, resizedWidth: 1024, inputSize: 1024 });
    const [x, y] = [300, 77];
    expect(data[0 * plane + y * 1024 + x]).toBeCloseTo(normalised(300 % 256, 0), 5);
    expect(data[1 * plane + y * 1024 + x]).toBeCloseTo(normalised(77, 1), 5);
    expect(data[2 * plane + y * 1024 + x]).toBeCloseTo(normalised(377 % 256, 2), 5);
  });

  it('resizes the long side to 1024 and pads with exact zeros after normalising', () => {
    // 1800x1200 like truck.jpg -> 1024x683; a constant colour survives the resize exactly.
    const img = image(180, 120, () => [200, 100, 50]);
    const { data, transform } = samPreprocess(img);
    expect([transform.resizedHeight, transform.resizedWidth]).toEqual([683, 1024]);
    for (let c = 0; c < 3; c++) {
      const v = [200, 100, 50][c];
      expect(data[c * plane + 0]).toBeCloseTo(normalised(v, c), 5);
      expect(data[c * plane + 682 * 1024 + 1023]).toBeCloseTo(normalised(v, c), 5); // last real row
      expect(data[c * plane + 683 * 1024]).toBe(0); // first padded row
      expect(data[c * plane + 1023 * 1024 + 1023]).toBe(0);
    }
  });

  it('pads on the right for portrait images', () => {
    const img = image(60, 120, () => [0, 0, 0]);
    const { data, transform } = samPreprocess(img);
    expect([transform.resizedHeight, transform.resizedWidth]).toEqual([1024, 512]);
    expect(data[100 * 1024 + 511]).toBeCloseTo(normalised(0, 0), 5);
    expect(data[100 * 1024 + 512]).toBe(0);
  });

  it('rejects an image whose data does not match its size', () => {
    expect(() => samPreprocess({ kind: 'Image', width: 4, height: 4, data: new Uint8Array(10), name: 'bad' })).toThrow(/bad has 10 bytes/);
  });
});

describe('samDecoderFeeds', () => {
  const transform: SamTransform = { originalHeight: 1200, originalWidth: 1800, resizedHeight: 683, resizedWidth: 1024, inputSize: 1024 };
  const embedding = { data: new Float32Array(256 * 64 * 64), dims: [1, 256, 64, 64] as [number, number, number, number], transform };

  it('maps clicks into the 1024 frame and appends the padding point without a box', () => {
    const feeds = samDecoderFeeds({ embedding, points: [{ x: 500, y: 375, label: 1 }, { x: 900, y: 600, label: 0 }] });
    expect(feeds.point_coords.dims).toEqual([1, 3, 2]);
    const c = Array.from(feeds.point_coords.data as Float32Array);
    expect(c[0]).toBeCloseTo(284.4444, 3);
    expect(c[1]).toBeCloseTo(213.4375, 4);
    expect(c[2]).toBeCloseTo(512, 4);
    expect(c[3]).toBeCloseTo(341.5, 4);
    expect(c.slice(4)).toEqual([0, 0]);
    expect(Array.from(feeds.point_labels.data)).toEqual([1, 0, -1]);
    expect(feeds.point_labels.dims).toEqual([1, 3]);
    expect(feeds.image_embeddings.dims).toEqual([1, 256, 64, 64]);
    expect(feeds.mask_input.dims).toEqual([1, 1, 256, 256]);
    expect((feeds.mask_input.data as Float32Array).every((v) => v === 0)).toBe(true);
    expect(Array.from(feeds.has_mask_input.data)).toEqual([0]);
    expect(Array.from(feeds.orig_im_size.data)).toEqual([1200, 1800]);
    expect(Object.values(feeds).every((t) => t.type === 'float32')).toBe(true);
  });

  it('adds box corners as labels 2 and 3 and no padding point', () => {
    const feeds = samDecoderFeeds({ embedding, box: { x0: 0, y0: 0, x1: 1800, y1: 1200 } });
    expect(Array.from(feeds.point_labels.data)).toEqual([2, 3]);
    const c = Array.from(feeds.point_coords.data as Float32Array);
    expect(c[2]).toBeCloseTo(1024, 4);
    expect(c[3]).toBeCloseTo(683, 4);
  });

  it('passes a previous mask and sets has_mask_input', () => {
    const prev = new Float32Array(256 * 256).fill(3);
    const feeds = samDecoderFeeds({ embedding, points: [{ x: 1, y: 1, label: 1 }], maskInput: prev });
    expect(Array.from(feeds.has_mask_input.data)).toEqual([1]);
    expect(feeds.mask_input.data[0]).toBe(3);
    expect(() => samDecoderFeeds({ embedding, points: [{ x: 1, y: 1, label: 1 }], maskInput: new Float32Array(4) })).toThrow(/256x256/);
  });

  it('needs a prompt', () => {
    expect(() => samDecoderFeeds({ embedding, points: [] })).toThrow(/at least one point or a box/);
  });
});

describe('pickMask', () => {
  // Three 2x2 masks; the second has the best predicted IoU.
  const outputs = {
    masks: float32([1, -1, -1, -1, 2, 2, -3, 0, -1, -1, -1, -1], [1, 3, 2, 2]),
    iou_predictions: float32([0.5, 0.9, 0.7], [1, 3]),
  };

  it('takes the best predicted IoU with multimask', () => {
    const m = pickMask(outputs, { multimask: true });
    expect(m.index).toBe(1);
    expect(m.score).toBeCloseTo(0.9);
    expect(Array.from(m.mask)).toEqual([1, 1, 0, 0]); // logits > 0 strictly
    expect(Array.from(m.logits)).toEqual([2, 2, -3, 0]);
    expect([m.width, m.height]).toEqual([2, 2]);
  });

  it('takes the first mask otherwise', () => {
    const m = pickMask(outputs);
    expect(m.index).toBe(0);
    expect(Array.from(m.mask)).toEqual([1, 0, 0, 0]);
  });
});
