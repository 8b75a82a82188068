// One platform-neutral inference interface, with backends registered by
// priority (after onnxruntime's js/common): nodes ask for a device, or 'auto',
// and never import a runtime themselves, so the same node runs under the CLI
// (onnxruntime-node) and in the browser worker (onnxruntime-web).

import type { TensorData, TensorType } from './tensor';

export type Device = 'cpu' | 'cuda' | 'webgpu' | 'wasm';

export type Availability = { ok: true } | { ok: false; reason: string; fix: string };

export interface TensorMetadata {
  name: string;
  type?: TensorType | string;
  /** Fixed dims as numbers, symbolic ones as their names. */
  dims?: readonly (number | string)[];
}

export interface RunOptions {
  signal?: AbortSignal;
}

export interface InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly TensorMetadata[];
  readonly outputMetadata?: readonly TensorMetadata[];
  /** The device the session actually runs on. */
  readonly device: Device;
  run(feeds: Record<string, TensorData>, opts?: RunOptions): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

export interface CreateSessionOptions {
  device: Device;
}

export interface InferenceBackend {
  name: string;
  /** Devices this backend can drive, most preferred first. */
  devices: readonly Device[];
  /** Whether `createSession` accepts a model given as a string (a file path or URL). */
  acceptsModelPath: boolean;
  isAvailable(device: Device): Promise<Availability>;
  createSession(model: Uint8Array | string, opts: CreateSessionOptions): Promise<InferenceSession>;
}

/** An explicitly requested device cannot run here; the message says what is missing and how to get it. */
export class DeviceUnavailableError extends Error {
  override name = 'DeviceUnavailableError';
  constructor(
    readonly device: Device,
    readonly reason: string,
    readonly fix: string,
  ) {
    super(`device '${device}' is not available: ${reason}. To fix: ${fix}`);
  }
}

interface Registered {
  backend: InferenceBackend;
  priority: number;
}

// Sorted by priority, highest first; a later registration under the same name replaces the earlier.
let registered: Registered[] = [];

export function registerBackend(backend: InferenceBackend, priority: number): void {
  registered = registered.filter((r) => r.backend.name !== backend.name);
  registered.push({ backend, priority });
  registered.sort((a, b) => b.priority - a.priority);
}

/** Registered backends, highest priority first. */
export function listBackends(): readonly InferenceBackend[] {
  return registered.map((r) => r.backend);
}

/** Forget every backend (tests). */
export function clearBackends(): void {
  registered = [];
}

export interface ResolvedBackend {
  backend: InferenceBackend;
  device: Device;
}

/**
 * Pick the backend for a device. 'auto' walks backends by priority and each
 * backend's devices in its own preference order, and takes the first available.
 * An explicit device that no backend can run throws DeviceUnavailableError
 * rather than silently falling back: the user asked for it.
 */
export async function resolveBackend(device: Device | 'auto'): Promise<ResolvedBackend> {
  if (registered.length === 0) {
    throw new Error('no inference backend is registered: call registerOrtNode() (Node) or registerOrtWeb() (browser) first');
  }
  if (device === 'auto') {
    const refusals: string[] = [];
    for (const { backend } of registered) {
      for (const d of backend.devices) {
        const a = await backend.isAvailable(d);
        if (a.ok) return { backend, device: d };
        refusals.push(`${backend.name}/${d}: ${a.reason}`);
      }
    }
    throw new Error(`no device is available for inference:\n  ${refusals.join('\n  ')}`);
  }
  let firstRefusal: { reason: string; fix: string } | undefined;
  for (const { backend } of registered) {
    if (!backend.devices.includes(device)) continue;
    const a = await backend.isAvailable(device);
    if (a.ok) return { backend, device };
    firstRefusal ??= a;
  }
  if (firstRefusal) throw new DeviceUnavailableError(device, firstRefusal.reason, firstRefusal.fix);
  const known = [...new Set(registered.flatMap((r) => r.backend.devices))].join(', ');
  throw new DeviceUnavailableError(
    device,
    `no registered backend drives it (registered: ${registered.map((r) => r.backend.name).join(', ')}; devices: ${known})`,
    `register a backend that supports '${device}', or choose one of: ${known}`,
  );
}

// Session cache: loading a model costs seconds and hundreds of MB, so every
// caller asking for the same model on the same device shares one session.
// Promises are cached so concurrent first requests load once.
const sessions = new Map<string, Promise<InferenceSession>>();

/**
 * The session for `key` (a model id or content sha256) on `device`, loading it
 * with `loader` on first use. With 'auto' the key uses the device actually chosen.
 */
export async function getSession(
  key: string,
  loader: () => Promise<Uint8Array | string> | Uint8Array | string,
  device: Device | 'auto',
): Promise<InferenceSession> {
  const resolved = await resolveBackend(device);
  const cacheKey = `${key}@${resolved.device}`;
  const cached = sessions.get(cacheKey);
  if (cached) return cached;
  const created = (async () => {
    const model = await loader();
    if (typeof model === 'string' && !resolved.backend.acceptsModelPath) {
      throw new Error(`backend ${resolved.backend.name} cannot load a model from a path ('${model}'): give it the bytes`);
    }
    return resolved.backend.createSession(model, { device: resolved.device });
  })();
  sessions.set(cacheKey, created);
  // A failed load must not poison the cache: the next call retries.
  created.catch(() => {
    if (sessions.get(cacheKey) === created) sessions.delete(cacheKey);
  });
  return created;
}

/** Drop one cached session (e.g. a file that failed its signature check) and release it. */
export async function releaseSession(key: string, device: Device): Promise<void> {
  const cacheKey = `${key}@${device}`;
  const pending = sessions.get(cacheKey);
  sessions.delete(cacheKey);
  await (await pending?.catch(() => undefined))?.release();
}

/** Release every cached session (end of a run, tests, device change). */
export async function clearSessionCache(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.release()));
}
