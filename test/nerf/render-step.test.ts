// The rendering step (render.renderMarchSteps, docs/nerf.md): rendered images
// march twice as finely as training by default, which lowers the quadrature
// error of a trained field; and NeRFTrainer's budget rule for batch and
// table size (trainingSize).
import { describe, expect, it } from 'vitest';
import { registerOrtNode } from '../../runtime-gpu/backends/ort-node';
import { configForScene, paramLayout, trainingSize } from '../../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../../runtime-gpu/nerf/dataset';
import { createFieldEvaluator } from '../../runtime-gpu/nerf/evaluators';
import { marchStep } from '../../runtime-gpu/nerf/marcher';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { registerNerfNode } from '../../runtime-gpu/nerf/node';
import { trainNerf } from '../../runtime-gpu/nerf/trainer';
import { sphereScene } from './sphere-scene';

registerOrtNode();
registerNerfNode();

const scene = sphereScene({ size: 32 });

describe('rendering step', () => {
  it('new configs render with twice the training march steps; configs without the key render with the training step', () => {
    const config = configForScene({ ...scene, pixelFootprint: pixelFootprint(scene) }, { levels: 8, log2TableSize: 14 });
    expect(config.render.renderMarchSteps).toBe(2 * config.render.marchSteps);
    expect(marchStep(config, 'render')).toBeCloseTo(marchStep(config) / 2, 12);
    const { renderMarchSteps: _, ...old } = config.render;
    expect(marchStep({ ...config, render: old }, 'render')).toBe(marchStep(config));
  });

  it('a finer render step brings a trained field closer to its converged rendering (8x the steps)', async () => {
    const config = configForScene({ ...scene, pixelFootprint: pixelFootprint(scene) }, { levels: 8, log2TableSize: 14, marchSteps: 48 });
    const { evaluator } = await createFieldEvaluator(config, paramLayout(config));
    const nerf = new Nerf(config, evaluator, { seed: 3, raysPerBatch: 512 });
    nerf.setTrainingSet(trainingSet(viewsOf(scene, 'train')));
    await trainNerf(nerf, { steps: 150, maxSeconds: 0, learningRate: 0.02 });
    const camera = viewsOf(scene, 'test')[0]!.camera;
    const renderWith = async (factor: number) => {
      const c = structuredClone(config);
      c.render.renderMarchSteps = config.render.marchSteps * factor;
      const n = new Nerf(c, evaluator, { seed: 0 }, { params: nerf.params, occupancy: { density: nerf.grid.density, occupied: nerf.grid.occupied } });
      return (await n.renderCamera(camera)).rgb;
    };
    const converged = await renderWith(8);
    const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - converged[i]!) ** 2, 0) / a.length);
    const coarse = rms(await renderWith(1)), fine = rms(await renderWith(2));
    expect(coarse).toBeGreaterThan(0);
    expect(fine).toBeLessThan(0.75 * coarse);
    await evaluator.dispose?.();
  }, 60_000);
});

describe('trainingSize (NeRFTrainer raysPerBatch / log2TableSize at 0)', () => {
  it('small under 600 s and for step-limited runs, large from 600 s; explicit values win', () => {
    expect(trainingSize(120)).toEqual({ raysPerBatch: 2048, log2TableSize: 17 });
    expect(trainingSize(0)).toEqual({ raysPerBatch: 2048, log2TableSize: 17 });
    expect(trainingSize(599.9)).toEqual({ raysPerBatch: 2048, log2TableSize: 17 });
    expect(trainingSize(600)).toEqual({ raysPerBatch: 4096, log2TableSize: 19 });
    expect(trainingSize(900, { raysPerBatch: 1024 })).toEqual({ raysPerBatch: 1024, log2TableSize: 19 });
    expect(trainingSize(900, { raysPerBatch: 0, log2TableSize: 16 })).toEqual({ raysPerBatch: 4096, log2TableSize: 16 });
  });
});
