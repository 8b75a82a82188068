// Training views prepared for ray sampling: images as 8-bit RGB (plus
// straight alpha when the dataset had it), the background colour the images
// were composited on (estimated from fully transparent pixels), and the
// scale figures the field's config needs.

import type { View, ViewsValue } from '../../engine/values';
import { cameraCenter } from './rays';

export interface TrainingSet {
  views: readonly View[];
  /** Background (0-1 RGB) the RGBA images were composited on; undefined when the images had no alpha. */
  compositeBackground?: [number, number, number];
  pixels: number;
}

export function trainingSet(views: readonly View[]): TrainingSet {
  if (views.length === 0) throw new Error('no training views');
  let pixels = 0;
  for (const v of views) {
    const { width, height, data } = v.image;
    if (v.camera.width !== width || v.camera.height !== height)
      throw new Error(`view ${v.name}: image is ${width}x${height} but its camera is ${v.camera.width}x${v.camera.height}`);
    if (data.length !== width * height * 3) throw new Error(`view ${v.name}: expected ${width * height * 3} RGB bytes, got ${data.length}`);
    if (v.alpha && v.alpha.length !== width * height) throw new Error(`view ${v.name}: alpha has ${v.alpha.length} values for ${width * height} pixels`);
    pixels += width * height;
  }
  return { views, compositeBackground: estimateBackground(views), pixels };
}

/**
 * The colour fully transparent pixels were composited on (the images carry
 * it exactly there): the mean over alpha == 0 pixels, when every view has
 * alpha and there are some.
 */
export function estimateBackground(views: readonly View[]): [number, number, number] | undefined {
  if (!views.every((v) => v.alpha)) return undefined;
  let r = 0, g = 0, b = 0, n = 0;
  for (const v of views) {
    const a = v.alpha!, d = v.image.data;
    for (let i = 0; i < a.length; i += 7) {
      if (a[i] !== 0) continue;
      r += d[3 * i]!;
      g += d[3 * i + 1]!;
      b += d[3 * i + 2]!;
      n++;
    }
  }
  if (n === 0) return undefined;
  return [r / n / 255, g / n / 255, b / n / 255];
}

/** Width of a pixel in world units at the scene centre, averaged over views (sets the finest grid resolution). */
export function pixelFootprint(value: ViewsValue): number {
  const c = [0, 1, 2].map((i) => (value.bounds.min[i]! + value.bounds.max[i]!) / 2);
  let sum = 0, n = 0;
  for (const v of value.views) {
    const [x, y, z] = cameraCenter(v.camera);
    const dist = Math.hypot(x - c[0]!, y - c[1]!, z - c[2]!);
    sum += dist / v.camera.fx;
    n++;
  }
  return n ? sum / n : 0.01;
}

/** Views of a split, or every `every`-th of them. */
export function viewsOf(value: ViewsValue, split: View['split'], every = 1): View[] {
  return value.views.filter((v) => v.split === split).filter((_, i) => i % every === 0);
}
