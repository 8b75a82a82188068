// Installs the Node WebGPU adapter (Dawn through the npm webgpu package) as
// the runtime's GPU provider. One GpuContext per process, created on first
// use and kept (Dawn's GPU object must stay referenced while in use).

import type { AcquireOptions, GpuContext } from '../device';
import { GpuUnavailableError } from '../device';
import { setWebGpuProvider } from '../platform';
import { acquireNodeGpu, nvidiaVulkanLibrary, vulkanIcdFiles } from './gpu';

/**
 * Whether a hardware Vulkan driver could be found at all: a manifest in the
 * loader's folders or named by the environment, or NVIDIA's EGL library.
 * Without one, `auto` need not load Dawn (which prints Vulkan warnings to
 * stderr on every attempt) to learn that there is no GPU.
 */
function mayHaveVulkanDriver(): boolean {
  if (process.platform !== 'linux') return true;
  return Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) || vulkanIcdFiles().length > 0 || nvidiaVulkanLibrary() !== undefined;
}

let shared: Promise<GpuContext & { loader: string }> | undefined;

export function registerWebGpuNode(defaults: { softwareFallback?: boolean } = {}): void {
  setWebGpuProvider(async (options: AcquireOptions) => {
    if (options.requireHardware && !defaults.softwareFallback && !mayHaveVulkanDriver())
      throw new GpuUnavailableError('no Vulkan driver on this machine (no ICD manifest, no NVIDIA driver library)', 'install a GPU driver with Vulkan support, or use device cpu');
    shared ??= acquireNodeGpu({ ...defaults });
    let ctx: GpuContext & { loader: string };
    try {
      ctx = await shared;
    } catch (e) {
      shared = undefined;
      throw e;
    }
    if (options.requireHardware && ctx.adapter.software)
      throw new GpuUnavailableError(`the only WebGPU adapter is a software one (${ctx.adapter.description || ctx.adapter.device})`, 'it is slower than the CPU path; use device cpu or a machine with a GPU');
    return ctx;
  });
}
