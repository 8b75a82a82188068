// Which device renders the 3D view, following the device menu: cpu always
// the CPU field; webgpu the adapter or an error naming the menu; auto the
// adapter only when it is hardware. The GPU renderer is a stand-in here (the
// WebGPU kernels have their own tests in test/gpu); the CPU one is the real
// Nerf on a small untrained field.

import { describe, expect, it } from 'vitest';
import { configForScene, paramLayout } from '../../runtime-gpu/nerf/config';
import { CpuFieldEvaluator } from '../../runtime-gpu/nerf/field-cpu';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import type { GpuContext } from '../../runtime-gpu/webgpu/device';
import { GpuUnavailableError } from '../../runtime-gpu/webgpu/device';
import { orbitCamera, orbitFromViews } from '../../editor/orbit';
import { FieldRenderers, probeWebGpu } from '../../editor/worker/field-renderers';

const bounds = { min: [-1, -1, -1] as [number, number, number], max: [1, 1, 1] as [number, number, number] };
const config = configForScene({ bounds, near: 0.5, far: 6, sceneKind: 'object' }, { levels: 4, log2TableSize: 10, baseResolution: 4, maxResolution: 32, densityHidden: 16, colorHidden: 16 });
const field = new Nerf(config, new CpuFieldEvaluator(config, paramLayout(config)), { seed: 1 }).toValue(bounds, { steps: 0, seconds: 0, seed: 1, source: 'test' });

const context = (software: boolean) =>
  ({ adapter: { vendor: software ? 'google' : 'nvidia', architecture: '', device: '', description: software ? 'swiftshader' : 'h200', software } }) as unknown as GpuContext;

function renderers(acquire: () => Promise<GpuContext>) {
  const gpuFields: unknown[] = [];
  let disposed = 0;
  const r = new FieldRenderers({
    acquire,
    gpuRenderer: async (_ctx, f) => {
      gpuFields.push(f);
      return { render: async (camera) => ({ width: camera.width, height: camera.height, depth: new Float32Array(1), accumulation: new Float32Array(1) }), dispose: () => void disposed++ };
    },
  });
  return { r, gpuFields, disposed: () => disposed };
}

describe('FieldRenderers', () => {
  it('cpu renders the real field on the CPU, whatever the adapter', async () => {
    const { r, gpuFields } = renderers(async () => context(false));
    const entry = await r.renderer(field, 'cpu');
    expect(entry.device).toMatch(/^cpu · /);
    const cam = orbitCamera(orbitFromViews({ bounds, views: [] }), 12);
    const out = await entry.render(cam);
    expect([out.width, out.height, out.depth.length, out.rgb!.length]).toEqual([12, 12, 144, 432]);
    expect(gpuFields).toEqual([]);
  });

  it('webgpu without an adapter is an error naming the menu; auto falls back to the CPU saying why', async () => {
    const none = () => Promise.reject(new GpuUnavailableError('no WebGPU adapter found through navigator.gpu', 'use device cpu'));
    await expect(renderers(none).r.renderer(field, 'webgpu')).rejects.toThrow(/cannot render on webgpu: no WebGPU adapter found through navigator\.gpu; use device cpu; choose auto or cpu in the device menu/);
    expect((await renderers(none).r.renderer(field, 'auto')).device).toMatch(/^cpu \(no WebGPU: no WebGPU adapter found/);
  });

  it('auto uses a hardware adapter but not a software one; webgpu uses either; one GPU field at a time', async () => {
    const soft = renderers(async () => context(true));
    expect((await soft.r.renderer(field, 'auto')).device).toMatch(/^cpu \(auto: the WebGPU adapter google swiftshader \(software\) is software\)/);
    expect((await soft.r.renderer(field, 'webgpu')).device).toBe('webgpu (google swiftshader (software))');
    const hard = renderers(async () => context(false));
    expect((await hard.r.renderer(field, 'auto')).device).toBe('webgpu (nvidia h200)');
    await hard.r.renderer(field, 'webgpu');
    expect(hard.gpuFields).toHaveLength(1); // kept for the same field
    const other = { ...field };
    await hard.r.renderer(other, 'webgpu');
    expect(hard.gpuFields).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(hard.disposed()).toBe(1); // the previous field's GPU buffers released
  });

  it('probes the adapter for the menu: none with the reason, or its name and kind', async () => {
    expect(await probeWebGpu(undefined)).toEqual({ state: 'none', reason: expect.stringMatching(/navigator\.gpu is missing/) });
    expect(await probeWebGpu({ requestAdapter: async () => null } as unknown as GPU)).toEqual({ state: 'none', reason: expect.stringMatching(/gave no adapter/) });
    const adapter = { info: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device' } };
    expect(await probeWebGpu({ requestAdapter: async () => adapter } as unknown as GPU)).toEqual({ state: 'available', name: 'google swiftshader SwiftShader Device', software: true });
  });
});
