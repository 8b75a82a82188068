// WebGPU device acquisition, platform-neutral: takes a `GPU` object
// (`navigator.gpu` in a browser or worker, the Node `webgpu` package's
// `create([])` result supplied by node/gpu.ts) and returns a `GpuContext`
// holding the device, what the adapter is, and the limits the kernels need.
// No DOM or Node imports here: the same file runs in both environments.

export class GpuUnavailableError extends Error {
  constructor(message: string, readonly hint: string) {
    super(`${message}; ${hint}`);
    this.name = 'GpuUnavailableError';
  }
}

export interface GpuAdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (SwiftShader, lavapipe, WARP): correct but slow. */
  software: boolean;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: GpuAdapterDescription;
  /** Keeps the platform's GPU object alive (Dawn in Node stops when it is collected). */
  readonly gpu: GPU;
  /** Rejects with the first uncaptured device error, if any (validation, out of memory, device lost). */
  readonly lost: Promise<string>;
  destroy(): void;
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Where the GPU object came from, for error messages ('navigator.gpu', 'the Node webgpu package'). */
  source?: string;
  /** Extra text for the no-adapter error (the Node adapter says how to get a Vulkan driver). */
  noAdapterHint?: string;
  /** Refuse software adapters (for `auto` device selection). */
  requireHardware?: boolean;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|warp|basic render/i;

export function describeAdapter(info: GPUAdapterInfo | undefined, isFallback = false): GpuAdapterDescription {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  // isFallbackAdapter moved from GPUAdapter to GPUAdapterInfo in the spec; either marks a software adapter.
  const fallback = isFallback || !!(info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined)?.isFallbackAdapter;
  const software = fallback || SOFTWARE.test(`${vendor} ${architecture} ${device} ${description}`);
  return { vendor, architecture, device, description, software };
}

export function adapterName(a: GpuAdapterDescription): string {
  const parts = [a.vendor, a.architecture, a.description || a.device].filter((s) => s);
  return `${parts.join(' ') || 'unknown adapter'}${a.software ? ' (software)' : ''}`;
}

/** Requests an adapter and a device with the largest storage limits the adapter allows. */
export async function acquireGpu(gpu: GPU | undefined | null, options: AcquireOptions = {}): Promise<GpuContext> {
  const source = options.source ?? 'navigator.gpu';
  if (!gpu) {
    throw new GpuUnavailableError(`WebGPU is not available (${source} is missing)`,
      options.noAdapterHint ?? 'use a browser with WebGPU enabled (Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu), or device cpu');
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new GpuUnavailableError(`no WebGPU adapter found through ${source}`,
      options.noAdapterHint ?? 'the browser exposes WebGPU but no usable GPU (check chrome://gpu), or use device cpu');
  }
  const isFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const description = describeAdapter(adapter.info, isFallback);
  if (options.requireHardware && description.software) {
    throw new GpuUnavailableError(`the only WebGPU adapter is a software one (${adapterName(description)})`, 'it is slower than the CPU path; use device cpu or a machine with a GPU');
  }
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    label: 'samnerf',
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  let reportLost: (why: string) => void = () => {};
  const lost = new Promise<string>((_, reject) => {
    reportLost = (why) => reject(new Error(why));
  });
  lost.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  device.addEventListener('uncapturederror', (e) => reportLost(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
  void device.lost.then((info) => {
    if (info.reason !== 'destroyed') reportLost(`WebGPU device lost: ${info.message}`);
  });
  return {
    device,
    adapter: description,
    gpu,
    lost,
    destroy: () => device.destroy(),
  };
}
