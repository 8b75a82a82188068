// The radiance-field adapter of SceneGeometry: the NeRF (runtime-gpu/nerf)
// rebuilt from the field's plain value, as ViewRenderer does, and rendered at
// a camera. Depth is the expected termination depth along the camera's -Z
// axis (0 where nothing was hit), accumulation the summed opacity.

import type { Camera, RadianceFieldValue } from '../../engine/values';
import { paramLayout } from '../../runtime-gpu/nerf/config';
import { createFieldEvaluator } from '../../runtime-gpu/nerf/evaluators';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import type { DepthRender } from './geometry';

export async function fieldRenderer(field: RadianceFieldValue): Promise<(camera: Camera, signal?: AbortSignal) => Promise<DepthRender>> {
  const { evaluator } = await createFieldEvaluator(field.config, paramLayout(field.config), 'auto', 'cpu');
  const nerf = Nerf.fromValue(field, evaluator);
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
