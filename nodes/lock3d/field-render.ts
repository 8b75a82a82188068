// The radiance-field adapter of SceneGeometry: the CPU reference NeRF
// (runtime-gpu/nerf) rebuilt from the field's plain value and rendered at a
// camera. Depth is the expected termination depth along the camera's -Z axis
// (0 where nothing was hit), accumulation the summed opacity.

import type { Camera, RadianceFieldValue } from '../../engine/values';
import { paramLayout } from '../../runtime-gpu/nerf/config';
import { createCpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import type { DepthRender } from './geometry';

export function fieldRenderer(field: RadianceFieldValue): (camera: Camera, signal?: AbortSignal) => Promise<DepthRender> {
  const config = field.config;
  const nerf = new Nerf(config, createCpuFieldEvaluator(config, paramLayout(config)), { seed: field.provenance.seed }, {
    params: field.params,
    occupancy: { density: field.occupancy.density, occupied: field.occupancy.occupied },
  });
  // One render at a time: the Nerf object owns one ray batch.
  let queue: Promise<unknown> = Promise.resolve();
  return (camera, signal) => {
    const run = queue.then(async () => {
      const out = await nerf.renderCamera(camera, { signal });
      return { width: out.width, height: out.height, depth: out.depth, accumulation: out.accumulation, rgb: out.rgb } satisfies DepthRender;
    });
    queue = run.catch(() => undefined);
    return run;
  };
}
