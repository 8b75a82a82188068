// A generated scene on disk plus ground-truth helpers for the 3D
// segmentation tests: clicks are chosen from the instance masks the way a
// user would click (the middle of the object), never hard-coded.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createNodeHost } from '../../cli/node-host';
import type { View, ViewsValue } from '../../engine/values';
import { datasetGeometry } from '../../nodes/lock3d/geometry';
import { liftClick } from '../../nodes/lock3d/project';
import { distanceInside } from '../../nodes/lock3d/self-prompt';
import { buildSceneDataset, type SceneDataset, type SceneOptions } from '../../nodes/scene';
import { loadDataset, locateDataset, project } from '../../nodes/views';

export interface TestScene {
  dir: string;
  scene: SceneDataset;
  views: ViewsValue;
  byName: Map<string, View>;
}

export async function makeScene(options: SceneOptions): Promise<TestScene> {
  const dir = mkdtempSync(join(tmpdir(), 'samnerf-lock3d-'));
  const scene = buildSceneDataset(options);
  for (const f of scene.files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.bytes);
  }
  const host = await createNodeHost({ out: join(dir, 'out'), device: 'cpu' });
  const location = (await locateDataset(host, dir, 'auto'))!;
  const { views } = await loadDataset(host, location, { splits: new Set(['train', 'test']), evalEvery: 8, scale: 1, groundTruth: true, background: [255, 255, 255] });
  return { dir, scene, views, byName: new Map(views.views.map((v) => [v.name, v])) };
}

export function gtMask(view: View, id: number): Uint8Array {
  const m = new Uint8Array(view.instances!.length);
  for (let i = 0; i < m.length; i++) m[i] = view.instances![i] === id ? 1 : 0;
  return m;
}

export function area(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v ? 1 : 0;
  return n;
}

/** The train view where the object shows most, and the pixel deepest inside it there. */
export function userClick(t: TestScene, id: number): { view: string; x: number; y: number } {
  let best: View | undefined, bestArea = -1;
  for (const v of t.views.views) {
    if (v.split !== 'train') continue;
    const a = area(gtMask(v, id));
    if (a > bestArea) {
      bestArea = a;
      best = v;
    }
  }
  const v = best!;
  const d = distanceInside(gtMask(v, id), v.camera.width, v.camera.height);
  let c = 0;
  for (let p = 0; p < d.length; p++) if (d[p]! > d[c]!) c = p;
  return { view: v.name, x: c % v.camera.width, y: Math.floor(c / v.camera.width) };
}

/** Objects by how many views show them partly hidden by another (most first). */
export function mostOccluded(t: TestScene): number[] {
  const counts = new Map<number, number>();
  for (const o of t.scene.occlusions) counts.set(o.object, (counts.get(o.object) ?? 0) + 1);
  return t.scene.layout.objects.map((o) => o.id).sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || a - b);
}

/**
 * Train views where the 3D point under a click is hidden behind another
 * object (ground truth: a nearer surface of another instance at its pixel).
 */
export async function viewsHidingClick(t: TestScene, id: number, click: { view: string; x: number; y: number }): Promise<string[]> {
  const geometry = datasetGeometry(t.views);
  const ref = t.byName.get(click.view)!;
  const lifted = liftClick(ref.camera, await geometry.render(ref.camera, ref.name), click.x, click.y, 0.5);
  if (!lifted.ok) throw new Error(lifted.reason);
  const hidden: string[] = [];
  for (const v of t.views.views) {
    if (v.split !== 'train' || v.name === ref.name) continue;
    const q = project(v.camera, lifted.position);
    const u = Math.floor(q.x), w = Math.floor(q.y);
    if (q.depth <= 0 || u < 0 || w < 0 || u >= v.camera.width || w >= v.camera.height) continue;
    const p = w * v.camera.width + u;
    const other = v.instances![p]!;
    if (other !== 0 && other !== id && v.depth![p]! < q.depth * 0.95) hidden.push(v.name);
  }
  return hidden;
}
