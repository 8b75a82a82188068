// 3D mask fusion with cross-view self-prompting (SA3D's loop, docs/lock3d.md).
// Starting from the SAM mask of the view the user clicked in, views are
// visited nearest camera first: the current 3D mask is rendered into the
// view, SAM is prompted there (the user's points that survived the
// occlusion test plus self-prompts from the rendered mask), and the SAM mask
// is fused (the grid refitted) when its IoU with the rendered mask, over the
// pixels the 3D mask already knows, reaches `rejectIoU`; otherwise it is
// rejected. Later rounds revisit every view with the finished 3D mask. The
// final grid is refitted from scratch on the accepted masks, so it does not
// depend on the visiting order beyond which masks were accepted.

import type { Camera, PromptBox, PromptPoint } from '../../engine/values';
import { cameraCentre } from '../views/camera';
import { fitMaskLogits, KNOWN, maskOf, renderMaskLogits, UNKNOWN, type FitTarget, type RenderedMask, type SurfaceSamples } from './mask-grid';
import { selfPrompt } from './self-prompt';

export interface FusionView {
  name: string;
  camera: Camera;
  samples: SurfaceSamples;
}

export interface FusionObject {
  name: string;
  /** The view the user clicked in, and SAM's mask there: the first supervision, always kept. */
  refView: string;
  refMask: Uint8Array;
  /** Per view: the user's points that survived re-projection, and SAM's mask from them (MultiViewSam). */
  initial: Map<string, { points: PromptPoint[]; mask?: Uint8Array; score?: number }>;
}

export interface FusionOptions {
  rejectIoU: number;
  /** Most self-prompt points per view; 0 = only the user's re-projected points. */
  selfPromptPoints: number;
  /** Visits of every view with the finished 3D mask after the first sweep. */
  refineRounds: number;
  /** In those visits, also give SAM the box around the rendered 3D mask (widened by 10%). */
  refineBox: boolean;
  lambda: number;
  iterations: number;
  learningRate: number;
}

export type Segmenter = (view: string, prompt: { points: PromptPoint[]; box?: PromptBox }) => Promise<{ mask: Uint8Array; score?: number }>;

export interface FusionRecord {
  view: string;
  status: 'accepted' | 'rejected' | 'not-visible';
  /** Prompts of the mask judged (user's + self-prompts), or of the reference view. */
  points: PromptPoint[];
  box?: PromptBox;
  /** 'reference', 'prompted' (user + self-prompts) or 'reprojected' (MultiViewSam's mask). */
  candidate?: 'reference' | 'prompted' | 'reprojected';
  mask?: Uint8Array;
  score?: number;
  /** IoU with the rendered 3D mask over known pixels. */
  iou?: number;
}

export interface FusionResult {
  logits: Float32Array;
  evidence: Float32Array;
  records: Map<string, FusionRecord>;
  decoderRuns: number;
  fitMs: number;
  decodeMs: number;
}

/** IoU of a 2D mask with a rendered 3D mask, over the pixels the 3D mask knows (and those without surface). */
export function knownIoU(mask: Uint8Array, rendered: RenderedMask): number {
  let inter = 0, union = 0;
  for (let p = 0; p < mask.length; p++) {
    const r = rendered.state[p] === KNOWN && rendered.logit[p]! > 0;
    if (rendered.state[p] === UNKNOWN) continue;
    if (r && mask[p]) inter++;
    if (r || mask[p]) union++;
  }
  return union === 0 ? 0 : inter / union;
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export async function fuseObject(
  views: readonly FusionView[],
  nodeCount: number,
  object: FusionObject,
  segment: Segmenter,
  options: FusionOptions,
  signal?: AbortSignal,
): Promise<FusionResult> {
  const byName = new Map(views.map((v) => [v.name, v]));
  if (!byName.has(object.refView)) throw new Error(`the reference view ${object.refView} is not among the views fused`);
  const accepted = new Map<string, Uint8Array>([[object.refView, object.refMask]]);
  const records = new Map<string, FusionRecord>();
  records.set(object.refView, { view: object.refView, status: 'accepted', candidate: 'reference', points: object.initial.get(object.refView)?.points ?? [], mask: object.refMask });
  let fitMs = 0, decodeMs = 0, decoderRuns = 0;
  const decoded = new Map<string, Promise<{ mask: Uint8Array; score?: number }>>();
  const decode = (view: string, points: PromptPoint[], box?: PromptBox) => {
    const key = `${view}|${JSON.stringify(points)}|${JSON.stringify(box ?? null)}`;
    let pending = decoded.get(key);
    if (!pending) {
      decoderRuns++;
      const t0 = now();
      pending = segment(view, { points, box }).then((r) => ((decodeMs += now() - t0), r));
      decoded.set(key, pending);
    }
    return pending;
  };
  const targets = (): FitTarget[] => [...accepted].map(([name, mask]) => ({ samples: byName.get(name)!.samples, mask }));
  const fit = (iterations: number, init?: Float32Array) => {
    const t0 = now();
    const r = fitMaskLogits(targets(), nodeCount, { lambda: options.lambda, iterations, learningRate: options.learningRate, init });
    fitMs += now() - t0;
    return r;
  };
  let state = fit(options.iterations);

  /** Prompts SAM in a view from the current 3D mask and judges the result. */
  const visit = async (view: FusionView, withBox: boolean): Promise<FusionRecord> => {
    const rendered = renderMaskLogits(view.samples, state.logits, state.evidence);
    const renderedMask = maskOf(rendered);
    let area = 0;
    for (let p = 0; p < renderedMask.length; p++) area += renderedMask[p]!;
    const initial = object.initial.get(view.name);
    const user = initial?.points ?? [];
    if (area === 0 && !user.some((p) => p.label === 1)) return { view: view.name, status: 'not-visible', points: [] };
    const points = [...user, ...selfPrompt(rendered, view.samples.depth, options.selfPromptPoints)];
    const candidates: Array<Required<Pick<FusionRecord, 'candidate' | 'mask' | 'points'>> & { score?: number; box?: PromptBox }> = [];
    if (points.some((p) => p.label === 1)) {
      const box = withBox && area > 0 ? boxAround(renderedMask, view.samples.width, view.samples.height, 0.1) : undefined;
      const r = await decode(view.name, points, box);
      candidates.push({ candidate: 'prompted', mask: r.mask, points, box, score: r.score });
    }
    if (initial?.mask) candidates.push({ candidate: 'reprojected', mask: initial.mask, points: user, score: initial.score });
    let best: FusionRecord | undefined;
    for (const c of candidates) {
      const iou = knownIoU(c.mask, rendered);
      if (!best || iou > best.iou!) best = { view: view.name, status: iou >= options.rejectIoU ? 'accepted' : 'rejected', ...c, iou };
    }
    return best ?? { view: view.name, status: 'not-visible', points };
  };

  // First sweep: nearest camera to the accepted set first.
  const pending = new Set(views.map((v) => v.name).filter((n) => n !== object.refView));
  const centre = (name: string) => cameraCentre(byName.get(name)!.camera);
  while (pending.size > 0) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    let next = '', nextDistance = Infinity;
    for (const name of pending) {
      const c = centre(name);
      for (const a of accepted.keys()) {
        const d = centre(a);
        const dist = Math.hypot(c[0] - d[0], c[1] - d[1], c[2] - d[2]);
        if (dist < nextDistance) {
          nextDistance = dist;
          next = name;
        }
      }
    }
    pending.delete(next);
    const record = await visit(byName.get(next)!, false);
    records.set(next, record);
    if (record.status === 'accepted') {
      accepted.set(next, record.mask!);
      state = fit(Math.max(4, Math.round(options.iterations / 4)), state.logits);
    }
  }

  // Refinement: every view again with the finished 3D mask.
  for (let round = 0; round < options.refineRounds; round++) {
    let changed = false;
    for (const view of views) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      // The reference view too: its first mask competes with one prompted by the clicks plus the 3D mask.
      const record = await visit(view, options.refineBox);
      if (view.name === object.refView) {
        // The user's view is always fused: with its better candidate, or its first mask.
        if (record.candidate === 'reprojected') record.candidate = 'reference';
        if (record.status !== 'accepted') Object.assign(record, { status: 'accepted', candidate: 'reference', mask: object.refMask, points: object.initial.get(view.name)?.points ?? [] });
      }
      const before = records.get(view.name);
      records.set(view.name, record);
      if (record.status === 'accepted') {
        if (accepted.get(view.name) !== record.mask) changed = true;
        accepted.set(view.name, record.mask!);
      } else if (accepted.delete(view.name)) changed = true;
      if (before?.status !== record.status) changed = true;
    }
    state = fit(options.iterations);
    if (!changed) break;
  }
  if (options.refineRounds === 0) state = fit(options.iterations);
  return { logits: state.logits, evidence: state.evidence, records, decoderRuns, fitMs, decodeMs };
}

/** The bounding box of a mask widened by `margin` of its size on each side, clipped to the image. */
export function boxAround(mask: Uint8Array, width: number, height: number, margin: number): PromptBox | undefined {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    const x = p % width, y = Math.floor(p / width);
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (x1 < 0) return undefined;
  const mx = (x1 + 1 - x0) * margin, my = (y1 + 1 - y0) * margin;
  return { x0: Math.max(0, x0 - mx), y0: Math.max(0, y0 - my), x1: Math.min(width, x1 + 1 + mx), y1: Math.min(height, y1 + 1 + my) };
}
