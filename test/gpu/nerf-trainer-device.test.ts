// NeRFTrainer's device param: webgpu without an adapter fails with the
// reason and the fix; auto falls back to the CPU and says why (no adapter,
// or only a software one); webgpu on SwiftShader trains and writes the same
// outputs as the CPU path, and its checkpoint resumes on either device.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineNode, Executor, validateGraph, type EngineEvent, type GraphJson, type ViewsValue } from '../../engine';
import { createNodeHost } from '../../cli/node-host';
import { createNodeRegistry } from '../../nodes';
import { decodeCheckpoint } from '../../runtime-gpu/nerf/checkpoint';
import { setWebGpuProvider } from '../../runtime-gpu/webgpu/platform';
import { registerWebGpuNode } from '../../runtime-gpu/webgpu/node';
import { sphereScene } from '../nerf/sphere-scene';
import { testGpu } from './gpu-context';

const gpu = await testGpu();
const scene = sphereScene({ size: 24, train: 12, test: 2 });

function registry(views: ViewsValue) {
  const Scene = defineNode({
    type: 'TestViews', version: 1, category: 'Test', description: 'a prepared Views value',
    inputs: {}, outputs: { views: { type: 'Views', description: 'the views' } }, params: {},
    run: () => ({ views }),
  });
  return createNodeRegistry().register(Scene);
}

async function train(device: string, withoutProvider = false, extra: Record<string, unknown> = {}) {
  const g: GraphJson = {
    format: 'samnerf.graph',
    version: 1,
    nodes: [
      { id: 'scene', type: 'TestViews' },
      { id: 'nerf', type: 'NeRFTrainer', params: { hashLevels: 4, log2TableSize: 12, raysPerBatch: 128, steps: 12, maxSeconds: 0, evalViews: 1, device, ...extra } },
    ],
    edges: [{ from: 'scene.views', to: 'nerf.views' }],
  };
  const v = validateGraph(g, registry(scene));
  if (!v.compiled) throw new Error(JSON.stringify(v.errors));
  const out = mkdtempSync(join(tmpdir(), 'samnerf-gpu-node-'));
  const host = await createNodeHost({ out, device: 'cpu' });
  // The CLI host registers the Node WebGPU adapter; a host without one (a bare embedding) is simulated by removing it.
  if (withoutProvider) setWebGpuProvider(undefined);
  const executor = new Executor({ host });
  const logs: string[] = [];
  executor.events.on((e: EngineEvent) => {
    if (e.type === 'node-log') logs.push(e.message);
  });
  const result = await executor.run(v.compiled);
  return { result, logs, out };
}

describe('NeRFTrainer device selection', () => {
  it('webgpu without a WebGPU adapter in this host: a clear error naming the fix; auto trains on the CPU', async () => {
    const bad = await train('webgpu', true);
    expect(bad.result.status).not.toBe('done');
    expect(bad.result.failures.get('nerf')!.message).toMatch(/cannot train on webgpu: .*registerWebGpuNode.*set device to cpu or auto/s);
    const auto = await train('auto', true);
    expect(auto.result.status, JSON.stringify([...auto.result.failures.values()].map((f) => f.message))).toBe('done');
    expect(auto.logs.join('\n')).toMatch(/device auto: training on the CPU \(.*registerWebGpuNode/);
  }, 120_000);

  it("cuda: onnxruntime-node's CUDA provider, or an error naming how to install it (this machine has none)", async () => {
    const r = await train('cuda');
    const failure = r.result.failures.get('nerf');
    if (!failure) return; // a machine with the CUDA build of onnxruntime-node trains on it
    expect(failure.message).toMatch(/cannot train on cuda: .*(CUDA|cuda)/s);
    expect(failure.message).toMatch(/ONNXRUNTIME_NODE_INSTALL|Linux x64/);
    expect(failure.message).toMatch(/webgpu/);
  });

  describe.skipIf(!!gpu.skip)('with the Node adapter on SwiftShader', () => {
    it('auto stays on the CPU (a software adapter is slower) and says so', async () => {
      registerWebGpuNode({ softwareFallback: true });
      const auto = await train('auto');
      expect(auto.result.status).toBe('done');
      expect(auto.logs.join('\n')).toMatch(/device auto: training on the CPU \(the only WebGPU adapter is a software one/);
      const metrics = JSON.parse(readFileSync(join(auto.out, 'nerf', 'metrics.json'), 'utf8'));
      expect(metrics.evaluator).not.toMatch(/webgpu/);
    }, 120_000);

    it('webgpu trains on the adapter and writes metrics, renders and a field checkpoint', async () => {
      registerWebGpuNode({ softwareFallback: true });
      const r = await train('webgpu');
      expect(r.result.status, JSON.stringify([...r.result.failures.values()].map((f) => f.message))).toBe('done');
      expect(r.logs.join('\n')).toMatch(/WebGPU on .*swiftshader/i);
      const metrics = JSON.parse(readFileSync(join(r.out, 'nerf', 'metrics.json'), 'utf8'));
      expect(metrics.steps).toBe(12);
      expect(metrics.evaluator).toMatch(/^webgpu/);
      expect(metrics.psnr_test).toBeGreaterThan(10);
      expect(existsSync(join(r.out, 'nerf', 'renders', 'test', 'v_0.png'))).toBe(true);
      // The checkpoint holds the training state: webgpu resumes it, and so does the CPU.
      const ckptPath = join(r.out, 'nerf', 'field.ckpt');
      const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(ckptPath)));
      expect(ckpt.training).toMatchObject({ step: 12, adamStep: 12 });
      const more = await train('webgpu', false, { steps: 16, checkpoint: ckptPath });
      expect(more.result.status, JSON.stringify([...more.result.failures.values()].map((f) => f.message))).toBe('done');
      expect(more.logs.join('\n')).toMatch(/resuming from .*field\.ckpt at step 12/);
      expect(JSON.parse(readFileSync(join(more.out, 'nerf', 'metrics.json'), 'utf8')).steps).toBe(16);
      expect(decodeCheckpoint(new Uint8Array(readFileSync(join(more.out, 'nerf', 'field.ckpt')))).training).toMatchObject({ step: 16, adamStep: 16 });
      const onCpu = await train('cpu', false, { steps: 16, checkpoint: ckptPath });
      expect(onCpu.logs.join('\n')).toMatch(/resuming from .*field\.ckpt at step 12/);
      const cpuMetrics = JSON.parse(readFileSync(join(onCpu.out, 'nerf', 'metrics.json'), 'utf8'));
      expect(cpuMetrics.steps).toBe(16);
      // Same rays and state from step 12: the two devices' continuations score alike.
      const gpuMetrics = JSON.parse(readFileSync(join(more.out, 'nerf', 'metrics.json'), 'utf8'));
      expect(Math.abs(cpuMetrics.psnr_test - gpuMetrics.psnr_test)).toBeLessThan(0.5);
    }, 360_000);
  });
});
