// ClipSegRenderer: a ClipSeg heat map of a view from a distilled feature
// field's ClipSeg head (rendered reduced activations through ClipSeg's own
// decoder, with the text prompt): text prompts on rendered features. Same
// output as ClipSegEncoder, so PromptToPoints takes it.

import { defineNode, NodeError, type NodeContext } from '../../engine';
import type { FeatureFieldValue, HeatmapValue, ViewsValue } from '../../engine/values';
import { splitPrompts } from '../clipseg-encoder';
import { clipSegTokenizer } from '../clipseg/split-model';
import type { SamnerfHost } from '../host';
import { CLIPSEG_PULL, loadClipSegParts, renderClipSegHeatmaps } from './clipseg';
import { findView, VIEW_PARAM } from './view';

export const ClipSegRenderer = defineNode({
  type: 'ClipSegRenderer',
  version: 1,
  category: 'Language',
  description: "ClipSeg heat map of a view from a feature field's distilled ClipSeg head: the rendered activations go through ClipSeg's decoder with the text (no image encoder run)",
  inputs: {
    features: { type: 'FeatureField', description: 'from FeatureDistiller with its clipseg param set' },
    views: { type: 'Views', description: 'the scene whose view (camera) to render' },
  },
  outputs: {
    heatmap: { type: 'Heatmap', description: 'sigmoid relevance in [0, 1] at the view size (maximum over prompts)' },
    image: { type: 'Image', description: "the view's photo (for PromptToPoints and overlays)" },
  },
  params: {
    view: VIEW_PARAM,
    prompt: { type: 'string', default: '', description: 'what to find, e.g. "the red truck"; separate several with ";"' },
    vocabPath: { type: 'path', mode: 'file', default: '', extensions: ['.json', '.gz', '.txt'], description: "tokenizer: a tokenizer.json or CLIP's bpe_simple_vocab_16e6.txt.gz (default: the model's own tokenizer.json)" },
    modelPath: { type: 'path', mode: 'file', default: '', extensions: ['.onnx'], description: 'the ClipSeg ONNX file (default: the model the head was distilled from)', advanced: true },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const features = inputs.features as FeatureFieldValue;
    const views = inputs.views as ViewsValue;
    const head = features.clipseg;
    if (!head)
      throw new NodeError('ClipSegRenderer: the feature field has no ClipSeg head', {
        port: 'features',
        fix: `set FeatureDistiller's clipseg param to clipseg-rd64-refined (installed with \`${CLIPSEG_PULL}\`) and distil again`,
      });
    const prompts = splitPrompts(params.prompt as string);
    if (prompts.length === 0) throw new NodeError('no text prompt', { param: 'prompt', fix: 'describe the object, e.g. "a red truck"' });
    const view = findView(views, params.view as string);
    const modelPath = params.modelPath as string;
    const request = modelPath ? { id: head.model.id, path: modelPath } : head.model;
    ctx.progress(0, 3, 'loading ClipSeg');
    const parts = await loadClipSegParts(ctx, 'ClipSegRenderer', request, head.cut, { model: 'modelPath', cut: 'modelPath' });
    const vocabPath = params.vocabPath as string;
    const tokenizer = await clipSegTokenizer(vocabPath || `${request.id}:${request.path ?? ''}`, () => (vocabPath ? ctx.host.files.readFile(vocabPath) : ctx.host.models.file(request, 'tokenizer')));
    let tokens;
    try {
      tokens = tokenizer.encodeBatch(prompts);
    } catch (e) {
      throw new NodeError((e as Error).message, { param: 'prompt' });
    }
    ctx.progress(1, 3, `rendering ${view.name}`);
    const { maps, clsView, ms } = await renderClipSegHeatmaps(features, view.camera, parts, tokens, prompts, ctx.signal);
    const combined = new Float32Array(view.camera.width * view.camera.height);
    for (const map of maps) for (let i = 0; i < combined.length; i++) combined[i] = Math.max(combined[i]!, map.data[i]!);
    ctx.log(
      `ClipSeg on rendered features of ${view.name}: CLS tokens of ${head.cls.cameras.length > clsView ? head.provenance.views[clsView] ?? `view ${clsView}` : clsView}; ` +
        `${Math.round(ms.surface)} ms surface + ${Math.round(ms.head)} ms head + ${Math.round(ms.decoder)} ms decoder`,
    );
    ctx.progress(3, 3);
    const heatmap: HeatmapValue = { kind: 'Heatmap', width: view.camera.width, height: view.camera.height, data: combined, label: prompts.join('; ') };
    return { heatmap, image: view.image };
  },
});
