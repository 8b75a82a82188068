// IoU of rendered object masks against a dataset's ground truth: instance
// ids (the scene generator) or the alpha channel (single-object captures
// such as the NeRF Blender scenes).

import type { Prompts3DValue, View } from '../../engine/values';

export type GroundTruthMode = 'auto' | 'instances' | 'alpha' | 'none';

/**
 * A pixel is the object in an alpha ground truth when the object covers at
 * least half of it (alpha >= 128), the same threshold as the renders'
 * minAccumulation: anti-aliased edge pixels the object barely touches are
 * not the object.
 */
export const ALPHA_OBJECT = 128;

export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0, y = b[i] !== 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  // Both empty: the object is correctly absent from the view.
  return union === 0 ? 1 : inter / union;
}

export interface GroundTruth {
  mode: 'instances' | 'alpha';
  /** Per object: the instance id it is matched to (instances mode), or undefined when none could be. */
  ids: Array<number | undefined>;
  notes: string[];
  /** The ground-truth mask of object o in a view, or undefined when the view has none. */
  mask(view: View, object: number): Uint8Array | undefined;
}

/**
 * The ground truth to score against. Instance mode matches each object to
 * the id most of its foreground clicks land on in their views (not 0, the
 * ground and background).
 */
export function groundTruth(views: readonly View[], prompts: Prompts3DValue | undefined, objectCount: number, mode: GroundTruthMode): GroundTruth | undefined {
  const hasInstances = views.some((v) => v.instances), hasAlpha = views.some((v) => v.alpha);
  const chosen = mode === 'auto' ? (hasInstances && prompts ? 'instances' : hasAlpha && objectCount === 1 ? 'alpha' : 'none') : mode;
  if (chosen === 'none') return undefined;
  const notes: string[] = [];
  if (chosen === 'alpha') {
    if (!hasAlpha) return undefined;
    return {
      mode: 'alpha',
      ids: Array.from({ length: objectCount }, () => undefined),
      notes: [`alpha >= ${ALPHA_OBJECT} is the object`, ...(objectCount > 1 ? ['alpha is one foreground mask: every object is scored against all of it'] : [])],
      mask: (view) => {
        if (!view.alpha) return undefined;
        const m = new Uint8Array(view.alpha.length);
        for (let i = 0; i < m.length; i++) m[i] = view.alpha[i]! >= ALPHA_OBJECT ? 1 : 0;
        return m;
      },
    };
  }
  if (!hasInstances || !prompts) return undefined;
  const byName = new Map(views.map((v) => [v.name, v]));
  const ids = Array.from({ length: objectCount }, (_, o) => {
    const votes = new Map<number, number>();
    prompts.sources.forEach((s, k) => {
      if (prompts.object[k] !== o || prompts.labels[k] !== 1) return;
      const view = byName.get(s.view);
      const id = view?.instances?.[s.y * view.camera.width + s.x];
      if (id !== undefined) votes.set(id, (votes.get(id) ?? 0) + 1);
    });
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    if (!best || best[0] === 0) {
      notes.push(`${prompts.objects[o]?.name ?? `object ${o + 1}`}: the clicks are on instance id ${best?.[0] ?? 'none'} (ground or background), not scored`);
      return undefined;
    }
    return best[0];
  });
  return {
    mode: 'instances',
    ids,
    notes,
    mask: (view, object) => {
      const id = ids[object];
      if (id === undefined || !view.instances) return undefined;
      const m = new Uint8Array(view.instances.length);
      for (let i = 0; i < m.length; i++) m[i] = view.instances[i] === id ? 1 : 0;
      return m;
    },
  };
}
