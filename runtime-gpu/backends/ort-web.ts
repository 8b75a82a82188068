// onnxruntime-web backend for the browser worker: WebGPU when the browser
// hands out an adapter, else WebAssembly on the CPU. Platform-neutral.

import * as ort from 'onnxruntime-web';
import { registerBackend } from '../backend';
import type { Availability, Device, InferenceBackend } from '../backend';
import { createOrtBackend } from './ort-session';

const DEVICES: readonly Device[] = ['webgpu', 'wasm'];

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

async function checkDevice(device: Device): Promise<Availability> {
  if (device === 'wasm') {
    return typeof WebAssembly === 'object'
      ? { ok: true }
      : { ok: false, reason: 'WebAssembly is not available in this environment', fix: 'use a current browser' };
  }
  if (device !== 'webgpu') {
    return { ok: false, reason: `onnxruntime-web does not drive '${device}'`, fix: `use one of ${DEVICES.join(', ')}` };
  }
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) {
    return {
      ok: false,
      reason: 'this browser exposes no WebGPU (navigator.gpu is missing)',
      fix: 'use a WebGPU browser (Chrome/Edge 113+, Safari 26+, Firefox 141+ on Windows) over https or localhost, or choose wasm',
    };
  }
  try {
    if (await gpu.requestAdapter()) return { ok: true };
  } catch {
    // fall through: same answer as a null adapter
  }
  return {
    ok: false,
    reason: 'WebGPU is present but gave no adapter (GPU blocklisted or disabled)',
    fix: 'update the GPU driver or enable WebGPU in the browser settings, or choose wasm',
  };
}

export function createOrtWebBackend(): InferenceBackend {
  // A string is fetched as a URL by onnxruntime-web, not read as a path.
  return createOrtBackend({ name: 'onnxruntime-web', devices: DEVICES, acceptsModelPath: false, ort, checkDevice });
}

/** Register onnxruntime-web (default priority 50, below onnxruntime-node). */
export function registerOrtWeb(priority = 50): InferenceBackend {
  const backend = createOrtWebBackend();
  registerBackend(backend, priority);
  return backend;
}
