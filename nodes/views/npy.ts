// NumPy .npy files (format versions 1-3): enough to read LLFF's
// poses_bounds.npy (float64) and to write and read float32 depth maps.
// Little-endian, C-order float32/float64 only; anything else is refused by
// name so the user knows what to convert.

export interface NpyArray {
  shape: number[];
  dtype: 'float32' | 'float64';
  /** The values in C order, as stored (float32 stays float32). */
  data: Float32Array | Float64Array;
}

/** A malformed or unsupported .npy file; the message says which. */
export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyError('not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError('truncated .npy header');
    headerLength = view.getUint32(8, true);
    start = 12;
  } else throw new NpyError(`unsupported .npy format version ${major}`);
  if (start + headerLength > bytes.length) throw new NpyError('truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyError(`malformed .npy header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw new NpyError('the array is stored in Fortran order; save it with np.ascontiguousarray(a) first');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw new NpyError(`malformed shape (${shapeText})`);
  let dtype: NpyArray['dtype'];
  if (descr === '<f8') dtype = 'float64';
  else if (descr === '<f4') dtype = 'float32';
  else throw new NpyError(`dtype ${descr} is not supported (expected little-endian float32 "<f4" or float64 "<f8")`);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = dtype === 'float64' ? 8 : 4;
  const offset = start + headerLength;
  if (bytes.length - offset < count * itemSize) throw new NpyError(`truncated data: shape (${shape.join(', ')}) needs ${count * itemSize} bytes, the file has ${bytes.length - offset}`);
  // Copy into an aligned buffer: the header length does not guarantee alignment of the view we were given.
  const raw = new Uint8Array(count * itemSize);
  raw.set(bytes.subarray(offset, offset + count * itemSize));
  const data = dtype === 'float64' ? new Float64Array(raw.buffer, 0, count) : new Float32Array(raw.buffer, 0, count);
  if (!littleEndianHost) swapInPlace(raw, itemSize);
  return { shape, dtype, data };
}

/** A version 1.0 .npy file of little-endian float32 or float64 in C order. */
export function writeNpy(data: Float32Array | Float64Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`writeNpy: shape (${shape.join(', ')}) holds ${count} values, got ${data.length}`);
  const descr = data instanceof Float64Array ? '<f8' : '<f4';
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shapeText}), }`;
  // numpy pads the header with spaces and a newline so the data starts at a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  if (!littleEndianHost) swapInPlace(out.subarray(10 + header.length), data.BYTES_PER_ELEMENT);
  return out;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}
