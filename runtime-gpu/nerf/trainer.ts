// The training loop around a Nerf: learning-rate schedule over the budget
// (steps and/or seconds), occupancy-grid updates, progress reports, abort
// checks, and test-set evaluation. Platform-neutral; the clock counts only
// training work (steps and grid updates), not callbacks or evaluation.

import type { View } from '../../engine/values';
import { learningRate } from './adam';
import type { Nerf, RenderOutput, StepStats } from './nerf';

export interface TrainProgress {
  step: number;
  /** Training seconds so far (including earlier sessions when resumed). */
  seconds: number;
  loss: number;
  /** PSNR of the batch (random backgrounds included), from the loss. */
  psnr: number;
  lr: number;
  raysPerSecond: number;
  samplesPerSecond: number;
  occupiedCells: number;
  /** Fraction of the budget used (0-1). */
  fraction: number;
}

export interface TrainOptions {
  /** Stop after this many steps in total (0: no step limit). */
  steps: number;
  /** Stop after this many training seconds in total (0: no time limit). */
  maxSeconds: number;
  learningRate: number;
  /** Schedule: the rate is held for this fraction of the budget (0.3), then decays to learningRate * lrFinalRatio (0.05). */
  lrHold?: number;
  lrFinalRatio?: number;
  /** Grid update every this many steps (instant-ngp: 16). */
  occupancyInterval?: number;
  /** Steps to report progress after. */
  progressEvery?: number;
  signal?: AbortSignal;
  onProgress?(p: TrainProgress): void | Promise<void>;
  /** Resume: steps and seconds already done. */
  startStep?: number;
  startSeconds?: number;
  /** The clock (ms); performance.now by default. */
  now?: () => number;
  /**
   * The budget the learning-rate schedule spans, when training runs in
   * segments (evaluating in between): defaults to steps and maxSeconds.
   */
  scheduleSteps?: number;
  scheduleSeconds?: number;
}

export interface TrainSummary {
  steps: number;
  seconds: number;
  rays: number;
  samples: number;
  evaluated: number;
  raysPerSecond: number;
  samplesPerSecond: number;
  lastLoss: number;
  stoppedBy: 'steps' | 'time' | 'nothing-to-do';
}

const defaultNow = () => globalThis.performance?.now() ?? Date.now();

/**
 * Yields to the event loop so abort signals and progress consumers get a
 * turn. Not setTimeout(0): Node delays it by at least 1 ms and browsers clamp
 * nested timeouts to 4 ms, which would cost 2-6 % of a 70 ms step.
 */
const nextTick: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise<void>((resolve) => setImmediate(resolve))
    : typeof MessageChannel === 'function'
      ? (() => {
          const channel = new MessageChannel();
          const waiting: Array<() => void> = [];
          channel.port1.onmessage = () => waiting.shift()?.();
          return () => new Promise<void>((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });
        })()
      : () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

export async function trainNerf(nerf: Nerf, options: TrainOptions): Promise<TrainSummary> {
  const { steps, maxSeconds, signal } = options;
  if (steps <= 0 && maxSeconds <= 0) throw new Error('training needs a step limit or a time limit');
  const now = options.now ?? defaultNow;
  const interval = options.occupancyInterval ?? 16;
  const every = options.progressEvery ?? 10;
  let step = options.startStep ?? 0;
  let trainMs = (options.startSeconds ?? 0) * 1000;
  const sessionStartMs = trainMs;
  let rays = 0, samples = 0, evaluated = 0, lastLoss = NaN;
  const done = () => (steps > 0 && step >= steps) || (maxSeconds > 0 && trainMs >= maxSeconds * 1000);
  const planSteps = options.scheduleSteps ?? steps, planSeconds = options.scheduleSeconds ?? maxSeconds;
  const fraction = () => Math.min(1, Math.max(planSteps > 0 ? step / planSteps : 0, planSeconds > 0 ? trainMs / (planSeconds * 1000) : 0));
  if (done()) return summary('nothing-to-do');
  let windowStart = now(), windowRays = 0, windowSamples = 0, windowMs = 0;
  while (!done()) {
    if (signal?.aborted) throw abortReason(signal);
    const t0 = now();
    const lr = learningRate(options.learningRate, fraction(), options.lrHold, options.lrFinalRatio);
    const stats: StepStats = await nerf.trainStep(lr);
    step++;
    if (step % interval === 0) await nerf.updateOccupancy();
    const dt = now() - t0;
    trainMs += dt;
    rays += stats.rays;
    samples += stats.samples;
    evaluated += stats.evaluated;
    lastLoss = stats.loss;
    windowRays += stats.rays;
    windowSamples += stats.evaluated;
    windowMs += dt;
    if (options.onProgress && (step % every === 0 || done())) {
      await options.onProgress({
        step,
        seconds: trainMs / 1000,
        loss: stats.loss,
        psnr: psnrFromMse(stats.loss),
        lr,
        raysPerSecond: windowMs > 0 ? (windowRays * 1000) / windowMs : 0,
        samplesPerSecond: windowMs > 0 ? (windowSamples * 1000) / windowMs : 0,
        occupiedCells: nerf.grid.occupiedCount,
        fraction: fraction(),
      });
      windowStart = now();
      windowRays = windowSamples = windowMs = 0;
    }
    await nextTick();
  }
  void windowStart;
  return summary(steps > 0 && step >= steps ? 'steps' : 'time');

  function summary(stoppedBy: TrainSummary['stoppedBy']): TrainSummary {
    const sessionSeconds = (trainMs - sessionStartMs) / 1000;
    return {
      steps: step,
      seconds: trainMs / 1000,
      rays,
      samples,
      evaluated,
      raysPerSecond: sessionSeconds > 0 ? rays / sessionSeconds : 0,
      samplesPerSecond: sessionSeconds > 0 ? evaluated / sessionSeconds : 0,
      lastLoss,
      stoppedBy,
    };
  }
}

export function psnrFromMse(mse: number): number {
  return mse > 0 ? -10 * Math.log10(mse) : Infinity;
}

/** Mean squared error of a render against an 8-bit RGB image. */
export function renderMse(render: RenderOutput, image: { data: Uint8Array }): number {
  let se = 0;
  const a = render.rgb, b = image.data;
  for (let i = 0; i < a.length; i++) {
    const e = Math.min(1, Math.max(0, a[i]!)) - b[i]! / 255;
    se += e * e;
  }
  return se / a.length;
}

export interface EvalResult {
  /** Mean of the per-view PSNRs (the NeRF papers' convention). */
  psnr: number;
  views: Array<{ name: string; psnr: number }>;
  seconds: number;
}

/** Renders `views` and compares them with their images; `onView` gets each render (to write it out). */
export async function evaluateViews(
  nerf: Nerf,
  views: readonly View[],
  options: { signal?: AbortSignal; onView?(view: View, render: RenderOutput, psnr: number): void | Promise<void>; now?: () => number } = {},
): Promise<EvalResult> {
  const now = options.now ?? defaultNow;
  const t0 = now();
  const results: EvalResult['views'] = [];
  for (const view of views) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const render = await nerf.renderCamera(view.camera, { signal: options.signal });
    const psnr = psnrFromMse(renderMse(render, view.image));
    results.push({ name: view.name, psnr });
    await options.onView?.(view, render, psnr);
    await nextTick();
  }
  const psnr = results.length ? results.reduce((s, r) => s + r.psnr, 0) / results.length : NaN;
  return { psnr, views: results, seconds: (now() - t0) / 1000 };
}

/** 8-bit RGB of a render (values clamped to 0-1). */
export function renderToRgb8(render: RenderOutput): Uint8Array {
  const out = new Uint8Array(render.rgb.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, render.rgb[i]!)) * 255);
  return out;
}
