// Animated PNG (APNG) encoder for 8-bit RGB frames of one size, on fflate's
// zlib: platform-neutral, so previews encode the same in Node and in the
// browser worker. Frames use PNG filter 1 (Sub) on every row, which keeps the
// encoder simple and compresses renders well. Viewers without APNG support
// show the first frame.

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

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setUint32(4 * i, x));
  return out;
}

/** zlib stream of the filtered scanlines (filter 1, Sub) of an RGB image. */
function compressRgb(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const stride = width * 3;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1), s = y * stride;
    raw[o] = 1;
    for (let x = 0; x < stride; x++) raw[o + 1 + x] = (rgb[s + x]! - (x >= 3 ? rgb[s + x - 3]! : 0)) & 0xff;
  }
  return zlibSync(raw, { level: 6 });
}

export interface ApngOptions {
  /** Milliseconds per frame. */
  frameMs?: number;
  /** 0 = loop forever. */
  loops?: number;
}

/** Encodes RGB frames (width*height*3 bytes each) as one APNG file. */
export function encodeApng(frames: readonly Uint8Array[], width: number, height: number, options: ApngOptions = {}): Uint8Array {
  if (frames.length === 0) throw new Error('an animated PNG needs at least one frame');
  for (const f of frames) if (f.length !== width * height * 3) throw new Error(`every frame must hold ${width * height * 3} RGB bytes, one has ${f.length}`);
  const delay = Math.max(1, Math.round(options.frameMs ?? 100));
  const parts: Uint8Array[] = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  parts.push(chunk('IHDR', ihdr));
  parts.push(chunk('acTL', u32s(frames.length, options.loops ?? 0)));
  let seq = 0;
  frames.forEach((frame, i) => {
    const fctl = new Uint8Array(26);
    const v = new DataView(fctl.buffer);
    v.setUint32(0, seq++);
    v.setUint32(4, width);
    v.setUint32(8, height);
    v.setUint32(12, 0);
    v.setUint32(16, 0);
    v.setUint16(20, delay);
    v.setUint16(22, 1000);
    fctl[24] = 0; // dispose: none
    fctl[25] = 0; // blend: source
    parts.push(chunk('fcTL', fctl));
    const data = compressRgb(frame, width, height);
    if (i === 0) parts.push(chunk('IDAT', data));
    else {
      const fdat = new Uint8Array(4 + data.length);
      new DataView(fdat.buffer).setUint32(0, seq++);
      fdat.set(data, 4);
      parts.push(chunk('fdAT', fdat));
    }
  });
  parts.push(chunk('IEND', new Uint8Array(0)));
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
