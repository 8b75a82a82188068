// Which device renders a radiance field for the orbit view, following the
// run's device choice (the toolbar's menu): webgpu = GpuNerf on the WebGPU
// adapter (an error naming what is missing when there is none), cpu = the
// CPU Nerf (onnxruntime-web when it takes the MLPs, else the TypeScript
// reference), auto = webgpu on a hardware adapter, else cpu. One renderer
// is kept per field value; a GPU one holds device buffers, so only the
// latest field keeps its GpuNerf.

import type { Camera, RadianceFieldValue } from '../../engine/values';
import type { DepthRender } from '../../nodes/lock3d/geometry';
import type { Device } from '../../runtime-gpu/backend';
import { paramLayout } from '../../runtime-gpu/nerf/config';
import { createFieldEvaluator, type CreatedEvaluator } from '../../runtime-gpu/nerf/evaluators';
import { Nerf } from '../../runtime-gpu/nerf/nerf';
import { adapterName, describeAdapter, type GpuContext } from '../../runtime-gpu/webgpu/device';
import type { CameraRenderer } from './orbit-render';

export type DeviceChoice = 'auto' | 'cpu' | 'webgpu';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'cpu', 'webgpu'];

/** The worker's WebGPU adapter as the device menu shows it. */
export type GpuAdapterState = { state: 'available'; name: string; software: boolean } | { state: 'none'; reason: string };

/** Asks `gpu` (navigator.gpu in the worker) for an adapter without creating a device. */
export async function probeWebGpu(gpu: GPU | undefined | null): Promise<GpuAdapterState> {
  if (!gpu) return { state: 'none', reason: 'navigator.gpu is missing in the worker (this browser has no WebGPU, or it is disabled)' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { state: 'none', reason: `requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { state: 'none', reason: 'navigator.gpu gave no adapter (no usable GPU; check chrome://gpu, or start Chromium with --enable-unsafe-webgpu)' };
  const isFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const d = describeAdapter(adapter.info, isFallback);
  return { state: 'available', name: adapterName(d).replace(/ \(software\)$/, ''), software: d.software };
}

export interface FieldRendererEntry {
  render: CameraRenderer;
  /** What renders, for the panel: "cpu (…)" or "webgpu (adapter)". */
  device: string;
}

export interface RendererDeps {
  acquire: (options: { requireHardware?: boolean }) => Promise<GpuContext>;
  /** The onnxruntime device for the MLPs on the CPU path: 'wasm' in a browser (onnxruntime-web), 'cpu' in Node. */
  cpuDevice?: Device;
  /** The GPU renderer of a field (GpuNerf.fromValue), loaded lazily so CPU-only use never compiles kernels. */
  gpuRenderer?: (ctx: GpuContext, field: RadianceFieldValue) => Promise<{ render: CameraRenderer; dispose(): void }>;
}

async function defaultGpuRenderer(ctx: GpuContext, field: RadianceFieldValue): Promise<{ render: CameraRenderer; dispose(): void }> {
  const { GpuNerf } = await import('../../runtime-gpu/webgpu/gpu-nerf');
  const nerf = await GpuNerf.fromValue(ctx, field);
  let queue: Promise<unknown> = Promise.resolve();
  return {
    render: (camera: Camera, signal?: AbortSignal) => {
      const run = queue.then(() => nerf.renderCamera(camera, { signal }));
      queue = run.catch(() => undefined);
      return run;
    },
    dispose: () => nerf.dispose(),
  };
}

/** Field configs whose CPU evaluators are kept (each holds onnxruntime sessions). */
const EVALUATORS_KEPT = 3;

export class FieldRenderers {
  private readonly cpu = new WeakMap<RadianceFieldValue, Promise<FieldRendererEntry>>();
  /** MLP evaluators by field config (JSON), least recently used first. */
  private readonly evaluators = new Map<string, Promise<CreatedEvaluator>>();
  private cpuQueue: Promise<unknown> = Promise.resolve();
  private gpu?: { field: RadianceFieldValue; entry: Promise<FieldRendererEntry & { dispose(): void }> };
  private ctx?: Promise<GpuContext>;

  constructor(private readonly deps: RendererDeps) {}

  async renderer(field: RadianceFieldValue, choice: DeviceChoice): Promise<FieldRendererEntry> {
    if (choice === 'cpu') return this.cpuRenderer(field, 'cpu');
    let ctx: GpuContext;
    try {
      ctx = await this.context();
    } catch (e) {
      if (choice === 'webgpu') throw new Error(`the orbit view cannot render on webgpu: ${(e as Error).message}; choose auto or cpu in the device menu`);
      return this.cpuRenderer(field, `cpu (no WebGPU: ${(e as Error).message.split(';')[0]})`);
    }
    if (choice === 'auto' && ctx.adapter.software) return this.cpuRenderer(field, `cpu (auto: the WebGPU adapter ${adapterName(ctx.adapter)} is software)`);
    return this.gpuRendererFor(ctx, field);
  }

  private context(): Promise<GpuContext> {
    this.ctx ??= this.deps.acquire({});
    this.ctx.catch(() => (this.ctx = undefined));
    return this.ctx;
  }

  private cpuRenderer(field: RadianceFieldValue, device: string): Promise<FieldRendererEntry> {
    let entry = this.cpu.get(field);
    if (!entry) {
      entry = this.makeCpuRenderer(field);
      this.cpu.set(field, entry);
      entry.catch(() => this.cpu.delete(field));
    }
    return entry.then((e) => ({ ...e, device: `${device} · ${e.device}` }));
  }

  /**
   * The CPU Nerf over onnxruntime (wasm in a browser) when it loads, else the
   * TypeScript reference; one CPU render at a time over all fields. The MLP
   * evaluator takes the parameters per call, so fields of one config share
   * it: a training node's snapshots (a new field value every few seconds)
   * never create onnxruntime sessions again.
   */
  private async makeCpuRenderer(field: RadianceFieldValue): Promise<FieldRendererEntry> {
    const { evaluator } = await this.evaluatorFor(field);
    const nerf = Nerf.fromValue(field, evaluator);
    const render = (camera: Camera, signal?: AbortSignal): Promise<DepthRender> => {
      const run = this.cpuQueue.then(() => nerf.renderCamera(camera, { signal }));
      this.cpuQueue = run.catch(() => undefined);
      return run;
    };
    return { render, device: evaluator.name };
  }

  private evaluatorFor(field: RadianceFieldValue): Promise<CreatedEvaluator> {
    const key = JSON.stringify(field.config);
    let entry = this.evaluators.get(key);
    if (entry) {
      // Most recently used last.
      this.evaluators.delete(key);
      this.evaluators.set(key, entry);
      return entry;
    }
    entry = createFieldEvaluator(field.config, paramLayout(field.config), 'auto', this.deps.cpuDevice ?? 'cpu');
    this.evaluators.set(key, entry);
    entry.catch(() => this.evaluators.delete(key));
    while (this.evaluators.size > EVALUATORS_KEPT) {
      const [oldKey, old] = this.evaluators.entries().next().value!;
      this.evaluators.delete(oldKey);
      // Released once the renders queued before it are done.
      const after = this.cpuQueue;
      void old.then((e) => after.then(() => e.evaluator.dispose?.()), () => undefined);
    }
    return entry;
  }

  private gpuRendererFor(ctx: GpuContext, field: RadianceFieldValue): Promise<FieldRendererEntry> {
    if (this.gpu?.field !== field) {
      const old = this.gpu;
      if (old) void old.entry.then((e) => e.dispose(), () => undefined);
      const make = this.deps.gpuRenderer ?? defaultGpuRenderer;
      const entry = make(ctx, field).then((r) => ({ ...r, device: `webgpu (${adapterName(ctx.adapter)})` }));
      this.gpu = { field, entry };
      entry.catch(() => {
        if (this.gpu?.entry === entry) this.gpu = undefined;
      });
    }
    return this.gpu!.entry;
  }
}
