// FeatureFieldValue <-> bytes (a .snff checkpoint): the magic "SNFF", a
// format version, a JSON header (configs, provenance, the arrays' names,
// types, lengths and offsets), then the arrays, each 4-byte aligned,
// little-endian. The radiance field's geometry travels inside, so a
// checkpoint renders on its own. Platform-neutral (bytes in, bytes out).
//
// Format 2 adds the optional ClipSeg head (header key `clipseg`, arrays
// clipseg.params / clipseg.prior / clipseg.cls); a field without one is
// still written as format 1, so older builds read it. Both are read.

import type { ClipSegHeadValue, FeatureFieldValue } from '../../engine/values';
import { featureLayout, validateFeatureConfig } from './layout';

const MAGIC = 0x46464e53; // "SNFF" little-endian
const FORMAT = 1;
/** Written when the field has a ClipSeg head. */
const FORMAT_CLIPSEG = 2;

type ArrayEntry = { name: string; type: 'f32' | 'u8'; length: number; offset: number };

interface Header {
  config: FeatureFieldValue['config'];
  model: string;
  provenance: FeatureFieldValue['provenance'];
  geometry: Pick<FeatureFieldValue['geometry'], 'config' | 'bounds' | 'provenance'> & { occupancyResolution: number };
  arrays: ArrayEntry[];
  /** The view bank's settings and cameras (its arrays are viewBank.embeddings / viewBank.depth); absent = none. */
  viewBank?: Omit<NonNullable<FeatureFieldValue['viewBank']>, 'embeddings' | 'depth'>;
  /** The ClipSeg head without its arrays (clipseg.params, clipseg.prior, clipseg.cls); absent = none. */
  clipseg?: Omit<ClipSegHeadValue, 'params' | 'prior' | 'cls'> & { cameras: ClipSegHeadValue['cls']['cameras'] };
}

export function encodeFeatureCheckpoint(value: FeatureFieldValue): Uint8Array {
  const arrays: Array<[string, Float32Array | Uint8Array]> = [
    ['params', value.params],
    ['geometry.params', value.geometry.params],
    ['geometry.occupancy.density', value.geometry.occupancy.density],
    ['geometry.occupancy.occupied', value.geometry.occupancy.occupied],
  ];
  if (value.prior) arrays.push(['prior', value.prior]);
  if (value.padding) arrays.push(['padding.embedding', value.padding.embedding], ['padding.observed', value.padding.observed]);
  const bank = value.viewBank;
  if (bank) arrays.push(['viewBank.embeddings', bank.embeddings], ['viewBank.depth', bank.depth]);
  const clip = value.clipseg;
  if (clip) {
    arrays.push(['clipseg.params', clip.params], ['clipseg.cls', clip.cls.tokens]);
    if (clip.prior) arrays.push(['clipseg.prior', clip.prior]);
  }
  let offset = 0;
  const entries: ArrayEntry[] = arrays.map(([name, a]) => {
    const e: ArrayEntry = { name, type: a instanceof Float32Array ? 'f32' : 'u8', length: a.length, offset };
    offset += align4(a.byteLength);
    return e;
  });
  const g = value.geometry;
  const header: Header = {
    config: value.config,
    model: value.model,
    provenance: value.provenance,
    geometry: { config: g.config, bounds: g.bounds, provenance: g.provenance, occupancyResolution: g.occupancy.resolution },
    arrays: entries,
    ...(clip ? { clipseg: { config: clip.config, side: clip.side, inputSize: clip.inputSize, reduce: clip.reduce, layers: clip.layers, cut: clip.cut, model: clip.model, provenance: clip.provenance, cameras: clip.cls.cameras } } : {}),
    ...(bank ? { viewBank: { cameras: bank.cameras, sharpness: bank.sharpness, maxViews: bank.maxViews, depthTolerance: bank.depthTolerance, ...(bank.background ? { background: bank.background } : {}) } } : {}),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align4(12 + json.length);
  const bytes = new Uint8Array(start + offset);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, clip ? FORMAT_CLIPSEG : FORMAT, true);
  view.setUint32(8, json.length, true);
  bytes.set(json, 12);
  arrays.forEach(([, a], i) => {
    const at = start + entries[i]!.offset;
    if (a instanceof Float32Array) {
      const dv = new DataView(bytes.buffer, at, a.byteLength);
      for (let j = 0; j < a.length; j++) dv.setFloat32(4 * j, a[j]!, true);
    } else bytes.set(a, at);
  });
  return bytes;
}

export function decodeFeatureCheckpoint(bytes: Uint8Array): FeatureFieldValue {
  if (bytes.length < 12) throw new Error(`not a feature-field checkpoint: ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new Error('not a feature-field checkpoint (no SNFF magic)');
  const format = view.getUint32(4, true);
  if (format !== FORMAT && format !== FORMAT_CLIPSEG) throw new Error(`feature-field checkpoint format ${format} is not supported (this build reads ${FORMAT} and ${FORMAT_CLIPSEG})`);
  const jsonLength = view.getUint32(8, true);
  if (12 + jsonLength > bytes.length) throw new Error('feature-field checkpoint is truncated (header)');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jsonLength))) as Header;
  const start = align4(12 + jsonLength);
  const get = (name: string): Float32Array | Uint8Array | undefined => {
    const e = header.arrays.find((a) => a.name === name);
    if (!e) return undefined;
    const at = start + e.offset;
    const size = e.type === 'f32' ? 4 * e.length : e.length;
    if (at + size > bytes.length) throw new Error(`feature-field checkpoint is truncated (${name})`);
    if (e.type === 'u8') return bytes.slice(at, at + size);
    const out = new Float32Array(e.length);
    for (let j = 0; j < e.length; j++) out[j] = view.getFloat32(at + 4 * j, true);
    return out;
  };
  const need = <T>(name: string): T => {
    const a = get(name);
    if (!a) throw new Error(`feature-field checkpoint has no ${name}`);
    return a as T;
  };
  validateFeatureConfig(header.config);
  const params = need<Float32Array>('params');
  const expected = featureLayout(header.config).count;
  if (params.length !== expected) throw new Error(`feature-field checkpoint has ${params.length} parameters but its config needs ${expected}`);
  const emb = get('padding.embedding') as Float32Array | undefined;
  let clipseg: ClipSegHeadValue | null = null;
  if (header.clipseg) {
    const { cameras, ...h } = header.clipseg;
    validateFeatureConfig(h.config);
    const cp = need<Float32Array>('clipseg.params');
    const want = featureLayout(h.config).count;
    if (cp.length !== want) throw new Error(`feature-field checkpoint's ClipSeg head has ${cp.length} parameters but its config needs ${want}`);
    clipseg = { ...h, params: cp, prior: (get('clipseg.prior') as Float32Array | undefined) ?? null, cls: { cameras, tokens: need<Float32Array>('clipseg.cls') } };
  }
  const g = header.geometry;
  return {
    kind: 'FeatureField',
    config: header.config,
    params,
    geometry: {
      kind: 'RadianceField',
      config: g.config,
      params: need<Float32Array>('geometry.params'),
      occupancy: { resolution: g.occupancyResolution, density: need<Float32Array>('geometry.occupancy.density'), occupied: need<Uint8Array>('geometry.occupancy.occupied') },
      bounds: g.bounds,
      provenance: g.provenance,
    },
    padding: emb ? { embedding: emb, observed: need<Uint8Array>('padding.observed') } : null,
    prior: (get('prior') as Float32Array | undefined) ?? null,
    model: header.model,
    provenance: header.provenance,
    viewBank: header.viewBank ? { ...header.viewBank, embeddings: need<Float32Array>('viewBank.embeddings'), depth: need<Float32Array>('viewBank.depth') } : null,
    clipseg,
  };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
