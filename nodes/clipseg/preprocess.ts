// ClipSeg's image preprocessing (HF ViTImageProcessor as configured for
// clipseg-rd64): squash to size x size with PIL bilinear, scale to [0, 1],
// normalise per channel, planar NCHW.

import type { ImageValue } from '../../engine/values';
import { resizeRgb8 } from '../../runtime-gpu/image/resize';

export const CLIPSEG_INPUT_SIZE = 352;
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

export interface ClipSegPreprocessOptions {
  /** Square side of the model input (352 for the HF ClipSeg exports). */
  size?: number;
  /** Per-channel mean on the [0, 1] scale (one early upload used 0.5s). */
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

export interface PixelValues {
  data: Float32Array;
  dims: [1, 3, number, number];
}

/** One `pixel_values` tensor [1, 3, size, size]; the aspect ratio is not kept, as ClipSeg does. */
export function clipSegPixelValues(image: ImageValue, opts: ClipSegPreprocessOptions = {}): PixelValues {
  const size = opts.size ?? CLIPSEG_INPUT_SIZE;
  const mean = opts.mean ?? IMAGENET_MEAN;
  const std = opts.std ?? IMAGENET_STD;
  // PIL rounds the resized image to 8 bits before rescaling, so resize the bytes.
  const resized = resizeRgb8(image.data, image.width, image.height, size, size);
  const plane = size * size;
  const data = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    // Only 256 possible inputs per channel: a lookup table keeps the exact formula cheap.
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = (v / 255 - mean[c]!) / std[c]!;
    const out = c * plane;
    for (let i = 0; i < plane; i++) data[out + i] = lut[resized[i * 3 + c]!]!;
  }
  return { data, dims: [1, 3, size, size] };
}
