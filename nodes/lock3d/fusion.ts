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
  /** Applied to every SAM mask before it is judged or fused (e.g. dropping the support plane's pixels). */
  clean?: (view: string, mask: Uint8Array) => Uint8Array;
}

export interface FusionOptions {
  rejectIoU: number;
  /** In the first sweep, MultiViewSam's mask is taken without prompting SAM again when its IoU with the 3D mask reaches this. */
  trustIoU: number;
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
  const accepted = new Map<string, Uint8Array>();
  const records = new Map<string, FusionRecord>();
  let fitMs = 0, decodeMs = 0, decoderRuns = 0;
  const decoded = new Map<string, Promise<{ mask: Uint8Array; score?: number }>>();
  const clean = object.clean ?? ((_view: string, mask: Uint8Array) => mask);
  const cleaned = new Map<Uint8Array, Uint8Array>();
  const cleanOnce = (view: string, mask: Uint8Array) => {
    let c = cleaned.get(mask);
    if (!c) cleaned.set(mask, (c = clean(view, mask)));
    return c;
  };
  const decode = (view: string, points: PromptPoint[], box?: PromptBox) => {
    const key = `${view}|${JSON.stringify(points)}|${JSON.stringify(box ?? null)}`;
    let pending = decoded.get(key);
    if (!pending) {
      decoderRuns++;
      const t0 = now();
      pending = segment(view, { points, box }).then((r) => ((decodeMs += now() - t0), { ...r, mask: cleanOnce(view, r.mask) }));
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

  // Start: every mask SAM gave for the user's own points (the clicked view's
  // and the re-projected ones), fitted together; masks that disagree with
  // the fit are dropped and the rest refitted until the set holds. No view
  // is privileged, so a poor SAM mask in the clicked view is outvoted.
  const firstMasks = new Map<string, { mask: Uint8Array; points: PromptPoint[]; score?: number }>();
  firstMasks.set(object.refView, { mask: cleanOnce(object.refView, object.refMask), points: object.initial.get(object.refView)?.points ?? [], score: object.initial.get(object.refView)?.score });
  for (const [name, m] of object.initial) if (m.mask && byName.has(name) && !firstMasks.has(name)) firstMasks.set(name, { mask: cleanOnce(name, m.mask), points: m.points, score: m.score });
  for (const [name, m] of firstMasks) accepted.set(name, m.mask);
  let state = fit(options.iterations);
  for (let round = 0; round < 4; round++) {
    const keep = new Set<string>();
    for (const [name, m] of firstMasks) {
      const iou = knownIoU(m.mask, renderMaskLogits(byName.get(name)!.samples, state.logits, state.evidence));
      const candidate = name === object.refView ? 'reference' : 'reprojected';
      records.set(name, { view: name, status: iou >= options.rejectIoU ? 'accepted' : 'rejected', candidate, mask: m.mask, points: m.points, score: m.score, iou });
      if (iou >= options.rejectIoU) keep.add(name);
    }
    if (keep.size === 0) keep.add(object.refView); // nothing agrees: trust the user's view
    if (keep.size === accepted.size && [...keep].every((n) => accepted.has(n))) break;
    accepted.clear();
    for (const name of keep) accepted.set(name, firstMasks.get(name)!.mask);
    state = fit(options.iterations);
  }
  for (const name of accepted.keys()) records.get(name)!.status = 'accepted';

  /**
   * Judges a view's SAM masks against the current 3D mask rendered there.
   * In the sweep, MultiViewSam's mask (from the user's re-projected points)
   * is judged first and SAM is prompted again only when there is none or it
   * agrees with the 3D mask at an IoU below trustIoU; in refinement passes SAM is always prompted from the 3D
   * mask (and its box) and the better of the two masks is kept.
   */
  const visit = async (view: FusionView, refine: boolean): Promise<FusionRecord> => {
    const rendered = renderMaskLogits(view.samples, state.logits, state.evidence);
    const renderedMask = maskOf(rendered);
    let area = 0;
    for (let p = 0; p < renderedMask.length; p++) area += renderedMask[p]!;
    const initial = object.initial.get(view.name);
    const user = initial?.points ?? [];
    let best: FusionRecord | undefined;
    const judge = (c: Pick<FusionRecord, 'candidate' | 'mask' | 'points' | 'score' | 'box'>) => {
      const iou = knownIoU(c.mask!, rendered);
      if (!best || iou > best.iou!) best = { view: view.name, status: iou >= options.rejectIoU ? 'accepted' : 'rejected', ...c, iou };
    };
    if (initial?.mask) judge({ candidate: 'reprojected', mask: cleanOnce(view.name, initial.mask), points: user, score: initial.score });
    if (area === 0 && !user.some((p) => p.label === 1)) return best ?? { view: view.name, status: 'not-visible', points: [] };
    if (refine || !best || best.iou! < Math.max(options.rejectIoU, options.trustIoU)) {
      const points = [...user, ...selfPrompt(rendered, view.samples.depth, options.selfPromptPoints)];
      if (points.some((p) => p.label === 1)) {
        const box = refine && options.refineBox && area > 0 ? boxAround(renderedMask, view.samples.width, view.samples.height, 0.1) : undefined;
        const r = await decode(view.name, points, box);
        judge({ candidate: 'prompted', mask: r.mask, points, box, score: r.score });
      }
    }
    return best ?? { view: view.name, status: 'not-visible', points: user };
  };

  // Sweep: the other views, nearest camera to the accepted set first.
  const pending = new Set(views.map((v) => v.name).filter((n) => !accepted.has(n)));
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
      const record = await visit(view, true);
      if (view.name === object.refView && record.candidate === 'reprojected') record.candidate = 'reference';
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
