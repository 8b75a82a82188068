// File formats for 3D segmentation results, in pure TypeScript so they are
// written the same under Node and in a browser worker: binary PLY point
// clouds and uint8 .npy volumes for the mask grid. (The orbit preview's
// animated PNG comes from runtime-gpu/image/apng.)

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
