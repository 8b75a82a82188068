// Test and benchmark fixtures for distillation: the generated scene as a
// ViewsValue in memory (RGB over white, alpha, depth, instance ids), and a
// radiance field whose density is the scene's exact geometry (so tests of
// the distillation do not wait for a NeRF to train; bench/distill.ts also
// runs on a trained NeRF).

import type { RadianceFieldConfig, RadianceFieldValue, View, ViewsValue } from '../../engine/values';
import { buildSceneDataset, sdf, type SceneLayout } from '../../nodes/scene';
import { paramLayout } from '../../runtime-gpu/nerf/config';

export interface GeneratedScene {
  views: ViewsValue;
  layout: SceneLayout;
}

export function generatedScene(options: { views: number; size: number; seed: number }): GeneratedScene {
  const ds = buildSceneDataset(options);
  const views: View[] = ds.views.map((sv, i) => {
    const r = ds.renders[i]!;
    const n = r.width * r.height;
    const rgb = new Uint8Array(3 * n), alpha = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      const a = r.rgba[4 * p + 3]!;
      alpha[p] = a;
      for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round((r.rgba[4 * p + c]! * a + 255 * (255 - a)) / 255);
    }
    return { name: sv.name, split: sv.split, camera: sv.camera, image: { kind: 'Image', width: r.width, height: r.height, data: rgb, name: sv.name }, alpha, depth: r.depth, instances: r.instances };
  });
  return {
    views: { kind: 'Views', views, bounds: { min: [-1.5, -1.5, -1.5], max: [1.5, 1.5, 1.5] }, near: 2, far: 6, sceneKind: 'object', source: `scene seed ${options.seed}`, format: 'blender' },
    layout: ds.layout,
  };
}

/** Signed distance to the scene (objects and the ground square, a 0.05-thick slab under z = 0). */
export function sceneSdf(layout: SceneLayout, x: number, y: number, z: number): number {
  const g = layout.ground.halfSize;
  let d = Math.max(z, -z - 0.05, Math.abs(x) - g, Math.abs(y) - g);
  for (const o of layout.objects) {
    const rx = x - o.centre[0], ry = y - o.centre[1];
    const c = Math.cos(o.rotation), s = Math.sin(o.rotation);
    d = Math.min(d, sdf(o.shape, c * rx + s * ry, -s * rx + c * ry, z - o.centre[2]));
  }
  return d;
}

/**
 * A RadianceFieldValue with the scene's geometry: one dense hash level of
 * `resolution` vertices per side holding log-density = clamp(-k sdf, -10, 7),
 * a density MLP that passes the first feature through (relu(e) - relu(-e)),
 * zero colour weights (grey). The occupancy grid marks cells near surfaces.
 */
export function sdfRadianceField(layout: SceneLayout, resolution = 96, sharpness = 400): RadianceFieldValue {
  const R = resolution;
  const halfSize = 1.5;
  const config: RadianceFieldConfig = {
    version: 1,
    hash: { levels: 1, featuresPerLevel: 2, log2TableSize: Math.ceil(Math.log2((R + 1) ** 3)), baseResolution: R, maxResolution: R },
    mlp: { densityHidden: 16, geoFeatures: 15, colorHidden: 16, colorLayers: 1, shDegree: 4 },
    scene: { mode: 'box', center: [0, 0, 0], halfSize },
    render: { near: 2, far: 6, marchSteps: 256, coneAngle: 0, minTransmittance: 1e-4, background: [1, 1, 1] },
    occupancy: { resolution: 32, decay: 0.95, minOpticalThickness: 0.01 },
  };
  const pl = paramLayout(config);
  const params = new Float32Array(pl.count);
  const level = pl.levels[0]!;
  if (!level.dense) throw new Error('sdfRadianceField: the level must be dense');
  const V = level.resolution;
  const toWorld = (i: number) => ((i - 0.5) / level.scale - 0.5) * 2 * halfSize;
  for (let k = 0; k < V; k++)
    for (let j = 0; j < V; j++)
      for (let i = 0; i < V; i++) {
        const d = sceneSdf(layout, toWorld(i), toWorld(j), toWorld(k));
        params[level.offset + 2 * (i + V * (j + V * k))] = Math.max(-10, Math.min(7, -sharpness * d));
      }
  params[pl.density1.offset + 0] = 1; // h0 = relu(e0)
  params[pl.density1.offset + pl.density1.cols] = -1; // h1 = relu(-e0)
  params[pl.density2.offset + 0] = 1;
  params[pl.density2.offset + 1] = -1; // log-density = h0 - h1 = e0
  const G = config.occupancy.resolution;
  const density = new Float32Array(G ** 3), occupied = new Uint8Array(G ** 3);
  const cell = (2 * halfSize) / G;
  for (let k = 0; k < G; k++)
    for (let j = 0; j < G; j++)
      for (let i = 0; i < G; i++) {
        const c = (q: number) => -halfSize + (q + 0.5) * cell;
        const d = sceneSdf(layout, c(i), c(j), c(k));
        const o = d < cell; // the cell's half diagonal is 0.87 cell
        occupied[i + G * (j + G * k)] = o ? 1 : 0;
        density[i + G * (j + G * k)] = o ? 100 : 0;
      }
  return {
    kind: 'RadianceField',
    config,
    params,
    occupancy: { resolution: G, density, occupied },
    bounds: { min: [-1.5, -1.5, -1.5], max: [1.5, 1.5, 1.5] },
    provenance: { steps: 0, seconds: 0, seed: 0, source: 'scene sdf' },
  };
}
