// ModelProvider for Node: model files from a path, an npm package or the
// cache folder (runtime-gpu/models/node-store), sessions from
// onnxruntime-node. Resolution (with its hash check) happens once per model
// and path per process; later requests reuse the session.

import { readFile } from 'node:fs/promises';
import type { ModelProvider, ModelRequest } from '../nodes/host';
import type { Device, InferenceSession } from '../runtime-gpu/backend';
import { openModelSession, resolveModel } from '../runtime-gpu/models/node-store';

export function createNodeModelProvider(device: Device | 'auto', cacheDir?: string): ModelProvider {
  const sessions = new Map<string, Promise<InferenceSession>>();
  const key = (r: ModelRequest) => `${r.id}\u0000${r.path ?? ''}`;
  return {
    session(request) {
      let pending = sessions.get(key(request));
      if (!pending) {
        // A user's own export (a path) has its own weights: its signature is checked, not a pinned hash.
        pending = openModelSession(request.id, { device, cacheDir, modelPath: request.path || undefined, verify: !request.path }).then((r) => r.session);
        sessions.set(key(request), pending);
        pending.catch(() => sessions.delete(key(request)));
      }
      return pending;
    },
    async file(request, role) {
      const model = await resolveModel(request.id, { cacheDir, modelPath: request.path || undefined, verify: !request.path });
      const path = model.files[role];
      if (!path) throw new Error(`model ${request.id} has no file with role "${role}" (it has: ${Object.keys(model.files).join(', ')})`);
      const bytes = await readFile(path);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
  };
}
