// ViewRenderer's device param: webgpu renders a (CPU-trained) field with the
// GPU kernels and writes the same frames and PSNRs as the CPU path; auto on
// a software adapter stays on the CPU and says so.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { defineNode, Executor, validateGraph, type EngineEvent, type GraphJson, type RadianceFieldValue } from '../../engine';
import { createNodeHost } from '../../cli/node-host';
import { createNodeRegistry } from '../../nodes';
import { configForScene, paramLayout } from '../../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../../runtime-gpu/nerf/dataset';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { trainNerf } from '../../runtime-gpu/nerf/trainer';
import { registerWebGpuNode } from '../../runtime-gpu/webgpu/node';
import { sphereScene } from '../nerf/sphere-scene';
import { testGpu } from './gpu-context';

const gpu = await testGpu();
const scene = sphereScene({ size: 24, train: 12, test: 2 });

async function trainedField(): Promise<RadianceFieldValue> {
  const config = configForScene({ ...scene, pixelFootprint: pixelFootprint(scene) }, { levels: 6, log2TableSize: 13 });
  const nerf = new Nerf(config, new CpuFieldEvaluator(config, paramLayout(config)), { seed: 2, raysPerBatch: 256 });
  nerf.setTrainingSet(trainingSet(viewsOf(scene, 'train')));
  await trainNerf(nerf, { steps: 60, maxSeconds: 0, learningRate: 3e-2 });
  return nerf.toValue(scene.bounds, { steps: 60, seconds: 0, seed: 2, source: 'sphere' });
}

async function render(field: RadianceFieldValue, device: string) {
  const Source = defineNode({
    type: 'TestField', version: 1, category: 'Test', description: 'a prepared field and views',
    inputs: {}, outputs: { field: { type: 'RadianceField', description: 'field' }, views: { type: 'Views', description: 'views' } }, params: {},
    run: () => ({ field, views: scene }),
  });
  const g: GraphJson = {
    format: 'samnerf.graph', version: 1,
    nodes: [{ id: 'src', type: 'TestField' }, { id: 'render', type: 'ViewRenderer', params: { split: 'test', device } }],
    edges: [{ from: 'src.field', to: 'render.field' }, { from: 'src.views', to: 'render.views' }],
  };
  const v = validateGraph(g, createNodeRegistry().register(Source));
  if (!v.compiled) throw new Error(JSON.stringify(v.errors));
  const out = mkdtempSync(join(tmpdir(), 'samnerf-gpu-render-'));
  const executor = new Executor({ host: await createNodeHost({ out, device: 'cpu' }) });
  const logs: string[] = [];
  executor.events.on((e: EngineEvent) => {
    if (e.type === 'node-log') logs.push(e.message);
  });
  const result = await executor.run(v.compiled);
  expect(result.status, JSON.stringify([...result.failures.values()].map((f) => f.message))).toBe('done');
  const report = JSON.parse(readFileSync(join(out, 'render', 'renders.json'), 'utf8')) as { frames: { name: string; psnr: number }[] };
  return { out, logs, report };
}

describe.skipIf(!!gpu.skip)('ViewRenderer device', () => {
  it('webgpu renders the same frames and PSNRs as the CPU; auto on a software adapter renders on the CPU', async () => {
    registerWebGpuNode({ softwareFallback: true });
    const field = await trainedField();
    const cpu = await render(field, 'cpu');
    const web = await render(field, 'webgpu');
    expect(web.logs.join('\n')).toMatch(/rendering 2 frames with WebGPU on .*swiftshader/i);
    expect(cpu.report.frames.map((f) => f.name)).toEqual(['test/v_0', 'test/v_1']);
    expect(cpu.report.frames[0]!.psnr).toBeGreaterThan(20);
    for (let i = 0; i < 2; i++) expect(Math.abs(web.report.frames[i]!.psnr - cpu.report.frames[i]!.psnr)).toBeLessThan(0.01);
    for (const kind of ['rgb', 'acc']) {
      const a = await sharp(join(cpu.out, 'render', kind, 'test', 'v_0.png')).raw().toBuffer();
      const b = await sharp(join(web.out, 'render', kind, 'test', 'v_0.png')).raw().toBuffer();
      let worst = 0;
      for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
      expect(worst, `${kind} PNGs differ by ${worst} levels`).toBeLessThanOrEqual(1);
    }
    const auto = await render(field, 'auto');
    expect(auto.logs.join('\n')).toMatch(/device auto: rendering on the CPU \(the only WebGPU adapter is a software one/);
  }, 180_000);
});
