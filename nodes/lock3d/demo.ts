// The default prompt of `samnerf demo` on a generated scene: the object that
// other objects partly hide in the most views, clicked where a user would
// click it, at the pixel deepest inside it in the training view where it
// shows most. Chosen from the scene's ground truth, so any seed works.

import type { SceneDataset } from '../scene';
import { distanceInside } from './self-prompt';

export interface DemoPrompt {
  view: string;
  x: number;
  y: number;
  object: number;
  name: string;
}

export function demoPrompt(scene: SceneDataset): DemoPrompt {
  const counts = new Map<number, number>();
  for (const o of scene.occlusions) counts.set(o.object, (counts.get(o.object) ?? 0) + 1);
  const objects = [...scene.layout.objects].sort((a, b) => (counts.get(b.id) ?? 0) - (counts.get(a.id) ?? 0) || a.id - b.id);
  for (const object of objects) {
    const click = clickOn(scene, object.id);
    if (click) return click;
  }
  throw new Error('the scene shows no object in its training views');
}

/** A click on an object: the pixel deepest inside it, in the training view where it shows most (undefined if none shows it). */
export function clickOn(scene: SceneDataset, id: number): DemoPrompt | undefined {
  const object = scene.layout.objects.find((o) => o.id === id);
  if (!object) return undefined;
  let best = -1, bestArea = 0;
  scene.views.forEach((v, i) => {
    if (v.split !== 'train') return;
    let area = 0;
    for (const k of scene.renders[i]!.instances) if (k === id) area++;
    if (area > bestArea) {
      bestArea = area;
      best = i;
    }
  });
  if (best < 0) return undefined;
  const { width, height, instances } = scene.renders[best]!;
  const mask = new Uint8Array(width * height);
  for (let p = 0; p < mask.length; p++) mask[p] = instances[p] === id ? 1 : 0;
  const depth = distanceInside(mask, width, height);
  let pick = 0;
  for (let p = 0; p < depth.length; p++) if (depth[p]! > depth[pick]!) pick = p;
  return { view: scene.views[best]!.name, x: pick % width, y: Math.floor(pick / width), object: id, name: object.name };
}
