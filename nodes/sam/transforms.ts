// SAM's pre- and post-processing around the ONNX encoder and the standard
// segment-anything decoder export, as in segment-anything's
// utils/transforms.py (ResizeLongestSide), modeling/sam.py (normalise, pad)
// and utils/onnx.py (decoder inputs). Pure and platform-neutral.

import type { ImageValue, PromptBox, PromptPoint, SamEmbeddingValue, SamTransform } from '../../engine/values';
import { resizeRgb8 } from '../../runtime-gpu/image/resize';
import { float32 } from '../../runtime-gpu/tensor';
import type { TensorData } from '../../runtime-gpu/tensor';

export const SAM_INPUT_SIZE = 1024;
/** Side of the decoder's low-resolution mask prompt. */
export const SAM_MASK_INPUT_SIZE = 256;
export const SAM_PIXEL_MEAN = [123.675, 116.28, 103.53] as const;
export const SAM_PIXEL_STD = [58.395, 57.12, 57.375] as const;

/** [newH, newW] with the long side at `longSide`: int(x * scale + 0.5), as ResizeLongestSide. */
export function samResizeShape(h: number, w: number, longSide = SAM_INPUT_SIZE): [number, number] {
  if (!(h > 0 && w > 0)) throw new RangeError(`image size must be positive, got ${w}x${h}`);
  const scale = longSide / Math.max(h, w);
  return [Math.trunc(h * scale + 0.5), Math.trunc(w * scale + 0.5)];
}

/**
 * Map [x, y] pixel coordinates of the original image into the resized frame.
 * Scales by the rounded sizes (newW / W, newH / H), not by the raw scale, as SAM does.
 */
export function applyCoords(
  points: readonly (readonly [number, number])[],
  originalHW: readonly [number, number],
  resizedHW: readonly [number, number],
): [number, number][] {
  const [h, w] = originalHW;
  const [newH, newW] = resizedHW;
  return points.map(([x, y]) => [x * (newW / w), y * (newH / h)]);
}

export interface SamInput {
  /** Planar [1, 3, 1024, 1024] float32, normalised, zero-padded bottom/right. */
  data: Float32Array;
  dims: [1, 3, number, number];
  transform: SamTransform;
}

/**
 * Resize (PIL bilinear, long side 1024), normalise on the 0-255 scale and
 * zero-pad bottom/right after normalising: padded pixels are 0, not -mean/std.
 */
export function samPreprocess(image: ImageValue, inputSize = SAM_INPUT_SIZE): SamInput {
  const { width, height } = image;
  if (image.data.length !== width * height * 3) {
    throw new RangeError(`image ${image.name} has ${image.data.length} bytes, expected ${width}x${height}x3 RGB`);
  }
  const [newH, newW] = samResizeShape(height, width, inputSize);
  const rgb = newW === width && newH === height ? image.data : resizeRgb8(image.data, width, height, newW, newH);
  const plane = inputSize * inputSize;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = SAM_PIXEL_MEAN[c];
    const inv = 1 / SAM_PIXEL_STD[c];
    const base = c * plane;
    for (let y = 0; y < newH; y++) {
      const src = y * newW * 3 + c;
      const dst = base + y * inputSize;
      for (let x = 0; x < newW; x++) data[dst + x] = (rgb[src + x * 3] - mean) * inv;
    }
  }
  return {
    data,
    dims: [1, 3, inputSize, inputSize],
    transform: { originalHeight: height, originalWidth: width, resizedHeight: newH, resizedWidth: newW, inputSize },
  };
}

export interface SamPrompt {
  embedding: Pick<SamEmbeddingValue, 'data' | 'dims' | 'transform'>;
  /** Clicks in pixel coordinates of the original image. */
  points?: readonly PromptPoint[];
  box?: PromptBox;
  /** A previous low-resolution mask logit map [256, 256] (the decoder's low_res_masks) to refine. */
  maskInput?: Float32Array;
}

export type SamDecoderFeeds = Record<
  'image_embeddings' | 'point_coords' | 'point_labels' | 'mask_input' | 'has_mask_input' | 'orig_im_size',
  TensorData<'float32'>
>;

/**
 * The feeds of segment-anything's ONNX decoder: points mapped into the 1024
 * frame, box corners as labels 2 and 3, and without a box the padding point
 * (0, 0) with label -1 that the export expects.
 */
export function samDecoderFeeds({ embedding, points = [], box, maskInput }: SamPrompt): SamDecoderFeeds {
  const t = embedding.transform;
  if (points.length === 0 && !box) throw new Error('SAM needs at least one point or a box');
  const original: [number, number] = [t.originalHeight, t.originalWidth];
  const resized: [number, number] = [t.resizedHeight, t.resizedWidth];
  const xy: [number, number][] = points.map((p) => [p.x, p.y]);
  const labels: number[] = points.map((p) => p.label);
  if (box) {
    xy.push([box.x0, box.y0], [box.x1, box.y1]);
    labels.push(2, 3);
  }
  const coords = applyCoords(xy, original, resized);
  if (!box) {
    coords.push([0, 0]);
    labels.push(-1);
  }
  const n = coords.length;
  const m = SAM_MASK_INPUT_SIZE;
  if (maskInput && maskInput.length !== m * m) {
    throw new RangeError(`mask input must be ${m}x${m} logits, got ${maskInput.length} values`);
  }
  return {
    image_embeddings: float32(embedding.data, embedding.dims),
    point_coords: float32(coords.flat(), [1, n, 2]),
    point_labels: float32(labels, [1, n]),
    mask_input: float32(maskInput ?? new Float32Array(m * m), [1, 1, m, m]),
    has_mask_input: float32([maskInput ? 1 : 0], [1]),
    orig_im_size: float32([t.originalHeight, t.originalWidth], [2]),
  };
}

export interface PickedMask {
  /** 1 where the logit is > 0, row-major at the original image size. */
  mask: Uint8Array;
  logits: Float32Array;
  /** The decoder's predicted IoU for this mask. */
  score: number;
  /** Which of the decoder's M masks this is. */
  index: number;
  width: number;
  height: number;
}

/**
 * Pick one mask from the decoder outputs (`masks` [1, M, H, W] logits at the
 * original size, `iou_predictions` [1, M]): the best predicted IoU when
 * `multimask`, else the first. Exports built with return_single_mask have M = 1.
 */
export function pickMask(outputs: Record<string, TensorData>, opts: { multimask?: boolean } = {}): PickedMask {
  const masks = outputs.masks;
  const ious = outputs.iou_predictions;
  if (!masks || !ious) throw new Error('decoder outputs need masks and iou_predictions');
  if (masks.type !== 'float32' || masks.dims.length !== 4) {
    throw new Error(`decoder masks should be float32 [1, M, H, W], got ${masks.type} [${masks.dims.join(', ')}]`);
  }
  const [, count, height, width] = masks.dims;
  const scores = ious.data as Float32Array;
  if (scores.length !== count) throw new Error(`decoder gave ${count} masks but ${scores.length} IoU predictions`);
  let index = 0;
  if (opts.multimask) for (let i = 1; i < count; i++) if (scores[i] > scores[index]) index = i;
  const size = width * height;
  // With one mask (the usual export) the output buffer is ours alone: view it
  // instead of copying 4 bytes per pixel of the photo.
  const all = masks.data as Float32Array;
  const logits = count === 1 ? all.subarray(0, size) : all.slice(index * size, (index + 1) * size);
  const mask = new Uint8Array(size);
  for (let i = 0; i < size; i++) mask[i] = logits[i]! > 0 ? 1 : 0;
  return { mask, logits, score: scores[index], index, width, height };
}
