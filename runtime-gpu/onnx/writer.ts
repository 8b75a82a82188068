// A small ONNX ModelProto writer: hand-rolled protobuf encoding of just the
// messages a small graph needs. samnerf builds its NeRF and feature-head
// graphs with it at run time (through runtime-gpu/nerf/onnx.ts), and tests
// build models with a known answer instead of downloading weights. Field
// numbers follow onnx.proto. Platform-neutral.

export type ElemType = 'float' | 'int64';

export interface ValueSpec {
  name: string;
  elemType: ElemType;
  /** Numbers are fixed sizes, strings are symbolic (dynamic) dimensions. */
  shape: (number | string)[];
}

/** Plain numbers are INT (integers) or FLOAT; wrap integral floats with `onnxFloat`/`onnxFloats`. */
export type AttributeValue =
  | number
  | bigint
  | string
  | number[]
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'tensor'; tensor: InitializerSpec };

export interface NodeSpec {
  opType: string;
  /** An empty string skips an optional input (e.g. Resize's roi). */
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
  name?: string;
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface ModelSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  /** Default ai.onnx opset 17. */
  opset?: number;
  /** GraphProto.name (default "graph"). */
  name?: string;
  /** ModelProto.producer_name (default "samnerf"). */
  producer?: string;
}

export const onnxFloat = (value: number): AttributeValue => ({ kind: 'float', value });
export const onnxFloats = (value: number[]): AttributeValue => ({ kind: 'floats', value });

// onnx.proto TensorProto.DataType and AttributeProto.AttributeType values.
const DATA_TYPE: Record<ElemType, number> = { float: 1, int64: 7 };
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

// --- protobuf wire format -------------------------------------------------

const utf8 = new TextEncoder();

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Base-128 varint; negatives as 64-bit two's complement (10 bytes), as protobuf int64 does. */
function varint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return new Uint8Array(bytes);
}

const tag = (field: number, wireType: number) => varint((field << 3) | wireType);
const intField = (field: number, value: number | bigint) => concat([tag(field, 0), varint(value)]);
const bytesField = (field: number, payload: Uint8Array) => concat([tag(field, 2), varint(payload.length), payload]);
const stringField = (field: number, text: string) => bytesField(field, utf8.encode(text));

function float32LE(values: readonly number[] | Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

function int64LE(values: BigInt64Array): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

// --- ONNX messages --------------------------------------------------------

function tensorProto(t: InitializerSpec): Uint8Array {
  const isFloat = t.data instanceof Float32Array;
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) {
    throw new Error(`initializer ${t.name}: ${t.data.length} values for dims [${t.dims.join(', ')}]`);
  }
  return concat([
    ...t.dims.map((d) => intField(1, d)),
    intField(2, isFloat ? DATA_TYPE.float : DATA_TYPE.int64),
    stringField(8, t.name),
    bytesField(9, isFloat ? float32LE(t.data as Float32Array) : int64LE(t.data as BigInt64Array)),
  ]);
}

function valueInfoProto(v: ValueSpec): Uint8Array {
  const dims = v.shape.map((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)));
  const tensorType = concat([intField(1, DATA_TYPE[v.elemType]), bytesField(2, concat(dims))]);
  return concat([stringField(1, v.name), bytesField(2, bytesField(1, tensorType))]);
}

function attributeProto(name: string, value: AttributeValue): Uint8Array {
  const head = stringField(1, name);
  if (typeof value === 'string') return concat([head, bytesField(4, utf8.encode(value)), intField(20, ATTR_STRING)]);
  if (typeof value === 'bigint') return concat([head, intField(3, value), intField(20, ATTR_INT)]);
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? concat([head, intField(3, value), intField(20, ATTR_INT)])
      : concat([head, tag(2, 5), float32LE([value]), intField(20, ATTR_FLOAT)]);
  }
  if (Array.isArray(value)) {
    return value.every(Number.isInteger)
      ? concat([head, ...value.map((v) => intField(8, v)), intField(20, ATTR_INTS)])
      : attributeProto(name, onnxFloats(value));
  }
  switch (value.kind) {
    case 'float':
      return concat([head, tag(2, 5), float32LE([value.value]), intField(20, ATTR_FLOAT)]);
    case 'floats':
      return concat([head, bytesField(7, float32LE(value.value)), intField(20, ATTR_FLOATS)]);
    case 'tensor':
      return concat([head, bytesField(5, tensorProto(value.tensor)), intField(20, ATTR_TENSOR)]);
  }
}

function nodeProto(node: NodeSpec, index: number): Uint8Array {
  return concat([
    ...node.inputs.map((name) => stringField(1, name)),
    ...node.outputs.map((name) => stringField(2, name)),
    stringField(3, node.name ?? `${node.opType}_${index}`),
    stringField(4, node.opType),
    ...Object.entries(node.attributes ?? {}).map(([name, value]) => bytesField(5, attributeProto(name, value))),
  ]);
}

/** Serialised ModelProto (IR version 8) ready for `InferenceSession.create(bytes)`. */
export function onnxModel(spec: ModelSpec): Uint8Array {
  const graph = concat([
    ...spec.nodes.map((node, i) => bytesField(1, nodeProto(node, i))),
    stringField(2, spec.name ?? 'graph'),
    ...(spec.initializers ?? []).map((t) => bytesField(5, tensorProto(t))),
    ...spec.inputs.map((v) => bytesField(11, valueInfoProto(v))),
    ...spec.outputs.map((v) => bytesField(12, valueInfoProto(v))),
  ]);
  const opset = concat([stringField(1, ''), intField(2, spec.opset ?? 17)]);
  return concat([intField(1, 8), stringField(2, spec.producer ?? 'samnerf'), bytesField(7, graph), bytesField(8, opset)]);
}
