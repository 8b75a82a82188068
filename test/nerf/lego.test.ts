// A short training run on the shared lego_200 scene (downscaled to 100 x 100
// for speed): the full pipeline on real data, with the test PSNR checked
// against what the run measured when it was written (25.3 dB).
import { describe, expect, it } from 'vitest';
import { registerOrtNode } from '../../runtime-gpu/backends/ort-node';
import { configForScene, paramLayout } from '../../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../../runtime-gpu/nerf/dataset';
import { createFieldEvaluator } from '../../runtime-gpu/nerf/evaluators';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { registerNerfNode } from '../../runtime-gpu/nerf/node';
import { evaluateViews, trainNerf } from '../../runtime-gpu/nerf/trainer';
import { HAS_SHARED, needsShared, sharedPath } from '../helpers/shared';
import { loadBlender } from './blender';

describe.skipIf(!HAS_SHARED)(needsShared('NeRF on lego_200'), () => {
  it('150 steps on lego_200 at 100 x 100 reach a test PSNR above 23 dB', async () => {
    registerOrtNode();
    registerNerfNode();
    const views = await loadBlender(sharedPath('data/lego_200'), { every: { train: 2, test: 50 }, downscale: 2 });
    const train = viewsOf(views, 'train'), test = viewsOf(views, 'test');
    expect(train.length).toBe(50);
    expect(test.length).toBe(4);
    const config = configForScene({ ...views, pixelFootprint: pixelFootprint(views) });
    expect(config.render.background).toEqual([1, 1, 1]);
    const { evaluator } = await createFieldEvaluator(config, paramLayout(config));
    const nerf = new Nerf(config, evaluator, { seed: 0, raysPerBatch: 1024 });
    nerf.setTrainingSet(trainingSet(train));
    // The visual hull leaves a small part of the box to march.
    expect(nerf.grid.occupiedCount / nerf.grid.cells).toBeLessThan(0.15);
    const summary = await trainNerf(nerf, { steps: 150, maxSeconds: 0, learningRate: 2e-2 });
    const result = await evaluateViews(nerf, test);
    expect(summary.steps).toBe(150);
    console.log(`lego_200 at 100 px, 150 steps: test PSNR ${result.psnr.toFixed(2)} dB`);
    expect(result.psnr).toBeGreaterThan(23);
  }, 60_000);
});
