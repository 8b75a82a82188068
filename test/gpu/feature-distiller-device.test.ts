// FeatureDistiller's device param: webgpu trains the feature head with the
// WGSL kernels (runtime-gpu/webgpu/distill) and gives the same field as the
// CPU path from the same seed (within float rounding of the sums); webgpu
// without an adapter fails naming the param and the fix; auto without a
// hardware adapter trains on the CPU and says why.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureFieldValue } from '../../engine/values';
import { FeatureDistiller } from '../../nodes/feature-distiller';
import type { SamnerfHost } from '../../nodes/host';
import { resolveBackend, type InferenceSession } from '../../runtime-gpu/backend';
import { registerOrtNode } from '../../runtime-gpu/backends/ort-node';
import { setWebGpuProvider } from '../../runtime-gpu/webgpu/platform';
import { generatedScene, sdfRadianceField } from '../distill/scene';
import { fakeSamEncoder } from '../helpers/fake-sam-encoder';
import { testNodeContext } from '../helpers/node-context';
import { testGpu } from './gpu-context';

const gpu = await testGpu();
const scene = generatedScene({ views: 8, size: 48, seed: 4 });
const field = sdfRadianceField(scene.layout, 40);

let encoder: InferenceSession | undefined;
const host = {
  device: 'cpu',
  files: {},
  output: { write: async (node: string, rel: string) => `${node}/${rel}` },
  images: {},
  models: { session: async () => encoder! },
} as unknown as SamnerfHost;

const context = (logs: string[]) => testNodeContext(host, 'distill', logs);

const defaults = Object.fromEntries(Object.entries(FeatureDistiller.params).map(([k, s]) => [k, (s as { default: unknown }).default]));
const params = { ...defaults, steps: 40, patch: 2, aggregate: true, aggChannels: 8, hidden: 16, levels: 6, log2TableSize: 12, viewBank: false, cellsPerBatch: 32, save: false };

async function distil(device: string): Promise<{ value: FeatureFieldValue; logs: string[] }> {
  const logs: string[] = [];
  const out = await FeatureDistiller.run(context(logs), { field, views: scene.views }, { ...params, device });
  return { value: (out as { features: FeatureFieldValue }).features, logs };
}

describe.skipIf(!!gpu.skip)('FeatureDistiller device', () => {
  beforeAll(async () => {
    registerOrtNode();
    const { backend } = await resolveBackend('cpu');
    encoder = await backend.createSession(fakeSamEncoder(1.3), { device: 'cpu' });
  });
  afterAll(async () => {
    setWebGpuProvider(undefined);
    await encoder?.release();
  });

  it('webgpu trains the head on the device: the same field as the CPU from the same seed', async () => {
    setWebGpuProvider(async () => gpu.ctx!);
    const onGpu = await distil('webgpu');
    expect(onGpu.logs.join('\n')).toMatch(/feature head training on webgpu/);
    const onCpu = await distil('cpu');
    expect(onCpu.logs.join('\n')).not.toMatch(/webgpu/);
    const a = onGpu.value.params, b = onCpu.value.params;
    let num = 0, den = 0;
    for (let i = 0; i < a.length; i++) (num += (a[i]! - b[i]!) ** 2), (den += b[i]! ** 2);
    // 40 Adam steps: only the order of float sums differs (docs/gpu.md); a wrong kernel or a missed sync gives O(1).
    expect(Math.sqrt(num / den)).toBeLessThan(1e-3);
    expect(Math.abs(onGpu.value.provenance.finalLoss - onCpu.value.provenance.finalLoss)).toBeLessThan(1e-3 * onCpu.value.provenance.finalLoss);
    // Training moved the parameters (a field that never left the initialisation would also agree).
    const init = await FeatureDistiller.run(context([]), { field, views: scene.views }, { ...params, steps: 0, device: 'cpu' });
    const p0 = (init as { features: FeatureFieldValue }).features.params;
    let moved = 0;
    for (let i = 0; i < a.length; i++) moved = Math.max(moved, Math.abs(a[i]! - p0[i]!));
    expect(moved).toBeGreaterThan(1e-3);
  }, 240_000);

  it('webgpu without an adapter names the param and the fix; auto trains on the CPU and says why', async () => {
    setWebGpuProvider(async () => {
      throw new Error('no WebGPU adapter (test)');
    });
    await expect(distil('webgpu')).rejects.toMatchObject({ param: 'device', message: expect.stringMatching(/cannot train on webgpu: no WebGPU adapter/) });
    const auto = await distil('auto');
    expect(auto.logs.join('\n')).toMatch(/device auto: training on the CPU \(no WebGPU adapter/);
    expect(auto.value.params.length).toBeGreaterThan(0);
  }, 240_000);
});
