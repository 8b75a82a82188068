// FeatureRenderer: the SAM embedding of a view rendered from a distilled
// feature field instead of running the image encoder. Its output feeds
// SamDecoder like SamEncoder's.

import { defineNode, type NodeContext } from '../../engine';
import type { FeatureFieldValue, ViewsValue } from '../../engine/values';
import type { SamnerfHost } from '../host';
import { SUPERSAMPLE } from '../../runtime-gpu/distill/distiller';
import { renderedEmbedding } from './embedding';
import { findView, VIEW_PARAM } from './view';

export const FeatureRenderer = defineNode({
  type: 'FeatureRenderer',
  version: 1,
  category: '3D segmentation',
  description: "Renders a view's SAM embedding (64x64 cells, padding for its aspect ratio) from a distilled feature field: a new view without the image encoder",
  inputs: {
    features: { type: 'FeatureField', description: 'from FeatureDistiller' },
    views: { type: 'Views', description: 'the scene whose view (camera) to render' },
  },
  outputs: {
    embedding: { type: 'SamEmbedding', description: 'rendered embedding, for SamDecoder' },
    image: { type: 'Image', description: "the view's photo (for prompts and overlays)" },
  },
  params: {
    view: VIEW_PARAM,
    supersample: { type: 'integer', default: SUPERSAMPLE, min: 1, max: 4, description: "view bank: silhouette cells are re-blended at n x n sub-rays of their own (mixing the surfaces they cover, as the encoder's patch does); 1 = centre reads only (faster)", advanced: true },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const features = inputs.features as FeatureFieldValue;
    const views = inputs.views as ViewsValue;
    const view = findView(views, params.view as string);
    ctx.progress(0, 1, `rendering ${view.name}`);
    const { render, ...embedding } = await renderedEmbedding(features, view.camera, { image: view.image, signal: ctx.signal, supersample: params.supersample as number });
    const { cells, ms } = render;
    ctx.log(
      `rendered ${view.name}: ${render.marchedRays} of ${render.rays} rays marched; cells ${cells.blended} from the view bank (${cells.supersampled} of them supersampled), ${cells.field} from the field (${render.head}), ${cells.background} background; ${Math.round(ms.surface)} ms surface + ${Math.round(ms.blend)} ms bank + ${Math.round(ms.head)} ms field`,
    );
    ctx.progress(1, 1);
    return { embedding, image: view.image };
  },
});
