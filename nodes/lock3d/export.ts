// File formats for 3D segmentation results, in pure TypeScript (fflate for
// deflate) so they are written the same under Node and in a browser worker:
// animated PNG (APNG) for the orbit preview, binary PLY point clouds, and
// uint8 .npy volumes for the mask grid.

import { zlibSync } from 'fflate';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out, 4, 8 + body.length));
  return out;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint32(4 * i, v));
  return out;
}

/** Deflated scanlines of an RGB frame, filter "Sub" on every row. */
function frameData(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const stride = width * 3;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1), r = y * stride;
    raw[o] = 1;
    for (let x = 0; x < stride; x++) raw[o + 1 + x] = (rgb[r + x]! - (x >= 3 ? rgb[r + x - 3]! : 0)) & 0xff;
  }
  return zlibSync(raw, { level: 6 });
}

/**
 * An animated PNG of RGB frames (all width x height), looping forever,
 * `delayMs` per frame. Viewers without APNG support show the first frame.
 */
export function encodeApng(frames: readonly Uint8Array[], width: number, height: number, delayMs: number): Uint8Array {
  if (frames.length === 0) throw new RangeError('encodeApng: no frames');
  for (const f of frames) if (f.length !== width * height * 3) throw new RangeError(`encodeApng: a frame has ${f.length} bytes, expected ${width * height * 3}`);
  const parts: Uint8Array[] = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  parts.push(chunk('IHDR', ihdr));
  parts.push(chunk('acTL', u32s(frames.length, 0)));
  let seq = 0;
  const delay = Math.max(1, Math.round(delayMs));
  frames.forEach((frame, i) => {
    const fctl = new Uint8Array(26);
    const dv = new DataView(fctl.buffer);
    dv.setUint32(0, seq++);
    dv.setUint32(4, width);
    dv.setUint32(8, height);
    dv.setUint32(12, 0);
    dv.setUint32(16, 0);
    dv.setUint16(20, delay);
    dv.setUint16(22, 1000);
    fctl[24] = 0; // dispose: none
    fctl[25] = 0; // blend: source
    parts.push(chunk('fcTL', fctl));
    const data = frameData(frame, width, height);
    if (i === 0) parts.push(chunk('IDAT', data));
    else {
      const body = new Uint8Array(4 + data.length);
      new DataView(body.buffer).setUint32(0, seq++);
      body.set(data, 4);
      parts.push(chunk('fdAT', body));
    }
  });
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface PointCloud {
  /** xyz per point. */
  positions: Float32Array;
  /** RGB 0-255 per point. */
  colors: Uint8Array;
  /** Object label per point (1-based; 0 = none). */
  labels: Uint8Array;
}

/** Binary little-endian PLY: float x, y, z; uchar red, green, blue, object. */
export function encodePly(cloud: PointCloud, comments: readonly string[] = []): Uint8Array {
  const n = cloud.labels.length;
  const header =
    'ply\nformat binary_little_endian 1.0\n' +
    comments.map((c) => `comment ${c.replace(/\n/g, ' ')}\n`).join('') +
    `element vertex ${n}\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar object\nend_header\n`;
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(head.length + n * 16);
  out.set(head);
  const dv = new DataView(out.buffer, head.length);
  for (let i = 0; i < n; i++) {
    const o = i * 16;
    dv.setFloat32(o, cloud.positions[3 * i]!, true);
    dv.setFloat32(o + 4, cloud.positions[3 * i + 1]!, true);
    dv.setFloat32(o + 8, cloud.positions[3 * i + 2]!, true);
    dv.setUint8(o + 12, cloud.colors[3 * i]!);
    dv.setUint8(o + 13, cloud.colors[3 * i + 1]!);
    dv.setUint8(o + 14, cloud.colors[3 * i + 2]!);
    dv.setUint8(o + 15, cloud.labels[i]!);
  }
  return out;
}

/** A version 1.0 .npy of uint8 in C order. */
export function encodeNpyUint8(data: Uint8Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`encodeNpyUint8: shape (${shape.join(', ')}) holds ${count} values, got ${data.length}`);
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.length === 1 ? `${shape[0]},` : shape.join(', ')}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(data, 10 + header.length);
  return out;
}
