// onnxruntime-node backend (Node only): CPU always; CUDA when its provider
// libraries were installed with the package; WebGPU through the Dawn-based EP
// bundled in the prebuilt binaries (experimental upstream).

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { registerBackend } from '../backend';
import type { Availability, Device, InferenceBackend } from '../backend';
import { createOrtBackend } from './ort-session';

// Preference for 'auto': CUDA, then the CPU. onnxruntime-node's WebGPU EP is
// only used when asked for by name: it is experimental, and probing it on a
// machine without a Vulkan loader prints Dawn warnings on every run.
const DEVICES: readonly Device[] = ['cuda', 'cpu', 'webgpu'];

// A 67-byte ONNX model (opset 13, Identity: float[1] x -> y) used to find out
// whether an execution provider really initialises: ORT reports WebGPU and
// CUDA as "supported" whether or not a GPU, driver or CUDA runtime exists.
const PROBE_MODEL_BASE64 = 'CAg6OwoQCgF4EgF5IghJZGVudGl0eRIFcHJvYmVaDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgIQDQ==';

/** Folder holding onnxruntime_binding.node and, when installed, the CUDA provider libraries. */
function ortBinaryFolder(): string {
  const main = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

function firstLine(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  // ORT errors start with a C++ source location and the failed check; keep the sentence after them.
  const tail = / was false\. (.*)$/.exec(line);
  return (tail ? tail[1] : line.replace(/^.*?\.cc:\d+ /, '')).trim();
}

const CUDA_FIX =
  'reinstall onnxruntime-node with its CUDA 12 binaries, i.e. without ONNXRUNTIME_NODE_INSTALL=skip: ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` ' +
  '(or `npm install onnxruntime-node --onnxruntime-node-install=cuda12`), on a Linux x64 machine with ' +
  'an NVIDIA driver, CUDA 12 and cuDNN 9; the files come from the Microsoft.ML.OnnxRuntime.Gpu.Linux NuGet package. ' +
  'Or run with --device cpu';

async function probe(device: Device): Promise<Availability> {
  try {
    const session = await ort.InferenceSession.create(Buffer.from(PROBE_MODEL_BASE64, 'base64'), {
      executionProviders: [device],
      logSeverityLevel: 4, // the failure is reported through our message, not ORT's log
    });
    await session.release();
    return { ok: true };
  } catch (e) {
    const reason = firstLine(e);
    if (device === 'cuda') {
      return { ok: false, reason: `onnxruntime-node's CUDA provider failed to start (${reason})`, fix: CUDA_FIX };
    }
    return {
      ok: false,
      reason: `onnxruntime-node's WebGPU provider found no usable GPU adapter (${reason})`,
      fix:
        'run on a machine with a GPU and its Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver ' +
        '(on Linux the Vulkan loader libvulkan.so.1 too, e.g. `apt install libvulkan1`), or run with --device cpu',
    };
  }
}

async function checkDevice(device: Device): Promise<Availability> {
  if (device === 'cpu') return { ok: true };
  if (!DEVICES.includes(device)) {
    return { ok: false, reason: `onnxruntime-node does not drive '${device}'`, fix: `use one of ${DEVICES.join(', ')}` };
  }
  const listed = ort.listSupportedBackends().find((b) => b.name === device);
  if (!listed) {
    const where = `${process.platform}/${process.arch}`;
    return {
      ok: false,
      reason: `this onnxruntime-node ${ort.env.versions.node ?? ''} build for ${where} has no ${device} provider`,
      fix:
        device === 'cuda'
          ? 'prebuilt CUDA support exists only for Linux x64; run there, or use --device cpu'
          : 'prebuilt WebGPU support exists for Windows, macOS and Linux x64; use --device cpu here',
    };
  }
  if (device === 'cuda' && !listed.bundled) {
    // Not shipped in the npm tarball: the install script fetches it unless skipped.
    const lib = join(ortBinaryFolder(), 'libonnxruntime_providers_cuda.so');
    if (!existsSync(lib)) {
      return { ok: false, reason: `onnxruntime-node's CUDA provider is not installed (${lib} is missing)`, fix: CUDA_FIX };
    }
  }
  return probe(device);
}

export function createOrtNodeBackend(): InferenceBackend {
  return createOrtBackend({ name: 'onnxruntime-node', devices: DEVICES, acceptsModelPath: true, ort, checkDevice });
}

/** Register onnxruntime-node (default priority 100, above onnxruntime-web's 50). */
export function registerOrtNode(priority = 100): InferenceBackend {
  const backend = createOrtNodeBackend();
  registerBackend(backend, priority);
  return backend;
}
