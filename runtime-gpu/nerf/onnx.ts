// The graphs samnerf generates at run time (the field MLPs' forward and
// backward passes, mlp-graphs.ts; the feature head) in a compact form, and a
// builder for them; encoded by the shared writer (runtime-gpu/onnx/writer.ts).

import { onnxModel, type AttributeValue } from '../onnx/writer';

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

function attribute(name: string, value: Attribute): AttributeValue {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float: ${value} } for a float`);
    return value;
  }
  if (Array.isArray(value)) return value;
  return { kind: 'float', value: value.float };
}

/** The serialised ModelProto (IR version 8), through the shared writer. */
export function encodeModel(graph: OnnxGraph): Uint8Array {
  return onnxModel({
    name: graph.name,
    opset: graph.opset,
    inputs: graph.inputs,
    outputs: graph.outputs,
    initializers: graph.initializers,
    nodes: graph.nodes.map((n) => ({
      opType: n.op,
      inputs: n.inputs,
      outputs: n.outputs,
      attributes: Object.fromEntries(Object.entries(n.attributes ?? {}).map(([k, v]) => [k, attribute(k, v)])),
    })),
  });
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
