// The generated scene as a NeRF Blender dataset (docs/scene-generator.md):
// RGBA PNGs, transforms_train.json / transforms_test.json, per view a
// float32 depth .npy, a 16-bit depth PNG and an 8-bit instance-id PNG, and
// scene.json describing the objects. Produces the files in memory (same
// seed, same bytes); the caller writes them.

import { encodeRawPng } from '../views/png-raw';
import { writeNpy } from '../views/npy';
import { layoutScene, RIG, sceneViews, TEST_EVERY, type SceneLayout, type SceneView } from './layout';
import { renderView, type ViewRender } from './render';
import { halfExtents } from './shapes';

export interface SceneOptions {
  /** Number of cameras (default 64). */
  views: number;
  /** Image width and height in pixels (default 128). */
  size: number;
  seed: number;
}

export const SCENE_DEFAULTS: SceneOptions = { views: 64, size: 128, seed: 0 };

/** Depth PNG: value = round(depth * DEPTH_PNG_SCALE), so 1 unit = 1000 steps, up to 65.535 units. */
export const DEPTH_PNG_SCALE = 1000;

/** An object seen only in part in a view, with its share of its silhouette that is visible. */
export interface Occlusion {
  view: string;
  object: number;
  name: string;
  silhouette: number;
  visible: number;
}

export interface SceneDataset {
  /** Relative path -> bytes, in a fixed order. */
  files: Array<{ path: string; bytes: Uint8Array }>;
  layout: SceneLayout;
  views: SceneView[];
  renders: ViewRender[];
  /** Partial occlusions by another object (at least one is guaranteed). */
  occlusions: Occlusion[];
  /** Layouts tried before one showed a partial occlusion. */
  attempts: number;
  renderMs: number;
}

/** At least this share of the silhouette must be hidden, and at least this share visible, to count as partial. */
const PARTIAL = 0.1;
const MAX_ATTEMPTS = 20;

export function buildSceneDataset(options: Partial<SceneOptions> = {}): SceneDataset {
  const { views: count, size, seed } = { ...SCENE_DEFAULTS, ...options };
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`views must be a positive integer, got ${count}`);
  if (!Number.isInteger(size) || size < 8) throw new RangeError(`size must be an integer of at least 8, got ${size}`);
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  const views = sceneViews(count, size, seed);
  const t0 = now();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const layout = layoutScene(seed, attempt);
    const renders = views.map((v) => renderView(layout, v.camera));
    const occlusions = findOcclusions(layout, views, renders);
    if (occlusions.length === 0) continue;
    const renderMs = now() - t0;
    return { files: encodeFiles(layout, views, renders, occlusions, { views: count, size, seed }), layout, views, renders, occlusions, attempts: attempt + 1, renderMs };
  }
  throw new Error(`no layout of seed ${seed} shows one object partly hiding another in ${count} views of ${size}x${size}; use more views or a larger size`);
}

export function findOcclusions(layout: SceneLayout, views: SceneView[], renders: ViewRender[]): Occlusion[] {
  const found: Occlusion[] = [];
  renders.forEach((r, v) => {
    for (const o of layout.objects) {
      const s = r.silhouette[o.id]!, vis = r.visible[o.id]!;
      if (s >= 16 && vis >= PARTIAL * s && s - vis >= PARTIAL * s) found.push({ view: views[v]!.name, object: o.id, name: o.name, silhouette: s, visible: vis });
    }
  });
  return found;
}

function encodeFiles(layout: SceneLayout, views: SceneView[], renders: ViewRender[], occlusions: Occlusion[], options: SceneOptions): SceneDataset['files'] {
  const files: SceneDataset['files'] = [];
  const text = (path: string, value: unknown) => files.push({ path, bytes: new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n') });
  const frames: Record<string, unknown[]> = { train: [], test: [] };
  views.forEach((view, i) => {
    const r = renders[i]!;
    const { width, height } = r;
    const depth16 = new Uint16Array(width * height);
    for (let p = 0; p < depth16.length; p++) depth16[p] = Math.min(65535, Math.round(r.depth[p]! * DEPTH_PNG_SCALE));
    const ids = new Uint8Array(width * height);
    for (let p = 0; p < ids.length; p++) ids[p] = r.instances[p]!;
    files.push({ path: `${view.name}.png`, bytes: encodeRawPng({ width, height, channels: 4, data: r.rgba }) });
    files.push({ path: `${view.name}_depth.npy`, bytes: writeNpy(r.depth, [height, width]) });
    files.push({ path: `${view.name}_depth.png`, bytes: encodeRawPng({ width, height, channels: 1, data: depth16 }) });
    files.push({ path: `${view.name}_instances.png`, bytes: encodeRawPng({ width, height, channels: 1, data: ids }) });
    const m = view.camera.cameraToWorld;
    frames[view.split]!.push({
      file_path: `./${view.name}`,
      transform_matrix: [0, 1, 2, 3].map((row) => m.slice(row * 4, row * 4 + 4)),
      depth_file_path: `./${view.name}_depth.npy`,
      instances_file_path: `./${view.name}_instances.png`,
    });
  });
  for (const split of ['train', 'test'] as const) if (frames[split]!.length) text(`transforms_${split}.json`, { camera_angle_x: RIG.cameraAngleX, frames: frames[split] });
  text('scene.json', describeScene(layout, views, occlusions, options));
  return files;
}

/** scene.json: what was generated, in plain numbers. */
export function describeScene(layout: SceneLayout, views: SceneView[], occlusions: Occlusion[], options: SceneOptions) {
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    generator: 'samnerf scene',
    version: 1,
    ...options,
    layoutAttempt: layout.attempt,
    units: 'world units; +Z up; cameras in the OpenGL convention (docs/cameras.md)',
    objects: layout.objects.map((o) => ({
      id: o.id,
      name: o.name,
      shape: o.shape.kind,
      colour: o.colour,
      texture: o.texture.kind,
      centre: o.centre.map(round),
      /** Bounding-box size before the rotation about Z. */
      size: halfExtents(o.shape).map((h) => round(2 * h)),
      rotationZ: round(o.rotation),
      params: Object.fromEntries(Object.entries(o.shape).filter(([k]) => k !== 'kind').map(([k, v]) => [k, Array.isArray(v) ? v.map(round) : round(v as number)])),
    })),
    ground: { id: 0, shape: 'square', centre: [0, 0, 0], size: [2 * layout.ground.halfSize, 2 * layout.ground.halfSize, 0], texture: layout.ground.texture.kind },
    light: { direction: layout.light.map(round), ambient: layout.ambient, shading: 'Lambert with hard shadows' },
    cameras: { count: views.length, radius: RIG.radius, target: RIG.target, cameraAngleX: RIG.cameraAngleX, elevationDeg: [RIG.minElevationDeg, RIG.maxElevationDeg], testEvery: TEST_EVERY },
    files: {
      image: '<split>/r_<k>.png: 8-bit RGBA, alpha 0 where no surface',
      depthNpy: '<split>/r_<k>_depth.npy: float32 [H, W], planar depth along the camera -Z axis, 0 = no surface',
      depthPng: `<split>/r_<k>_depth.png: 16-bit gray, depth = value / ${DEPTH_PNG_SCALE}, 0 = no surface`,
      instances: '<split>/r_<k>_instances.png: 8-bit gray, object id, 0 = ground or background',
    },
    occlusions: occlusions.map((o) => ({ ...o, visibleFraction: round(o.visible / o.silhouette) })),
  };
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
