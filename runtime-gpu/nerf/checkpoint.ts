// Checkpoint files (".ckpt"): a radiance field, and optionally the training
// state needed to resume it exactly (Adam moments, step, RNG state).
//
// Layout (version 1), all little-endian:
//   0   8 bytes  magic "SNRFCKPT"
//   8   uint32   header length H (bytes)
//   12  H bytes  UTF-8 JSON header (below)
//   ..  zero padding to a multiple of 8
//   ..  data: raw buffers, each starting at a multiple of 8 from the data start
//
// Header: { format: "samnerf.field", version: 1, config, bounds, provenance,
//   buffers: [{ name, dtype: "float32" | "uint8", length, offset }],
//   training?: { step, seconds, adamStep, rngState, fingerprint, samplesPerRay } }
// Buffers: params (float32), occupancy_density (float32), occupancy_occupied
// (uint8), and when present hull (uint8), adam_m, adam_v (float32).

import type { RadianceFieldValue } from '../../engine/values';
import { paramLayout } from './config';

export const CHECKPOINT_MAGIC = 'SNRFCKPT';
export const CHECKPOINT_VERSION = 1;

export interface TrainingState {
  step: number;
  seconds: number;
  adamStep: number;
  rngState: number[];
  /** Fingerprint of the training views (see viewsFingerprint) and settings that must match to resume. */
  fingerprint: string;
  samplesPerRay: number;
  adamM: Float32Array;
  adamV: Float32Array;
}

export interface Checkpoint {
  field: RadianceFieldValue;
  hull?: Uint8Array;
  training?: TrainingState;
}

type BufferEntry = { name: string; dtype: 'float32' | 'uint8'; length: number; offset: number };

/** What a Nerf or GpuNerf starts from to continue a checkpoint's training (the same for both devices). */
export function resumeState(ckpt: Checkpoint) {
  const { field, training } = ckpt;
  return {
    params: field.params,
    occupancy: field.occupancy,
    adam: training && { m: training.adamM, v: training.adamV, step: training.adamStep },
    rngState: training?.rngState,
  };
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const { field, training } = ckpt;
  const arrays: Array<[string, Float32Array | Uint8Array]> = [
    ['params', field.params],
    ['occupancy_density', field.occupancy.density],
    ['occupancy_occupied', field.occupancy.occupied],
  ];
  if (ckpt.hull) arrays.push(['hull', ckpt.hull]);
  if (training) arrays.push(['adam_m', training.adamM], ['adam_v', training.adamV]);
  const buffers: BufferEntry[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    buffers.push({ name, dtype: a instanceof Float32Array ? 'float32' : 'uint8', length: a.length, offset });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const header = {
    format: 'samnerf.field',
    version: CHECKPOINT_VERSION,
    config: field.config,
    bounds: field.bounds,
    provenance: field.provenance,
    occupancyResolution: field.occupancy.resolution,
    buffers,
    training: training && {
      step: training.step,
      seconds: training.seconds,
      adamStep: training.adamStep,
      rngState: training.rngState,
      fingerprint: training.fingerprint,
      samplesPerRay: training.samplesPerRay,
    },
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((12 + json.length) / 8) * 8;
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  for (let i = 0; i < arrays.length; i++) {
    const a = arrays[i]![1];
    const at = dataStart + buffers[i]!.offset;
    if (a instanceof Uint8Array) out.set(a, at);
    else writeFloat32LE(out, at, a);
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, name = 'checkpoint'): Checkpoint {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC)
    throw new CheckpointError(`${name} is not a samnerf field checkpoint (no ${CHECKPOINT_MAGIC} magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new CheckpointError(`${name} is truncated (header of ${headerLength} bytes)`);
  let header: {
    format: string; version: number; config: RadianceFieldValue['config']; bounds: RadianceFieldValue['bounds'];
    provenance: RadianceFieldValue['provenance']; occupancyResolution: number; buffers: BufferEntry[];
    training?: Omit<TrainingState, 'adamM' | 'adamV'>;
  };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    throw new CheckpointError(`${name}: unreadable header (${(e as Error).message})`);
  }
  if (header.format !== 'samnerf.field') throw new CheckpointError(`${name}: format "${header.format}" is not samnerf.field`);
  if (header.version !== CHECKPOINT_VERSION)
    throw new CheckpointError(`${name}: checkpoint version ${header.version} is not supported (this samnerf reads version ${CHECKPOINT_VERSION})`);
  const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
  const get = (wanted: string, required: boolean) => {
    const b = header.buffers.find((x) => x.name === wanted);
    if (!b) {
      if (required) throw new CheckpointError(`${name}: buffer "${wanted}" is missing`);
      return undefined;
    }
    const size = b.dtype === 'float32' ? 4 * b.length : b.length;
    const at = dataStart + b.offset;
    if (at + size > bytes.length) throw new CheckpointError(`${name} is truncated (buffer ${wanted} ends at ${at + size} of ${bytes.length} bytes)`);
    return b.dtype === 'float32' ? readFloat32LE(bytes, at, b.length) : bytes.slice(at, at + size);
  };
  const params = get('params', true) as Float32Array;
  const expected = paramLayout(header.config).count;
  if (params.length !== expected) throw new CheckpointError(`${name}: ${params.length} parameters but its config needs ${expected}`);
  const field: RadianceFieldValue = {
    kind: 'RadianceField',
    config: header.config,
    params,
    occupancy: {
      resolution: header.occupancyResolution,
      density: get('occupancy_density', true) as Float32Array,
      occupied: get('occupancy_occupied', true) as Uint8Array,
    },
    bounds: header.bounds,
    provenance: header.provenance,
  };
  const hull = get('hull', false) as Uint8Array | undefined;
  const adamM = get('adam_m', false) as Float32Array | undefined;
  const adamV = get('adam_v', false) as Float32Array | undefined;
  const training = header.training && adamM && adamV ? { ...header.training, adamM, adamV } : undefined;
  return { field, hull, training };
}

function writeFloat32LE(out: Uint8Array, at: number, a: Float32Array): void {
  if (littleEndianHost()) out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
  else {
    const v = new DataView(out.buffer, out.byteOffset);
    for (let i = 0; i < a.length; i++) v.setFloat32(at + 4 * i, a[i]!, true);
  }
}

function readFloat32LE(bytes: Uint8Array, at: number, length: number): Float32Array {
  const out = new Float32Array(length);
  if (littleEndianHost()) new Uint8Array(out.buffer).set(bytes.subarray(at, at + 4 * length));
  else {
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    for (let i = 0; i < length; i++) out[i] = v.getFloat32(at + 4 * i, true);
  }
  return out;
}

let littleEndian: boolean | undefined;
function littleEndianHost(): boolean {
  littleEndian ??= new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return littleEndian;
}

/** FNV-1a over the training views' names, cameras and pixels: a checkpoint resumes only on the same data. */
export function viewsFingerprint(views: ReadonlyArray<{ name: string; camera: { width: number; height: number; fx: number; fy: number; cx: number; cy: number; cameraToWorld: readonly number[] }; image: { data: Uint8Array } }>): string {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h = Math.imul(h ^ (x & 0xff), 16777619);
    h = Math.imul(h ^ ((x >>> 8) & 0xff), 16777619);
    h = Math.imul(h ^ ((x >>> 16) & 0xff), 16777619);
    h = Math.imul(h ^ (x >>> 24), 16777619);
  };
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (const v of views) {
    for (let i = 0; i < v.name.length; i++) mix(v.name.charCodeAt(i));
    const c = v.camera;
    for (const x of [c.width, c.height, c.fx, c.fy, c.cx, c.cy, ...c.cameraToWorld]) {
      f[0] = x;
      mix(u[0]!);
    }
    const d = v.image.data;
    for (let i = 0; i + 4 <= d.length; i += 4) mix(d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24));
  }
  return (h >>> 0).toString(16).padStart(8, '0') + ':' + views.length;
}
