// Installs the Node WebGPU adapter (Dawn through the npm webgpu package) as
// the runtime's GPU provider. One GpuContext per process, created on first
// use and kept (Dawn's GPU object must stay referenced while in use).

import type { AcquireOptions, GpuContext } from '../device';
import { GpuUnavailableError } from '../device';
import { setWebGpuProvider } from '../platform';
import { acquireNodeGpu } from './gpu';

let shared: Promise<GpuContext & { loader: string }> | undefined;

export function registerWebGpuNode(defaults: { softwareFallback?: boolean } = {}): void {
  setWebGpuProvider(async (options: AcquireOptions) => {
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
