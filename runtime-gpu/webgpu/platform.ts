// Where the WebGPU runtime gets its GPU, platform-neutral. In a browser or
// worker the default is navigator.gpu. Node has no navigator.gpu: a Node
// host installs the Dawn adapter with registerWebGpuNode()
// (runtime-gpu/webgpu/node/index.ts), which the tests, the benches and the
// CLI host call.

import { acquireGpu, type AcquireOptions, type GpuContext } from './device';

export type GpuProvider = (options: AcquireOptions) => Promise<GpuContext>;

let provider: GpuProvider | undefined;

export function setWebGpuProvider(p: GpuProvider | undefined): void {
  provider = p;
}

/** A GpuContext from the registered provider, else from navigator.gpu; throws GpuUnavailableError naming what is missing. */
export function acquireWebGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  if (provider) return provider(options);
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const inNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  return acquireGpu(nav?.gpu, {
    ...options,
    source: inNode ? 'this Node host' : 'navigator.gpu',
    noAdapterHint: inNode
      ? 'this Node host did not install the WebGPU adapter (it must call registerWebGpuNode() from runtime-gpu/webgpu/node); or use device cpu'
      : options.noAdapterHint,
  });
}
