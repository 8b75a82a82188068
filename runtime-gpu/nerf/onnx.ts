// A minimal ONNX ModelProto encoder (protobuf wire format by hand) for the
// graphs samnerf generates at run time: the field MLPs' forward and backward
// passes (mlp-graphs.ts). Only what those graphs use: float/int64 tensors,
// int/float/ints attributes, symbolic batch dimensions. Field numbers follow
// onnx.proto.

export type ElemType = 'float' | 'int64';

export interface ValueInfo {
  name: string;
  elemType: ElemType;
  /** Numbers are fixed sizes, strings symbolic ones. */
  shape: (number | string)[];
}

export type Attribute = number | number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, Attribute>;
}

export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxGraph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: OnnxNode[];
  initializers: Initializer[];
  opset?: number;
}

const utf8 = new TextEncoder();

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

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

const key = (field: number, wire: number) => varint((field << 3) | wire);
const intField = (field: number, v: number | bigint) => concat([key(field, 0), varint(v)]);
const bytesField = (field: number, payload: Uint8Array) => concat([key(field, 2), varint(payload.length), payload]);
const stringField = (field: number, s: string) => bytesField(field, utf8.encode(s));

function float32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return b;
}

function tensorProto(t: Initializer): Uint8Array {
  const isFloat = t.data instanceof Float32Array;
  const raw = new Uint8Array(t.data.byteLength);
  const view = new DataView(raw.buffer);
  if (isFloat) (t.data as Float32Array).forEach((v, i) => view.setFloat32(4 * i, v, true));
  else (t.data as BigInt64Array).forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return concat([...t.dims.map((d) => intField(1, d)), intField(2, isFloat ? 1 : 7), stringField(8, t.name), bytesField(9, raw)]);
}

function valueInfo(v: ValueInfo): Uint8Array {
  const dims = v.shape.map((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)));
  const tensorType = concat([intField(1, v.elemType === 'float' ? 1 : 7), bytesField(2, concat(dims))]);
  return concat([stringField(1, v.name), bytesField(2, bytesField(1, tensorType))]);
}

function attribute(name: string, value: Attribute): Uint8Array {
  const head = stringField(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float: ${value} } for a float`);
    return concat([head, intField(3, value), intField(20, 2)]);
  }
  if (Array.isArray(value)) return concat([head, ...value.map((v) => intField(8, v)), intField(20, 7)]);
  return concat([head, key(2, 5), float32Bytes(value.float), intField(20, 1)]);
}

function nodeProto(node: OnnxNode, index: number): Uint8Array {
  return concat([
    ...node.inputs.map((n) => stringField(1, n)),
    ...node.outputs.map((n) => stringField(2, n)),
    stringField(3, `${node.op}_${index}`),
    stringField(4, node.op),
    ...Object.entries(node.attributes ?? {}).map(([k, v]) => bytesField(5, attribute(k, v))),
  ]);
}

/** The serialised ModelProto (IR version 8). */
export function encodeModel(graph: OnnxGraph): Uint8Array {
  const g = concat([
    ...graph.nodes.map((n, i) => bytesField(1, nodeProto(n, i))),
    stringField(2, graph.name),
    ...graph.initializers.map((t) => bytesField(5, tensorProto(t))),
    ...graph.inputs.map((v) => bytesField(11, valueInfo(v))),
    ...graph.outputs.map((v) => bytesField(12, valueInfo(v))),
  ]);
  const opset = concat([stringField(1, ''), intField(2, graph.opset ?? 17)]);
  return concat([intField(1, 8), stringField(2, 'samnerf'), bytesField(7, g), bytesField(8, opset)]);
}

/** A small builder: named intermediate values, constants, and node helpers. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: Initializer[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  node(op: string, inputs: string[], attributes?: Record<string, Attribute>, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attributes });
    return out;
  }

  constFloat(values: number[], dims: number[]): string {
    const name = this.fresh('const');
    this.initializers.push({ name, dims, data: new Float32Array(values) });
    return name;
  }

  constInt64(values: number[]): string {
    const name = this.fresh('const');
    this.initializers.push({ name, dims: [values.length], data: new BigInt64Array(values.map(BigInt)) });
    return name;
  }

  build(inputs: ValueInfo[], outputs: ValueInfo[]): Uint8Array {
    return encodeModel({ name: this.name, inputs, outputs, nodes: this.nodes, initializers: this.initializers });
  }
}
