// NeRFTrainer: trains an instant-ngp-style radiance field (hash grid, small
// MLPs, occupancy grid, volume rendering) on the train views of a Views
// value, on the CPU or a WebGPU adapter (device). Writes <out>/<id>/field.ckpt (also every minute while
// training, so a crashed run resumes), metrics.json and renders/<view>.png
// for the evaluation views. The math and the file format: docs/nerf.md.

import { defineNode, NodeError, type NodeContext } from '../engine';
import { DeviceUnavailableError } from '../runtime-gpu/backend';
import type { RadianceFieldValue, View, ViewsValue } from '../engine/values';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, viewsFingerprint, type Checkpoint } from '../runtime-gpu/nerf/checkpoint';
import { configForScene, LONG_BUDGET_SECONDS, paramLayout, trainingSize, type FieldConfig } from '../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet } from '../runtime-gpu/nerf/dataset';
import { createFieldEvaluator, type EvaluatorChoice } from '../runtime-gpu/nerf/evaluators';
import { nerfPlatform, resolveThreads } from '../runtime-gpu/nerf/platform';
import { Nerf } from '../runtime-gpu/nerf/nerf';
import type { RemoteShard } from '../runtime-gpu/nerf/shard';
import { evaluateViews, renderToRgb8, trainNerf, type TrainProgress, type TrainSummary } from '../runtime-gpu/nerf/trainer';
import { adapterName, type GpuContext } from '../runtime-gpu/webgpu/device';
import { GpuNerf } from '../runtime-gpu/webgpu/gpu-nerf';
import { acquireWebGpu } from '../runtime-gpu/webgpu/platform';
import { asTrainable } from '../runtime-gpu/webgpu/train';
import type { TrainingSet } from '../runtime-gpu/nerf/dataset';
import type { SamnerfHost } from './host';

export const NERF_DEVICES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;

/** Train and evaluation views: the train split, and every n-th test view (else val, else held-out train views). */
export function splitViews(value: ViewsValue, evalEvery: number): { train: View[]; evaluation: View[]; evalSource: string } {
  let train = value.views.filter((v) => v.split === 'train');
  if (train.length === 0) train = value.views.filter((v) => v.split !== 'test');
  if (evalEvery <= 0) return { train, evaluation: [], evalSource: 'none' };
  for (const split of ['test', 'val'] as const) {
    const held = value.views.filter((v) => v.split === split);
    if (held.length > 0) return { train, evaluation: held.filter((_, i) => i % evalEvery === 0), evalSource: `every ${evalEvery === 1 ? '' : ordinal(evalEvery) + ' '}${split} view` };
  }
  // No test or val split: hold out every n-th train view.
  const evaluation = train.filter((_, i) => i % evalEvery === evalEvery - 1);
  return { train: train.filter((_, i) => i % evalEvery !== evalEvery - 1), evaluation, evalSource: `every ${ordinal(evalEvery)} train view, held out` };
}

function ordinal(n: number): string {
  return `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
}

function sameConfig(a: FieldConfig, b: FieldConfig): string | undefined {
  // The render step only affects rendered images, not training: a checkpoint from before it existed resumes.
  const trained = (c: FieldConfig) => ({ ...c, render: { ...c.render, renderMarchSteps: undefined } });
  const ta = trained(a), tb = trained(b);
  for (const section of ['hash', 'mlp', 'scene', 'render', 'occupancy'] as const) {
    const x = JSON.stringify(ta[section]), y = JSON.stringify(tb[section]);
    if (x !== y) return `its ${section} settings ${y} differ from this node's ${x}`;
  }
  return undefined;
}

export const NeRFTrainer = defineNode({
  type: 'NeRFTrainer',
  version: 1,
  category: '3D',
  description: 'Trains a NeRF (hash grid + small MLPs + occupancy grid) on posed views; writes field.ckpt, metrics.json and test renders',
  inputs: { views: { type: 'Views', description: 'posed images; trains on the train split' } },
  outputs: { field: { type: 'RadianceField', description: 'the trained field (renders RGB, depth and accumulation)' } },
  params: {
    steps: { type: 'integer', default: 20000, min: 0, description: 'stop after this many steps (0: only maxSeconds)' },
    maxSeconds: { type: 'number', default: 120, min: 0, description: 'stop after this many seconds of training, evaluation excluded (0: only steps)' },
    raysPerBatch: { type: 'integer', default: 0, min: 0, max: 1 << 18, description: `rays per training step (fewer while rays are long); 0: from the budget, 2048 under ${LONG_BUDGET_SECONDS} s of maxSeconds, 4096 from ${LONG_BUDGET_SECONDS} s (or the checkpoint's when resuming)` },
    hashLevels: { type: 'integer', default: 12, min: 1, max: 32, description: 'levels of the multiresolution hash grid' },
    log2TableSize: { type: 'integer', default: 0, min: 0, max: 24, description: `log2 of the hash table size per level (10-24); 0: from the budget, 17 under ${LONG_BUDGET_SECONDS} s of maxSeconds, 19 from ${LONG_BUDGET_SECONDS} s (or the checkpoint's when resuming)` },
    seed: { type: 'integer', default: 0, min: 0, description: 'random seed (same seed, same field on the CPU)' },
    learningRate: { type: 'number', default: 0.02, min: 0, max: 1, description: 'Adam learning rate (held, then decayed to 5% over the budget)' },
    evalViews: { type: 'integer', default: 8, min: 0, description: 'evaluate on every n-th test view (0: no evaluation)' },
    checkpoint: { type: 'path', mode: 'file', default: '', extensions: ['.ckpt'], description: 'a field.ckpt to resume from; training is skipped when it already reached steps or maxSeconds' },
    device: { type: 'enum', options: NERF_DEVICES, default: 'auto', description: "where to train: cpu, webgpu (WGSL kernels), auto (webgpu on a hardware adapter, else cpu), or cuda (the MLPs on onnxruntime-node's CUDA provider, the rest on the CPU)" },
    threads: { type: 'integer', default: 1, min: 0, max: 64, description: 'CPU threads (0: every core, at most 4); results are reproducible for a given seed and thread count' },
    evaluator: { type: 'enum', options: ['auto', 'onnxruntime', 'reference'], default: 'auto', advanced: true, description: 'MLP kernels: onnxruntime (fast) or the TypeScript reference' },
  },
  async cacheKey(params, host: SamnerfHost) {
    const path = params.checkpoint as string;
    if (!path) return undefined;
    const stat = await host.files.stat(path);
    return stat ? `${stat.size}:${stat.mtimeMs}` : 'absent';
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const views = inputs.views as ViewsValue;
    const device = params.device as (typeof NERF_DEVICES)[number];
    const steps = params.steps as number, maxSeconds = params.maxSeconds as number;
    if (steps === 0 && maxSeconds === 0) throw new NodeError('steps and maxSeconds are both 0, so training would never stop', { param: 'maxSeconds', fix: 'set steps or maxSeconds above 0' });
    const { train, evaluation, evalSource } = splitViews(views, params.evalViews as number);
    if (train.length === 0) throw new NodeError('the views hold no training views', { port: 'views', fix: 'connect a dataset with a train split' });
    let set;
    try {
      set = trainingSet(train);
    } catch (e) {
      throw new NodeError((e as Error).message, { port: 'views' });
    }
    const requested = { raysPerBatch: params.raysPerBatch as number, log2TableSize: params.log2TableSize as number };
    if (requested.raysPerBatch > 0 && requested.raysPerBatch < 64)
      throw new NodeError(`raysPerBatch ${requested.raysPerBatch} is too small`, { param: 'raysPerBatch', fix: 'use 64 or more, or 0 to choose from the budget' });
    if (requested.log2TableSize > 0 && requested.log2TableSize < 10)
      throw new NodeError(`log2TableSize ${requested.log2TableSize} is too small`, { param: 'log2TableSize', fix: 'use 10-24, or 0 to choose from the budget' });
    const ckpt = await readCheckpoint(ctx, params.checkpoint as string);
    const size = trainingSize(maxSeconds, { ...automaticFromCheckpoint(ckpt), ...nonZero(requested) });
    const config = configForScene(
      { bounds: views.bounds, near: views.near, far: views.far, sceneKind: views.sceneKind, pixelFootprint: pixelFootprint(views) },
      { levels: params.hashLevels as number, log2TableSize: size.log2TableSize },
    );
    if (set.compositeBackground) config.render.background = set.compositeBackground;
    const seed = params.seed as number;
    const fingerprint = `${viewsFingerprint(train)}|seed=${seed}|rays=${size.raysPerBatch}|lr=${params.learningRate}`;
    const resume = ckpt && checkResume(ctx, params.checkpoint as string, ckpt, config, fingerprint, steps, maxSeconds);
    const gpu = device === 'cuda' ? undefined : await chooseDevice(ctx, device);
    if (gpu) return trainOnWebGpu(ctx, gpu, { views, set, train, evaluation, evalSource, config, params, fingerprint, resume, raysPerBatch: size.raysPerBatch });
    const threads = resolveThreads(params.threads as number);
    if (threads === 1 && (params.threads as number) > 1) ctx.log('this platform runs no training threads: training on one');
    const options = { seed, raysPerBatch: size.raysPerBatch, shared: threads > 1 };
    const layout = paramLayout(config);
    const evaluator = await cpuOrCudaEvaluator(ctx, config, layout, device, params.evaluator as EvaluatorChoice);

    // Resume from a checkpoint when one is given and matches.
    let nerf: Nerf | undefined;
    const startStep = resume?.startStep ?? 0, startSeconds = resume?.startSeconds ?? 0;
    if (resume) {
      nerf = Nerf.fromCheckpoint(resume.ckpt, evaluator, options);
      nerf.setTrainingSet(set);
    }
    if (!nerf) {
      nerf = new Nerf(config, evaluator, options);
      nerf.setTrainingSet(set);
    }
    let shards: RemoteShard[] = [];
    try {
      if (threads > 1) shards = await nerfPlatform().shardFactory!(nerf, set, threads - 1, params.evaluator as EvaluatorChoice);
    } catch (e) {
      await evaluator.dispose?.();
      throw e;
    }
    ctx.log(`training on ${train.length} views (${set.pixels} pixels), ${layout.count} parameters, ${evaluator.name}, ${threads} thread${threads > 1 ? 's' : ''}; evaluation on ${evaluation.length} views (${evalSource})`);

    const provenance = (s: { steps: number; seconds: number }, psnrTest?: number): RadianceFieldValue['provenance'] => ({ steps: s.steps, seconds: s.seconds, seed, source: views.source, psnrTest });
    let lastSave = startSeconds;
    const save = async (s: { step: number; seconds: number }) => {
      const bytes = encodeCheckpoint(nerf!.toCheckpoint(views.bounds, provenance({ steps: s.step, seconds: s.seconds }), { ...s, fingerprint }));
      await ctx.host.output.write(ctx.nodeId, 'field.ckpt', bytes);
    };
    const snapshot = fieldSnapshots(ctx, FIELD_SNAPSHOTS.cpuSeconds, (p) => nerf!.toValue(views.bounds, provenance({ steps: p.step, seconds: p.seconds })));
    let summary: TrainSummary;
    let psnrTest: number | null = null;
    try {
      summary = await trainNerf(nerf, {
        steps, maxSeconds, learningRate: params.learningRate as number, signal: ctx.signal, startStep, startSeconds,
        async onProgress(p) {
          await snapshot(p);
          ctx.progress(Math.round(p.fraction * 1000), 1000,
            `step ${p.step} · loss ${p.loss.toExponential(2)} · PSNR ${p.psnr.toFixed(2)} dB · ${Math.round(p.raysPerSecond)} rays/s · ${p.occupiedCells} occupied cells`);
          if (p.seconds - lastSave >= 60) {
            lastSave = p.seconds;
            await save({ step: p.step, seconds: p.seconds });
          }
        },
      });
      // Evaluation: renders of the held-out views, and their PSNR.
      if (evaluation.length > 0) {
        ctx.progress(1000, 1000, `evaluating on ${evaluation.length} views`);
        const result = await evaluateViews(nerf, evaluation, {
          signal: ctx.signal,
          onView: async (view, render) => {
            const png = await ctx.host.images.encodePng({ width: render.width, height: render.height, channels: 3, data: renderToRgb8(render) });
            await ctx.host.output.write(ctx.nodeId, `renders/${view.name}.png`, png);
          },
        });
        psnrTest = result.psnr;
        ctx.log(`test PSNR ${result.psnr.toFixed(2)} dB over ${evaluation.length} views (${result.seconds.toFixed(1)} s to render)`);
      }
    } finally {
      await Promise.all(shards.map((shard) => shard.dispose()));
      await evaluator.dispose?.();
    }
    const field = nerf.toValue(views.bounds, provenance(summary, psnrTest ?? undefined));
    await save({ step: summary.steps, seconds: summary.seconds });
    await writeMetrics(ctx, summary, psnrTest, evaluation, evalSource, evaluator.name, layout.count);
    return { field };
  },
});

interface Resume {
  ckpt: Checkpoint;
  startStep: number;
  startSeconds: number;
}

/**
 * The checkpoint to resume from (either device's: the format and the
 * fingerprint are the same), or undefined when none is given or it does not
 * exist yet; a NodeError when it is unreadable or does not match.
 */
async function readCheckpoint(ctx: NodeContext<SamnerfHost>, ckptPath: string): Promise<Checkpoint | undefined> {
  if (!ckptPath) return undefined;
  const stat = await ctx.host.files.stat(ckptPath);
  if (!stat) {
    ctx.log(`checkpoint ${ckptPath} does not exist yet: training from scratch`);
    return undefined;
  }
  try {
    return decodeCheckpoint(await ctx.host.files.readFile(ckptPath), ckptPath);
  } catch (e) {
    if (e instanceof CheckpointError) throw new NodeError(e.message, { param: 'checkpoint', fix: 'point it at a field.ckpt written by NeRFTrainer, or clear it' });
    throw e;
  }
}

/** Sizes a resumed run keeps when left automatic (0): a longer budget continues the checkpoint's field. */
function automaticFromCheckpoint(ckpt: Checkpoint | undefined): { raysPerBatch?: number; log2TableSize?: number } {
  if (!ckpt) return {};
  const rays = /\|rays=(\d+)\|/.exec(ckpt.training?.fingerprint ?? '');
  return { log2TableSize: ckpt.field.config.hash.log2TableSize, ...(rays ? { raysPerBatch: Number(rays[1]) } : {}) };
}

function nonZero<T extends Record<string, number>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v > 0)) as Partial<T>;
}

/**
 * The MLP evaluator of the CPU path: onnxruntime on the CPU (or the
 * TypeScript reference), or, for device cuda, onnxruntime-node's CUDA
 * provider for the MLP graphs while the hash encoding, marching and Adam stay
 * on the CPU; a clear error when that provider is not installed.
 */
async function cpuOrCudaEvaluator(ctx: NodeContext<SamnerfHost>, config: FieldConfig, layout: ReturnType<typeof paramLayout>, device: string, choice: EvaluatorChoice) {
  if (device !== 'cuda') {
    const { evaluator, fallback } = await createFieldEvaluator(config, layout, choice, 'cpu');
    if (fallback) ctx.log(fallback);
    return evaluator;
  }
  if (choice === 'reference') throw new NodeError('device cuda runs the MLPs on onnxruntime; the reference evaluator is TypeScript on the CPU', { param: 'evaluator', fix: 'set evaluator to auto or onnxruntime, or device to cpu' });
  try {
    return (await createFieldEvaluator(config, layout, 'onnxruntime', 'cuda')).evaluator;
  } catch (e) {
    if (e instanceof DeviceUnavailableError) throw new NodeError(`cannot train on cuda: ${e.reason}`, { param: 'device', fix: `${e.fix} (device webgpu reaches NVIDIA GPUs through Vulkan without it)` });
    throw new NodeError(`cannot train on cuda: ${(e as Error).message.split('\n')[0]}`, { param: 'device', fix: 'set device to webgpu, auto or cpu' });
  }
}

function checkResume(ctx: NodeContext<SamnerfHost>, ckptPath: string, ckpt: Checkpoint, config: FieldConfig, fingerprint: string, steps: number, maxSeconds: number): Resume {
  const mismatch = sameConfig(config, ckpt.field.config) ?? (ckpt.training && ckpt.training.fingerprint !== fingerprint ? 'it was trained on other views or with another seed, batch size or learning rate' : undefined);
  if (mismatch) throw new NodeError(`checkpoint "${ckptPath}" does not match: ${mismatch}`, { param: 'checkpoint', fix: 'delete it or clear the checkpoint param to train from scratch' });
  let startStep = ckpt.training?.step ?? ckpt.field.provenance.steps;
  let startSeconds = ckpt.training?.seconds ?? ckpt.field.provenance.seconds;
  if (!ckpt.training) {
    // A field without training state: use it as it is.
    startStep = Math.max(startStep, steps);
    startSeconds = Math.max(startSeconds, maxSeconds);
  }
  ctx.log(`resuming from ${ckptPath} at step ${startStep} (${startSeconds.toFixed(1)} s)`);
  return { ckpt, startStep, startSeconds };
}

/**
 * The WebGPU context to train on, or undefined for the CPU path. webgpu:
 * the adapter or a NodeError saying what is missing. auto: webgpu only on a
 * hardware adapter (a software one, SwiftShader, is far slower than the CPU
 * path); otherwise cpu, saying why.
 */
export async function chooseDevice(ctx: NodeContext<SamnerfHost>, device: string, verb = 'train'): Promise<GpuContext | undefined> {
  if (device === 'cpu') return undefined;
  if (device === 'webgpu') {
    try {
      return await acquireWebGpu();
    } catch (e) {
      throw new NodeError(`cannot ${verb} on webgpu: ${(e as Error).message}`, { param: 'device', fix: 'set device to cpu or auto (auto falls back to the CPU)' });
    }
  }
  try {
    return await acquireWebGpu({ requireHardware: true });
  } catch (e) {
    ctx.log(`device auto: ${verb === 'train' ? 'training' : 'rendering'} on the CPU (${(e as Error).message})`);
    return undefined;
  }
}

interface GpuRun {
  views: ViewsValue;
  set: TrainingSet;
  train: View[];
  evaluation: View[];
  evalSource: string;
  config: FieldConfig;
  params: Record<string, unknown>;
  fingerprint: string;
  resume?: Resume;
  raysPerBatch: number;
}

/**
 * The WebGPU path: the same loop, evaluation and outputs as the CPU path;
 * resumes from a checkpoint of either device, and writes field.ckpt with
 * the training state (parameters and Adam moments read back) every 60 s
 * and at the end, so the CPU can continue what the GPU trained and back.
 */
async function trainOnWebGpu(ctx: NodeContext<SamnerfHost>, gpu: GpuContext, run: GpuRun): Promise<{ field: RadianceFieldValue }> {
  const { views, set, train, evaluation, evalSource, config, params, fingerprint, resume, raysPerBatch } = run;
  const seed = params.seed as number;
  const steps = params.steps as number, maxSeconds = params.maxSeconds as number;
  const options = { seed, raysPerBatch };
  let nerf: GpuNerf;
  try {
    nerf = resume ? await GpuNerf.fromCheckpoint(gpu, resume.ckpt, options) : await GpuNerf.create(gpu, config, options);
  } catch (e) {
    throw new NodeError(`cannot train on webgpu: ${(e as Error).message}`, { param: 'device', fix: 'set device to cpu or auto' });
  }
  try {
    nerf.setTrainingSet(set);
    ctx.log(`training on ${train.length} views (${set.pixels} pixels), ${nerf.layout.count} parameters, WebGPU on ${adapterName(gpu.adapter)}; evaluation on ${evaluation.length} views (${evalSource})`);
    const provenance = (s: { steps: number; seconds: number }, psnrTest?: number): RadianceFieldValue['provenance'] => ({ steps: s.steps, seconds: s.seconds, seed, source: views.source, psnrTest });
    const startStep = resume?.startStep ?? 0, startSeconds = resume?.startSeconds ?? 0;
    let lastSave = startSeconds;
    const save = async (s: { step: number; seconds: number }, psnrTest?: number) => {
      const ckpt = await nerf.toCheckpoint(views.bounds, provenance({ steps: s.step, seconds: s.seconds }, psnrTest), { ...s, fingerprint });
      await ctx.host.output.write(ctx.nodeId, 'field.ckpt', encodeCheckpoint(ckpt));
      return ckpt.field;
    };
    const snapshot = fieldSnapshots(ctx, FIELD_SNAPSHOTS.gpuSeconds, (p) => nerf.toValue(views.bounds, provenance({ steps: p.step, seconds: p.seconds })));
    const summary = await trainNerf(asTrainable(nerf), {
      steps, maxSeconds, learningRate: params.learningRate as number, signal: ctx.signal, startStep, startSeconds,
      async onProgress(p) {
        await snapshot(p);
        ctx.progress(Math.round(p.fraction * 1000), 1000,
          `step ${p.step} · loss ${p.loss.toExponential(2)} · PSNR ${p.psnr.toFixed(2)} dB · ${Math.round(p.raysPerSecond)} rays/s · ${p.occupiedCells} occupied cells`);
        if (p.seconds - lastSave >= 60) {
          lastSave = p.seconds;
          await save({ step: p.step, seconds: p.seconds });
        }
      },
    });
    let psnrTest: number | null = null;
    if (evaluation.length > 0) {
      ctx.progress(1000, 1000, `evaluating on ${evaluation.length} views`);
      const result = await evaluateViews(asTrainable(nerf), evaluation, {
        signal: ctx.signal,
        onView: async (view, render) => {
          const png = await ctx.host.images.encodePng({ width: render.width, height: render.height, channels: 3, data: renderToRgb8(render) });
          await ctx.host.output.write(ctx.nodeId, `renders/${view.name}.png`, png);
        },
      });
      psnrTest = result.psnr;
      ctx.log(`test PSNR ${result.psnr.toFixed(2)} dB over ${evaluation.length} views (${result.seconds.toFixed(1)} s to render)`);
    }
    const field = await save({ step: summary.steps, seconds: summary.seconds }, psnrTest ?? undefined);
    await writeMetrics(ctx, summary, psnrTest, evaluation, evalSource, `webgpu (${adapterName(gpu.adapter)})`, nerf.layout.count);
    return { field };
  } finally {
    nerf.dispose();
  }
}

/**
 * Field snapshots for live views (the editor's 3D view): at most one every
 * this many seconds of training, and only while someone listens
 * (ctx.previewing; never in the CLI). The CPU path copies its parameters;
 * the WebGPU path reads them back, so it snapshots less often.
 */
export const FIELD_SNAPSHOTS = { cpuSeconds: 2, gpuSeconds: 5 };

function fieldSnapshots(ctx: NodeContext<SamnerfHost>, everySeconds: number, make: (p: TrainProgress) => RadianceFieldValue | Promise<RadianceFieldValue>) {
  let last = -Infinity;
  return async (p: TrainProgress): Promise<void> => {
    if (!ctx.previewing || !ctx.preview || p.seconds - last < everySeconds) return;
    last = p.seconds;
    ctx.preview('field', await make(p), { step: p.step, psnr: p.psnr });
  };
}

/** `<out>/<id>/metrics.json`: the same fields whichever device trained. */
async function writeMetrics(
  ctx: NodeContext<SamnerfHost>,
  summary: TrainSummary,
  psnrTest: number | null,
  evaluation: readonly { name: string }[],
  evalSource: string,
  evaluator: string,
  parameters: number,
): Promise<void> {
  const metrics = {
    steps: summary.steps,
    seconds: round(summary.seconds, 2),
    psnr_test: psnrTest === null ? null : round(psnrTest, 3),
    rays_per_second: Math.round(summary.raysPerSecond),
    samples_per_second: Math.round(summary.samplesPerSecond),
    eval_views: evaluation.map((v) => v.name),
    eval_source: evalSource,
    stopped_by: summary.stoppedBy,
    evaluator,
    parameters,
  };
  await ctx.host.output.write(ctx.nodeId, 'metrics.json', JSON.stringify(metrics, null, 2) + '\n');
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
