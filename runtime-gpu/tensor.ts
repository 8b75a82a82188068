// The tensor shape every backend speaks: a typed array plus dims, nothing
// backend-specific, so nodes and tests build feeds without importing
// onnxruntime and values cross a Web Worker boundary by structured clone.

export type TensorType = 'float32' | 'int64' | 'int32' | 'uint8' | 'bool';

/** The typed array that holds each tensor type (bool is one byte per element, 0 or 1). */
export interface TensorArrays {
  float32: Float32Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export interface TensorData<T extends TensorType = TensorType> {
  type: T;
  data: TensorArrays[T];
  dims: readonly number[];
}

/** Number of elements of a shape; throws on a dim that is not a non-negative integer. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`tensor dims must be non-negative integers, got [${dims.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Build a tensor after checking that the data length matches the dims. */
export function tensor<T extends TensorType>(type: T, data: TensorArrays[T], dims: readonly number[]): TensorData<T> {
  const n = elementCount(dims);
  if (data.length !== n) {
    throw new RangeError(`${type} tensor of dims [${dims.join(', ')}] needs ${n} elements, got ${data.length}`);
  }
  return { type, data, dims: Object.freeze([...dims]) };
}

export function float32(data: Float32Array | readonly number[], dims: readonly number[]): TensorData<'float32'> {
  return tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
}

export function int64(data: BigInt64Array | readonly (number | bigint)[], dims: readonly number[]): TensorData<'int64'> {
  return tensor('int64', data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v)), dims);
}

export function int32(data: Int32Array | readonly number[], dims: readonly number[]): TensorData<'int32'> {
  return tensor('int32', data instanceof Int32Array ? data : Int32Array.from(data), dims);
}

export function uint8(data: Uint8Array | readonly number[], dims: readonly number[]): TensorData<'uint8'> {
  return tensor('uint8', data instanceof Uint8Array ? data : Uint8Array.from(data), dims);
}

export function bool(data: Uint8Array | readonly boolean[], dims: readonly number[]): TensorData<'bool'> {
  return tensor('bool', data instanceof Uint8Array ? data : Uint8Array.from(data, (v) => (v ? 1 : 0)), dims);
}
