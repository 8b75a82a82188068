// MaskFusion: per-view SAM masks -> one 3D mask per object, fitted by
// inverse rendering with SA3D's loss, with cross-view self-prompting and
// rejection of SAM masks that disagree with the 3D mask (docs/lock3d.md).

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { MaskFieldValue, PromptPoint, Prompts3DValue, RadianceFieldValue, View, ViewMasksValue, ViewObjectMask, ViewsValue } from '../engine/values';
import type { SamnerfHost } from './host';
import { fuseObject, type FusionObject, type FusionResult, type FusionView } from './lock3d/fusion';
import { chooseGeometry, type DepthRender } from './lock3d/geometry';
import { forEachSurfacePoint, gridAround, medianFootprint, sampleSurface, SparseNodes } from './lock3d/mask-grid';
import { objectColor, packMaskField, renderSamples } from './lock3d/mask-field';
import { segmentView } from './lock3d/sam-views';
import { dropPlanePixels, findSupportPlane, planePixels, standsOnPlane, surfacePointSample } from './lock3d/support-plane';

export const MaskFusion = defineNode({
  type: 'MaskFusion',
  version: 1,
  category: '3D segmentation',
  description: 'Fuses per-view SAM masks into a 3D mask per object by inverse rendering (SA3D loss), prompting SAM again from the 3D mask in every view and rejecting masks that disagree with it',
  inputs: {
    views: { type: 'Views', description: 'the posed views' },
    prompts: { type: 'Prompts3D', description: 'from LiftPrompts (objects, clicked views)' },
    masks: { type: 'ViewMasks', description: 'from MultiViewSam (SAM masks of the re-projected prompts, and the embeddings)' },
    field: { type: 'RadianceField', description: 'the NeRF giving depth (when the prompts were lifted with it)', optional: true },
  },
  outputs: {
    mask: { type: 'MaskField', description: 'the 3D mask of every object, renderable into any view' },
    masks: { type: 'ViewMasks', description: 'the 3D mask rendered into each fused view (exclusive labels)' },
    fused: { type: 'ViewMasks', description: 'the SAM masks judged per view: accepted or rejected, with their IoU against the rendered 3D mask and their prompts' },
  },
  params: {
    rejectIoU: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, description: 'a SAM mask whose IoU with the rendered 3D mask is below this is rejected' },
    trustIoU: { type: 'number', default: 0.75, min: 0, max: 1, step: 0.05, advanced: true, description: 'in the first sweep, a SAM mask from the re-projected clicks agreeing this well with the 3D mask is fused without prompting SAM again' },
    selfPromptPoints: { type: 'integer', default: 3, min: 0, max: 20, description: 'most points per view prompted from the rendered 3D mask (SA3D self-prompting); 0 = the user\'s re-projected points only' },
    refineRounds: { type: 'integer', default: 1, min: 0, max: 5, description: 'passes over every view with the finished 3D mask after the first sweep' },
    refineBox: { type: 'boolean', default: true, description: 'in those passes, also prompt SAM with the box around the rendered 3D mask' },
    voxelSize: { type: 'number', default: 0, min: 0, step: 0.001, description: 'grid spacing in world units; 0 = the median pixel footprint at the surfaces' },
    lambda: { type: 'number', default: 1, min: 0, max: 10, step: 0.1, advanced: true, description: 'weight of the background term of the SA3D loss' },
    iterations: { type: 'integer', default: 40, min: 1, max: 1000, advanced: true, description: 'Adam steps of a full fit (a quarter after each accepted view)' },
    learningRate: { type: 'number', default: 0.2, min: 0.001, max: 10, step: 0.01, advanced: true, description: 'Adam learning rate on the node logits' },
    supportPlane: { type: 'boolean', default: true, description: 'find the floor the objects stand on (RANSAC) and drop its pixels from the SAM masks of objects that cover little of it: SAM includes the floor seen through holes (rings, handles)' },
    minAccumulation: { type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, advanced: true, description: 'pixels less opaque than this have no surface' },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const views = inputs.views as ViewsValue;
    const prompts = inputs.prompts as Prompts3DValue;
    const masks = inputs.masks as ViewMasksValue;
    const field = inputs.field as RadianceFieldValue | undefined;
    const geometry = chooseGeometry(prompts.depthSource, views, field);
    const minAccumulation = params.minAccumulation as number;
    if (masks.objects.length !== prompts.objects.length || masks.objects.some((o, i) => o.id !== prompts.objects[i]!.id))
      throw new NodeError('the masks were made from other prompts (their objects differ)', { port: 'masks', fix: 'connect MultiViewSam.masks made from the same LiftPrompts.prompts' });
    if (!masks.embeddings || !masks.decoder)
      throw new NodeError('the masks carry no SAM embeddings to prompt again', { port: 'masks', fix: 'connect the masks output of MultiViewSam' });
    const byName = new Map<string, View>(views.views.map((v) => [v.name, v]));
    const fused = masks.views.map((m) => {
      const view = byName.get(m.view);
      if (!view) throw new NodeError(`the masks name view "${m.view}", which the views do not have`, { port: 'masks', fix: 'connect masks made from the same views' });
      return view;
    });

    // The grid: around every surface the fused views see.
    ctx.progress(0, prompts.objects.length + 1, 'geometry');
    const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
    const started = clock();
    let geometryMs = 0;
    const renders: DepthRender[] = [];
    const min = [Infinity, Infinity, Infinity], max = [-Infinity, -Infinity, -Infinity];
    const footprints: number[] = [];
    for (const view of fused) {
      const t0 = clock();
      const render = await geometry.render(view.camera, view.name, ctx.signal);
      geometryMs += clock() - t0;
      renders.push(render);
      forEachSurfacePoint(view.camera, render, minAccumulation, (_p, x, y, z) => {
        if (x < min[0]!) min[0] = x;
        if (y < min[1]!) min[1] = y;
        if (z < min[2]!) min[2] = z;
        if (x > max[0]!) max[0] = x;
        if (y > max[1]!) max[1] = y;
        if (z > max[2]!) max[2] = z;
      });
      const f = medianFootprint(view.camera, render, minAccumulation);
      if (Number.isFinite(f)) footprints.push(f);
    }
    if (footprints.length === 0)
      throw new NodeError('no view has a solid surface', { port: prompts.depthSource === 'field' ? 'field' : 'views', fix: 'train the NeRF longer, or lower minAccumulation' });
    footprints.sort((a, b) => a - b);
    const voxelSize = (params.voxelSize as number) || footprints[footprints.length >> 1]!;
    const grid = gridAround(min, max, voxelSize);
    const nodes = new SparseNodes(grid);
    const fusionViews: FusionView[] = fused.map((view, i) => ({ name: view.name, camera: view.camera, samples: sampleSurface(view.camera, renders[i]!, nodes, minAccumulation, true) }));
    ctx.log(`grid ${grid.dims.join('x')} of ${voxelSize.toPrecision(3)} units, ${nodes.size} nodes around the surfaces of ${fused.length} views`);

    // The support plane, within one voxel (the median pixel footprint).
    const plane = params.supportPlane
      ? findSupportPlane(surfacePointSample(fused.map((v) => v.camera), renders, minAccumulation), { tolerance: voxelSize })
      : undefined;
    const viewIndex = new Map(fused.map((v, i) => [v.name, i]));
    const onPlane = plane ? fused.map((view, i) => planePixels(view.camera, renders[i]!, minAccumulation, plane)) : [];
    if (plane)
      ctx.log(
        `support plane: normal (${plane.normal.map((c) => c.toFixed(3)).join(', ')}), offset ${plane.offset.toPrecision(4)}, ` +
          `${(plane.inlierFraction * 100).toFixed(0)}% of the surface points`,
      );

    const fits: FusionResult[] = [];
    const options = {
      rejectIoU: params.rejectIoU as number,
      trustIoU: params.trustIoU as number,
      selfPromptPoints: params.selfPromptPoints as number,
      refineRounds: params.refineRounds as number,
      refineBox: params.refineBox as boolean,
      lambda: params.lambda as number,
      iterations: params.iterations as number,
      learningRate: params.learningRate as number,
    };
    for (const [o, object] of prompts.objects.entries()) {
      ctx.progress(o + 1, prompts.objects.length + 1, object.name);
      const initial: FusionObject['initial'] = new Map();
      for (const entry of masks.views) {
        const m = entry.objects[o]!;
        initial.set(entry.view, { points: m.points as PromptPoint[], mask: m.mask, score: m.score });
      }
      const ref = initial.get(object.view);
      if (!ref?.mask)
        throw new NodeError(`${object.name}: the masks have no SAM mask in the clicked view "${object.view}"`, { port: 'masks', fix: 'connect MultiViewSam.masks made from these prompts' });
      const refIndex = viewIndex.get(object.view);
      const clean =
        plane && refIndex !== undefined && standsOnPlane(ref.mask, onPlane[refIndex]!)
          ? (view: string, mask: Uint8Array) => {
              const i = viewIndex.get(view);
              if (i === undefined) return mask;
              return dropPlanePixels(mask, onPlane[i]!);
            }
          : undefined;
      if (plane) ctx.log(`${object.name}: ${clean ? 'stands on the support plane: its pixels are dropped from the SAM masks' : 'covers much of the support plane: masks kept whole'}`);
      const result = await fuseObject(
        fusionViews,
        nodes.size,
        { name: object.name, refView: object.view, refMask: ref.mask, initial, clean },
        (view, prompt) => segmentView(ctx, masks.decoder!, masks.embeddings![view]!, prompt),
        options,
        ctx.signal,
      );
      fits.push(result);
      const records = [...result.records.values()];
      const rejected = records.filter((r) => r.status === 'rejected');
      ctx.log(
        `${object.name}: fused ${records.filter((r) => r.status === 'accepted').length} views, rejected ${rejected.length}` +
          `${rejected.length ? ` (${rejected.map((r) => `${r.view} IoU ${r.iou!.toFixed(2)}`).join(', ')})` : ''}, not visible in ${records.filter((r) => r.status === 'not-visible').length}; ` +
          `${result.decoderRuns} decoder runs (${Math.round(result.decodeMs)} ms), fitting ${Math.round(result.fitMs)} ms`,
      );
    }
    ctx.progress(prompts.objects.length + 1, prompts.objects.length + 1);

    const objects: MaskFieldValue['objects'] = prompts.objects.map((o, i) => {
      const records = [...fits[i]!.records.values()];
      return {
        id: o.id,
        name: o.name,
        color: objectColor(i),
        views: records.filter((r) => r.status === 'accepted').map((r) => r.view),
        rejected: records.filter((r) => r.status === 'rejected').map((r) => r.view),
      };
    });
    const mask = packMaskField(grid, nodes, fits, objects, prompts.depthSource);

    const rendered: ViewMasksValue['views'] = [];
    const judged: ViewMasksValue['views'] = [];
    for (const [i, view] of fused.entries()) {
      const { width, height } = view.camera;
      const r = renderSamples(mask, sampleSurface(view.camera, renders[i]!, nodes, minAccumulation, false));
      rendered.push({
        view: view.name,
        width,
        height,
        objects: r.masks.map((m): ViewObjectMask => {
          let area = 0;
          for (let p = 0; p < m.length; p++) area += m[p]!;
          return area ? { status: 'rendered', mask: m, points: [], area } : { status: 'not-visible', points: [], area: 0 };
        }),
      });
      judged.push({
        view: view.name,
        width,
        height,
        objects: fits.map((fit) => {
          const rec = fit.records.get(view.name);
          if (!rec || rec.status === 'not-visible') return { status: 'not-visible', points: rec?.points ?? [], area: 0 };
          let area = 0;
          for (let p = 0; p < rec.mask!.length; p++) area += rec.mask![p]!;
          return { status: rec.status, mask: rec.mask, points: rec.points, score: rec.score, iou: rec.iou, area };
        }),
      });
    }
    const decodeMs = fits.reduce((s, f) => s + f.decodeMs, 0), fitMs = fits.reduce((s, f) => s + f.fitMs, 0);
    ctx.log(
      `timing: geometry ${Math.round(geometryMs)} ms, decoder ${Math.round(decodeMs)} ms (${fits.reduce((s, f) => s + f.decoderRuns, 0)} runs), ` +
        `fitting ${Math.round(fitMs)} ms, other ${Math.round(clock() - started - geometryMs - decodeMs - fitMs)} ms`,
    );
    const header = prompts.objects.map(({ id, name }) => ({ id, name }));
    return {
      mask,
      masks: { kind: 'ViewMasks', objects: header, views: rendered } satisfies ViewMasksValue,
      fused: { kind: 'ViewMasks', objects: header, views: judged } satisfies ViewMasksValue,
    };
  },
});
