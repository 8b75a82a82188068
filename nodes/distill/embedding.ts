// Rendered SAM embeddings as SamEmbeddingValues: the feature field's 64 x 64
// grid for a camera, with the transform SAM would have used for an image of
// the camera's size, so SamDecoder (and anything that takes an embedding)
// uses it in place of the encoder's output.

import type { Camera, FeatureFieldValue, ImageValue, SamEmbeddingValue } from '../../engine/values';
import { FeatureFieldRenderer, type RenderedEmbedding } from '../../runtime-gpu/distill/distiller';
import { samResizeShape, SAM_INPUT_SIZE } from '../sam/transforms';
import { perField } from './per-field';

/** One renderer per field value (it owns the radiance field's evaluator and buffers). */
export const featureRenderer = perField((field) => new FeatureFieldRenderer(field));

export async function renderedEmbedding(
  field: FeatureFieldValue,
  camera: Camera,
  options: { image?: ImageValue; signal?: AbortSignal; supersample?: number } = {},
): Promise<SamEmbeddingValue & { render: Omit<RenderedEmbedding, 'embedding'> }> {
  const { embedding, ...render } = await featureRenderer(field).render(camera, { signal: options.signal, supersample: options.supersample });
  const [resizedHeight, resizedWidth] = samResizeShape(camera.height, camera.width);
  return {
    kind: 'SamEmbedding',
    dims: [1, field.config.channels, 64, 64],
    data: embedding,
    transform: { originalHeight: camera.height, originalWidth: camera.width, resizedHeight, resizedWidth, inputSize: SAM_INPUT_SIZE },
    model: field.model,
    image: options.image,
    render,
  };
}
