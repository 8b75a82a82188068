// Worker entry: the engine, the nodes and onnxruntime-web live here, off the
// UI thread. The UI talks to it through comlink (see ./protocol.ts).

import * as Comlink from 'comlink';
import * as ort from 'onnxruntime-web';
import { resolveBackend } from '../../runtime-gpu/backend';
import { registerOrtWeb } from '../../runtime-gpu/backends/ort-web';
import { browserImageCodec } from '../../runtime-gpu/image/codec-browser';
import { createBrowserHost } from './browser-host';
import { EngineService } from './engine-service';
import { FieldRenderers, probeWebGpu } from './field-renderers';
import { acquireWebGpu } from '../../runtime-gpu/webgpu/platform';
import type { EngineApi, Remoteable, RunSummary, UiEvent } from './protocol';
import { createWorkerRegistry } from './worker-registry';

// The app serves onnxruntime-web's wasm files itself (see vite.config.ts);
// threads need cross-origin isolation, which the dev server and the preview
// server provide.
const appBase = new URL(import.meta.env.BASE_URL, self.location.origin).href;
ort.env.wasm.wasmPaths = new URL('ort/', appBase).href;
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
registerOrtWeb();

// Exposed at once, without top-level await: a message that arrives while a
// module worker is still evaluating can be lost. Calls wait for the registry.
const ready = createWorkerRegistry().then((registry) => new EngineService(
    registry,
    createBrowserHost(appBase, browserImageCodec),
    browserImageCodec,
    // The orbit view's CPU path runs the field's MLPs on onnxruntime-web's wasm (it has no 'cpu' device).
    new FieldRenderers({ acquire: (o) => acquireWebGpu(o), cpuDevice: 'wasm' }),
  ),
);

const api: Remoteable<EngineApi> = {
  describe: async () => (await ready).describe(),
  device: async () => {
    try {
      return (await resolveBackend('auto')).device;
    } catch (e) {
      return `none (${(e as Error).message})`;
    }
  },
  gpuAdapter: () => probeWebGpu((navigator as Navigator & { gpu?: GPU }).gpu),
  putFile: async (name, bytes) => (await ready).putFile(name, bytes),
  validate: async (graph) => (await ready).validate(graph),
  load: async (text) => (await ready).load(text),
  serialize: async (graph) => (await ready).serialize(graph),
  run: async (graph, onEvent: (event: UiEvent) => void, options): Promise<RunSummary> => (await ready).run(graph, onEvent, options),
  cancel: async () => (await ready).cancel(),
  outputs: async () => (await ready).outputs(),
  readOutput: async (node, path) => (await ready).readOutput(node, path),
  orbitInfo: async (node) => (await ready).orbitInfo(node),
  renderOrbit: async (node, orbit, size, mode) => {
    const frame = await (await ready).renderOrbit(node, orbit, size, mode);
    return Comlink.transfer(frame, [frame.rgba.buffer]);
  },
  liftOrbit: async (node, orbit, size, x, y, minAccumulation) => (await ready).liftOrbit(node, orbit, size, x, y, minAccumulation),
};

Comlink.expose(api);
