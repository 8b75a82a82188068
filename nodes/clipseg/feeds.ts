// The feed record of a ClipSeg session, described without any onnxruntime
// type so every backend can turn it into its own tensors.

import type { TokenBatch } from './tokenizer';
import type { PixelValues } from './preprocess';

export type FeedTensor =
  | { type: 'int64'; data: BigInt64Array; dims: number[] }
  | { type: 'float32'; data: Float32Array; dims: number[] };

const REQUIRED_INPUTS = ['input_ids', 'pixel_values'] as const;
const OPTIONAL_INPUTS = ['attention_mask'] as const;

/**
 * Feeds for `nTexts` prompts against one image. The HF export pairs each text
 * with its own image, so a single [1, 3, h, w] image is repeated per text.
 */
export function clipSegFeeds(
  inputNames: readonly string[],
  tokens: TokenBatch,
  pixels: PixelValues | { data: Float32Array; dims: readonly number[] },
  nTexts: number,
): Record<string, FeedTensor> {
  const known: readonly string[] = [...REQUIRED_INPUTS, ...OPTIONAL_INPUTS];
  const missing = REQUIRED_INPUTS.filter((name) => !inputNames.includes(name));
  const unknown = inputNames.filter((name) => !known.includes(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      `ClipSeg model inputs do not match: expected ${REQUIRED_INPUTS.join(', ')} ` +
        `(and optionally ${OPTIONAL_INPUTS.join(', ')}), the model has [${inputNames.join(', ')}]` +
        (missing.length ? `; missing ${missing.join(', ')}` : '') +
        (unknown.length ? `; unexpected ${unknown.join(', ')}` : ''),
    );
  }
  if (tokens.dims[0] !== nTexts) {
    throw new Error(`clipSegFeeds: ${nTexts} text(s) but the token batch has ${tokens.dims[0]} row(s)`);
  }
  const [batch, channels, height, width] = pixels.dims;
  if (pixels.dims.length !== 4 || channels !== 3 || (batch !== 1 && batch !== nTexts)) {
    throw new Error(`clipSegFeeds: pixel_values must be [1 or ${nTexts}, 3, h, w], got [${pixels.dims.join(', ')}]`);
  }
  let pixelData = pixels.data;
  if (batch === 1 && nTexts > 1) {
    pixelData = new Float32Array(pixels.data.length * nTexts);
    for (let n = 0; n < nTexts; n++) pixelData.set(pixels.data, n * pixels.data.length);
  }
  const feeds: Record<string, FeedTensor> = {
    input_ids: { type: 'int64', data: tokens.inputIds, dims: [...tokens.dims] },
    pixel_values: { type: 'float32', data: pixelData, dims: [nTexts, 3, height!, width!] },
  };
  if (inputNames.includes('attention_mask')) {
    feeds.attention_mask = { type: 'int64', data: tokens.attentionMask, dims: [...tokens.dims] };
  }
  return feeds;
}
