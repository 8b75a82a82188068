// Scene geometry for locking: the depth (and accumulated opacity) seen by a
// camera, from one of two sources behind one small interface:
//   - 'field': a trained RadianceField rendered at the camera (expected
//     termination depth along -Z, accumulation);
//   - 'dataset': the ground-truth depth maps a dataset ships (the scene
//     generator's, for tests), available for the dataset's own views only.
// Everything downstream (lifting, the occlusion test, mask fusion, the
// renderer) sees only `SceneGeometry`.

import { NodeError } from '../../engine';
import type { Camera, RadianceFieldValue, View, ViewsValue } from '../../engine/values';

export type DepthSource = 'field' | 'dataset';

/** What a camera sees: planar depth along its -Z axis (0 = nothing) and accumulated opacity 0-1. */
export interface DepthRender {
  width: number;
  height: number;
  depth: Float32Array;
  accumulation: Float32Array;
  /** Linear 0-1 RGB, 3 per pixel, when the source renders colour (a field does; a dataset has its photos). */
  rgb?: Float32Array;
}

export interface SceneGeometry {
  readonly source: DepthSource;
  /** Whether cameras other than the dataset's views can be rendered (novel views). */
  readonly novelViews: boolean;
  /** `view` names a dataset view (the dataset source needs it); a novel camera passes none. */
  render(camera: Camera, view?: string, signal?: AbortSignal): Promise<DepthRender>;
}

/** Ground-truth depth of the dataset's views; accumulation 1 where a surface was recorded. */
export function datasetGeometry(views: ViewsValue): SceneGeometry {
  const byName = new Map<string, View>(views.views.map((v) => [v.name, v]));
  const cache = new Map<string, DepthRender>();
  return {
    source: 'dataset',
    novelViews: false,
    async render(camera, name) {
      const view = name === undefined ? undefined : byName.get(name);
      if (!view)
        throw new NodeError(`depth source "dataset" has depth only for the dataset's own views, not for ${name ? `"${name}"` : 'a novel camera'}`, {
          param: 'depthSource',
          fix: 'use depthSource "field" with a trained radiance field to render novel cameras',
        });
      let out = cache.get(view.name);
      if (!out) {
        const depth = view.depth;
        if (!depth)
          throw new NodeError(`view "${view.name}" has no ground-truth depth`, {
            param: 'depthSource',
            fix: 'use depthSource "field" (connect NeRFTrainer.field), or a dataset with depth maps such as one from `samnerf scene`',
          });
        if (camera.width !== view.camera.width || camera.height !== view.camera.height)
          throw new NodeError(`view "${view.name}" is ${view.camera.width}x${view.camera.height}, the camera asked for is ${camera.width}x${camera.height}`, { param: 'depthSource' });
        const accumulation = new Float32Array(depth.length);
        for (let i = 0; i < depth.length; i++) accumulation[i] = depth[i]! > 0 ? 1 : 0;
        const rgb = new Float32Array(depth.length * 3);
        const img = view.image.data;
        for (let i = 0; i < rgb.length; i++) rgb[i] = img[i]! / 255;
        out = { width: view.camera.width, height: view.camera.height, depth, accumulation, rgb };
        cache.set(view.name, out);
      }
      return out;
    },
  };
}

/**
 * Renders a trained radiance field. The NeRF code (runtime-gpu/nerf) is
 * loaded on first use, so graphs on dataset depth never pay for it.
 */
export function fieldGeometry(field: RadianceFieldValue): SceneGeometry {
  let renderer: Promise<(camera: Camera, signal?: AbortSignal) => Promise<DepthRender>> | undefined;
  return {
    source: 'field',
    novelViews: true,
    async render(camera, _name, signal) {
      renderer ??= import('./field-render').then((m) => m.fieldRenderer(field));
      return (await renderer)(camera, signal);
    },
  };
}

/**
 * Renders of a geometry shared by every node of a process that asks for the
 * same field (or views) and camera: a weak cache keyed by the value object,
 * so they go with the field. Lifting, the occlusion test, fusion and the
 * renderer all need the same depth maps.
 */
const shared = new WeakMap<object, Map<string, Promise<DepthRender>>>();

export function cachedGeometry(geometry: SceneGeometry, owner: object): SceneGeometry {
  let renders = shared.get(owner);
  if (!renders) shared.set(owner, (renders = new Map()));
  const table = renders;
  return {
    source: geometry.source,
    novelViews: geometry.novelViews,
    render(camera, view, signal) {
      const key = `${view ?? ''}|${camera.width}x${camera.height}|${camera.fx},${camera.fy},${camera.cx},${camera.cy}|${camera.cameraToWorld.join(',')}`;
      let pending = table.get(key);
      if (!pending) {
        pending = geometry.render(camera, view, signal);
        table.set(key, pending);
        pending.catch(() => table.delete(key));
      }
      return pending;
    },
  };
}

/** The geometry a node uses: the field when depthSource is 'field' (it must be connected), else the dataset's depth. */
export function chooseGeometry(source: DepthSource, views: ViewsValue, field: RadianceFieldValue | undefined): SceneGeometry {
  if (views.format === 'images')
    throw new NodeError('the views are a single unposed photo, not a posed multi-view dataset', {
      port: 'views',
      fix: 'load a dataset folder (NeRF Blender, nerfstudio or LLFF) in ImageLoader',
    });
  if (source === 'field') {
    if (!field)
      throw new NodeError('depthSource is "field" but no radiance field is connected', {
        port: 'field',
        fix: 'connect NeRFTrainer.field, or set depthSource to "dataset" for a dataset with depth maps (e.g. from `samnerf scene`)',
      });
    return cachedGeometry(fieldGeometry(field), field);
  }
  return cachedGeometry(datasetGeometry(views), views);
}
