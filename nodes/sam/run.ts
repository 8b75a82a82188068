// SAM encoder and decoder runs on a session, shared by the SamEncoder and
// SamDecoder nodes and by the 3D nodes that segment many views.

import { NodeError } from '../../engine';
import type { ImageValue, MaskValue, PromptBox, PromptPoint, SamEmbeddingValue } from '../../engine/values';
import type { InferenceSession } from '../../runtime-gpu/backend';
import { float32 } from '../../runtime-gpu/tensor';
import { SAM_MASK_INPUT_SIZE, pickMask, samDecoderFeeds, samPreprocess } from './transforms';

export async function encodeImage(session: InferenceSession, image: ImageValue, model: string, signal?: AbortSignal): Promise<SamEmbeddingValue> {
  const input = samPreprocess(image);
  const outputs = await session.run({ [session.inputNames[0]!]: float32(input.data, input.dims) }, { signal });
  const output = outputs[session.outputNames[0]!]!;
  const dims = output.dims;
  if (output.type !== 'float32' || dims.length !== 4 || dims[0] !== 1 || dims[1] !== 256)
    throw new NodeError(`the encoder returned ${output.type} [${dims.join(', ')}], expected float32 [1, 256, 64, 64]`, { param: 'modelPath', fix: 'use a SAM image encoder export' });
  return { kind: 'SamEmbedding', dims: [dims[0]!, dims[1]!, dims[2]!, dims[3]!], data: output.data as Float32Array, transform: input.transform, model, image };
}

export interface DecodeRequest {
  points: readonly PromptPoint[];
  box?: PromptBox;
  /** Low-resolution logits of an earlier mask, to refine. */
  maskInput?: Float32Array;
  multimask?: boolean;
}

export async function decodeMask(session: InferenceSession, embedding: SamEmbeddingValue, request: DecodeRequest, signal?: AbortSignal): Promise<MaskValue & { masksReturned: number }> {
  const feeds = samDecoderFeeds({ embedding, points: request.points, box: request.box, maskInput: request.maskInput });
  const outputs = await session.run(feeds, { signal });
  const picked = pickMask(outputs, { multimask: request.multimask });
  const lowRes = outputs.low_res_masks;
  const plane = SAM_MASK_INPUT_SIZE * SAM_MASK_INPUT_SIZE;
  const lowResLogits = lowRes && lowRes.dims.length === 4 ? (lowRes.data as Float32Array).slice(picked.index * plane, (picked.index + 1) * plane) : undefined;
  return {
    kind: 'Mask',
    width: picked.width,
    height: picked.height,
    data: picked.mask,
    logits: picked.logits,
    score: picked.score,
    lowResLogits,
    masksReturned: outputs.masks?.dims[1] ?? 1,
  };
}
