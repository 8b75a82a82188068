// Shared by the onnxruntime-node and onnxruntime-web backends: both expose
// onnxruntime-common's InferenceSession and Tensor, so one wrapper converts
// TensorData <-> ort.Tensor and adds abort checks. Platform-neutral.

import type { InferenceSession as OrtSession, Tensor as OrtTensor, TensorConstructor } from 'onnxruntime-common';
import type { Availability, Device, InferenceBackend, InferenceSession, RunOptions, TensorMetadata } from '../backend';
import type { TensorData, TensorType } from '../tensor';

const SUPPORTED: ReadonlySet<string> = new Set<TensorType>(['float32', 'int64', 'int32', 'uint8', 'bool']);

export function toOrtTensor(Tensor: TensorConstructor, t: TensorData): OrtTensor {
  // ORT wants a mutable number[] for dims.
  return new Tensor(t.type, t.data, [...t.dims]);
}

export function fromOrtTensor(name: string, t: OrtTensor): TensorData {
  if (!SUPPORTED.has(t.type)) {
    throw new Error(`model output '${name}' has type ${t.type}, which samnerf does not handle (expected one of ${[...SUPPORTED].join(', ')})`);
  }
  // Output tensors from ORT live on the CPU here (no preferredOutputLocation is set).
  return { type: t.type as TensorType, data: t.data as TensorData['data'], dims: Object.freeze([...t.dims]) };
}

function metadataOf(list: readonly OrtSession.ValueMetadata[] | undefined): TensorMetadata[] | undefined {
  if (!list) return undefined;
  return list.map((m) => (m.isTensor ? { name: m.name, type: m.type, dims: [...m.shape] } : { name: m.name }));
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The inference was aborted', 'AbortError');
}

/** Wrap an onnxruntime-common session into samnerf's InferenceSession. */
export function wrapOrtSession(session: OrtSession, Tensor: TensorConstructor, device: Device): InferenceSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: metadataOf(session.inputMetadata),
    outputMetadata: metadataOf(session.outputMetadata),
    device,
    async run(feeds: Record<string, TensorData>, opts: RunOptions = {}) {
      const { signal } = opts;
      // ORT cannot interrupt a running kernel from JS; checking on both sides
      // at least stops a cancelled pipeline from starting or using a run.
      if (signal?.aborted) throw abortError(signal);
      const missing = session.inputNames.filter((n) => !(n in feeds));
      if (missing.length > 0) {
        throw new Error(`missing model inputs: ${missing.join(', ')} (model takes ${session.inputNames.join(', ')})`);
      }
      const ortFeeds: Record<string, OrtTensor> = {};
      for (const name of session.inputNames) ortFeeds[name] = toOrtTensor(Tensor, feeds[name]);
      const out = await session.run(ortFeeds);
      if (signal?.aborted) throw abortError(signal);
      const result: Record<string, TensorData> = {};
      for (const [name, value] of Object.entries(out)) result[name] = fromOrtTensor(name, value as OrtTensor);
      return result;
    },
    release: () => session.release(),
  };
}

/** What differs between onnxruntime-node and onnxruntime-web behind one InferenceBackend. */
export interface OrtFlavour {
  name: string;
  devices: readonly Device[];
  acceptsModelPath: boolean;
  /** The package's InferenceSession.create and Tensor (the same API in both). */
  ort: {
    InferenceSession: { create(model: string | Uint8Array, options: OrtSession.SessionOptions): Promise<OrtSession> };
    Tensor: TensorConstructor;
  };
  checkDevice(device: Device): Promise<Availability>;
}

/** An InferenceBackend over an onnxruntime package; availability is probed once per device (a GPU probe costs a driver start-up). */
export function createOrtBackend(flavour: OrtFlavour): InferenceBackend {
  const availability = new Map<Device, Promise<Availability>>();
  return {
    name: flavour.name,
    devices: flavour.devices,
    acceptsModelPath: flavour.acceptsModelPath,
    isAvailable(device) {
      let a = availability.get(device);
      if (!a) availability.set(device, (a = flavour.checkDevice(device)));
      return a;
    },
    async createSession(model, { device }) {
      if (!flavour.devices.includes(device)) throw new Error(`${flavour.name} cannot run on '${device}'`);
      const session = await flavour.ort.InferenceSession.create(model, { executionProviders: [device] });
      return wrapOrtSession(session, flavour.ort.Tensor, device);
    },
  };
}
