// ONNX graph surgery: split one ModelProto at named tensors into an
// "encoder" (the nodes the cut tensors need; the cut tensors are its
// outputs) and a "decoder" (the cut tensors become graph inputs; nodes
// upstream of them are pruned). Used to run ClipSeg's visual part once per
// training view and its text-conditioned decoder on rendered activations
// (docs/distill.md, "ClipSeg head").
//
// The protobuf wire format is walked with protobufjs/minimal's Reader and
// Writer. Only GraphProto's node / initializer / input / output / value_info
// entries are dropped or added; every other field of the ModelProto and the
// GraphProto (opset imports, metadata, doc strings, unknown fields) is copied
// byte for byte, as is every kept entry. Field numbers follow onnx.proto.
// Platform-neutral (bytes in, bytes out).

import protobuf from 'protobufjs/minimal.js';

const { Reader, Writer } = protobuf;

// ModelProto.graph, GraphProto fields, NodeProto fields, AttributeProto subgraphs.
const MODEL_GRAPH = 7;
const G_NODE = 1, G_INITIALIZER = 5, G_SPARSE_INITIALIZER = 15, G_INPUT = 11, G_OUTPUT = 12, G_VALUE_INFO = 13;
const N_INPUT = 1, N_OUTPUT = 2, N_NAME = 3, N_OP_TYPE = 4, N_ATTRIBUTE = 5;
const A_G = 6, A_GRAPHS = 11;
const T_NAME = 8; // TensorProto.name
const SPARSE_VALUES = 1; // SparseTensorProto.values (a TensorProto whose name is the sparse tensor's)
const VI_NAME = 1; // ValueInfoProto.name
const FLOAT = 1;

/** One top-level field of a message: its number, wire type and the exact bytes of the whole entry (tag included). */
interface RawField {
  field: number;
  wireType: number;
  /** Tag + value, as in the input. */
  raw: Uint8Array;
  /** The payload of a length-delimited field (else empty). */
  payload: Uint8Array;
}

function fields(bytes: Uint8Array): RawField[] {
  const reader = Reader.create(bytes);
  const out: RawField[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3, wireType = tag & 7;
    let payload: Uint8Array = EMPTY;
    if (wireType === 2) {
      const length = reader.uint32();
      const at = reader.pos;
      if (at + length > reader.len) throw new Error(`ONNX model is truncated (field ${field} needs ${length} bytes at ${at}, ${reader.len - at} left)`);
      payload = bytes.subarray(at, at + length);
      reader.pos = at + length;
    } else reader.skipType(wireType);
    out.push({ field, wireType, raw: bytes.subarray(start, reader.pos), payload });
  }
  return out;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

/** The first string field `field` of a message, or '' (strings are length-delimited UTF-8). */
function stringOf(message: Uint8Array, field: number): string {
  for (const f of fields(message)) if (f.field === field && f.wireType === 2) return utf8.decode(f.payload);
  return '';
}

export interface OnnxNodeInfo {
  /** Position in the graph's node list. */
  index: number;
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  /** Names read inside subgraph attributes (If / Loop / Scan bodies): outer-scope values they may capture. */
  captured: string[];
}

/** A parsed GraphProto: the raw entries, plus what pruning needs to know about them. */
export interface OnnxGraph {
  /** The ModelProto's top-level fields (the graph among them). */
  modelFields: RawField[];
  /** The GraphProto's entries in order. */
  graphFields: RawField[];
  nodes: OnnxNodeInfo[];
  inputs: string[];
  outputs: string[];
  initializers: string[];
  /** value_info / input / output entries by tensor name (their raw ValueInfoProto payload). */
  valueInfo: Map<string, Uint8Array>;
}

function nodeInfo(payload: Uint8Array, index: number): OnnxNodeInfo {
  const info: OnnxNodeInfo = { index, name: '', opType: '', inputs: [], outputs: [], captured: [] };
  for (const f of fields(payload)) {
    if (f.wireType !== 2) continue;
    if (f.field === N_INPUT) info.inputs.push(utf8.decode(f.payload));
    else if (f.field === N_OUTPUT) info.outputs.push(utf8.decode(f.payload));
    else if (f.field === N_NAME) info.name = utf8.decode(f.payload);
    else if (f.field === N_OP_TYPE) info.opType = utf8.decode(f.payload);
    else if (f.field === N_ATTRIBUTE) for (const g of fields(f.payload)) if ((g.field === A_G || g.field === A_GRAPHS) && g.wireType === 2) subgraphReads(g.payload, info.captured);
  }
  return info;
}

/** Every node input of a subgraph (recursively): an over-approximation of the outer values it captures. */
function subgraphReads(graph: Uint8Array, into: string[]): void {
  for (const f of fields(graph)) {
    if (f.field !== G_NODE || f.wireType !== 2) continue;
    const n = nodeInfo(f.payload, -1);
    into.push(...n.inputs.filter((s) => s !== ''), ...n.captured);
  }
}

/** Parses a serialised ModelProto far enough to split it. */
export function parseOnnxGraph(model: Uint8Array): OnnxGraph {
  const modelFields = fields(model);
  const graphs = modelFields.filter((f) => f.field === MODEL_GRAPH && f.wireType === 2);
  if (graphs.length !== 1) throw new Error(`not an ONNX model: expected one graph (ModelProto field 7), found ${graphs.length}`);
  const graphFields = fields(graphs[0]!.payload);
  const g: OnnxGraph = { modelFields, graphFields, nodes: [], inputs: [], outputs: [], initializers: [], valueInfo: new Map() };
  for (const f of graphFields) {
    if (f.wireType !== 2) continue;
    if (f.field === G_NODE) g.nodes.push(nodeInfo(f.payload, g.nodes.length));
    else if (f.field === G_INITIALIZER) g.initializers.push(stringOf(f.payload, T_NAME));
    else if (f.field === G_SPARSE_INITIALIZER) {
      const values = fields(f.payload).find((s) => s.field === SPARSE_VALUES && s.wireType === 2);
      if (values) g.initializers.push(stringOf(values.payload, T_NAME));
    } else if (f.field === G_INPUT || f.field === G_OUTPUT || f.field === G_VALUE_INFO) {
      const name = stringOf(f.payload, VI_NAME);
      if (f.field === G_INPUT) g.inputs.push(name);
      if (f.field === G_OUTPUT) g.outputs.push(name);
      if (!g.valueInfo.has(name) || f.field !== G_VALUE_INFO) g.valueInfo.set(name, f.payload);
    }
  }
  return g;
}

export interface SplitOptions {
  /** Decoder inputs that must not remain after the cut (e.g. pixel_values): an error names the path that still reads one. */
  decoderMustNotNeed?: readonly string[];
  /** Outputs of the decoder (default: the model's outputs). */
  decoderOutputs?: readonly string[];
}

export interface SplitModels {
  /** The nodes the cut tensors need; outputs = the cut tensors, in the given order. */
  encoder: Uint8Array;
  /** The cut tensors are inputs (after the kept original inputs); nodes upstream of them are pruned. */
  decoder: Uint8Array;
  encoderInputs: string[];
  decoderInputs: string[];
  /** Nodes kept in each part. */
  encoderNodes: number;
  decoderNodes: number;
}

/**
 * Splits `model` at the tensors `cut`. Unused initializers, inputs and
 * value_info are dropped from each part. Throws when a cut tensor does not
 * exist, and when the decoder still needs one of `decoderMustNotNeed`
 * (naming the chain of nodes that reads it).
 */
export function splitOnnxModel(model: Uint8Array, cut: readonly string[], options: SplitOptions = {}): SplitModels {
  const g = parseOnnxGraph(model);
  if (cut.length === 0) throw new Error('splitOnnxModel: no tensors to cut at');
  const producer = new Map<string, OnnxNodeInfo>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') producer.set(o, n);
  const missing = cut.filter((t) => !producer.has(t));
  if (missing.length > 0) {
    const near = g.nodes.flatMap((n) => n.outputs).filter((o) => missing.some((m) => o.includes(m.split('/').filter(Boolean)[0] ?? m))).slice(0, 12);
    throw new Error(`cannot cut the ONNX graph at ${missing.map((m) => `"${m}"`).join(', ')}: no node produces ${missing.length > 1 ? 'them' : 'it'}` + (near.length ? ` (tensors with similar names: ${near.join(', ')})` : ''));
  }
  // Encoder: everything upstream of the cut tensors.
  const enc = upstream(g, producer, cut, new Set());
  // Decoder: upstream of the outputs, stopping at the cut tensors.
  const outputs = options.decoderOutputs ?? g.outputs;
  for (const o of outputs) if (!producer.has(o) && !g.inputs.includes(o)) throw new Error(`the decoder output "${o}" is not a tensor of the model (outputs: ${g.outputs.join(', ')})`);
  const dec = upstream(g, producer, outputs, new Set(cut));
  for (const bad of options.decoderMustNotNeed ?? []) {
    if (!dec.names.has(bad)) continue;
    throw new Error(`the decoder part still needs "${bad}" after cutting at ${cut.join(', ')}: ${dec.path(bad).join(' <- ')} (cut at tensors downstream of this path, or pass other cut tensors)`);
  }
  const encoder = rebuild(g, enc.nodes, enc.names, { outputs: cut });
  const decoder = rebuild(g, dec.nodes, dec.names, { outputs: [...outputs], newInputs: cut });
  return {
    encoder: encoder.bytes,
    decoder: decoder.bytes,
    encoderInputs: encoder.inputs,
    decoderInputs: decoder.inputs,
    encoderNodes: enc.nodes.size,
    decoderNodes: dec.nodes.size,
  };
}

/** Nodes needed for `targets` (not crossing `stop`), the tensor names they read, and a path back from any of them. */
function upstream(g: OnnxGraph, producer: Map<string, OnnxNodeInfo>, targets: readonly string[], stop: Set<string>) {
  const nodes = new Set<number>();
  const names = new Set<string>(targets);
  /** The tensor (and node) through which a name was first reached, for error paths. */
  const via = new Map<string, { node: OnnxNodeInfo; from: string }>();
  const queue = [...targets];
  while (queue.length > 0) {
    const t = queue.pop()!;
    if (stop.has(t)) continue;
    const n = producer.get(t);
    if (!n || nodes.has(n.index)) continue;
    nodes.add(n.index);
    for (const i of [...n.inputs, ...n.captured]) {
      if (i === '' || names.has(i)) continue;
      names.add(i);
      via.set(i, { node: n, from: t });
      queue.push(i);
    }
  }
  const path = (name: string): string[] => {
    const out = [`"${name}"`];
    let at = name;
    for (let guard = 0; guard < 10_000; guard++) {
      const v = via.get(at);
      if (!v) break;
      out.push(`${v.node.name || v.node.opType} (${v.node.opType})`);
      at = v.from;
    }
    out.push(`output "${at}"`);
    return out.reverse();
  };
  return { nodes, names, path };
}

/** A ValueInfoProto for `name`: the model's own (value_info, input or output) when it has one, else float of unknown shape. */
function valueInfoFor(g: OnnxGraph, name: string): Uint8Array {
  const known = g.valueInfo.get(name);
  if (known) return known;
  // ValueInfoProto { name = 1; type = 2 { tensor_type = 1 { elem_type = 1 } } } (no shape: onnxruntime takes any).
  const tensorType = Writer.create().uint32((1 << 3) | 0).int32(FLOAT).finish();
  const type = Writer.create().uint32((1 << 3) | 2).bytes(tensorType).finish();
  return Writer.create().uint32((VI_NAME << 3) | 2).string(name).uint32((2 << 3) | 2).bytes(type).finish();
}

function entry(field: number, payload: Uint8Array): Uint8Array {
  return Writer.create().uint32((field << 3) | 2).bytes(payload).finish();
}

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

/**
 * A ModelProto with the graph's kept entries (raw, in order): nodes in
 * `keep`, initializers / inputs / value_info whose name is in `names`, the
 * given outputs (raw when they were outputs already), then the new inputs.
 */
function rebuild(g: OnnxGraph, keep: Set<number>, names: Set<string>, part: { outputs: readonly string[]; newInputs?: readonly string[] }): { bytes: Uint8Array; inputs: string[] } {
  const produced = new Set<string>();
  for (const n of g.nodes) if (keep.has(n.index)) for (const o of n.outputs) produced.add(o);
  const newInputs = new Set(part.newInputs ?? []);
  const outputSet = new Set(part.outputs);
  const chunks: Uint8Array[] = [];
  const inputs: string[] = [];
  let node = 0;
  const emittedOutputs = new Set<string>();
  for (const f of g.graphFields) {
    if (f.wireType !== 2) {
      chunks.push(f.raw);
      continue;
    }
    switch (f.field) {
      case G_NODE:
        if (keep.has(node++)) chunks.push(f.raw);
        break;
      case G_INITIALIZER: {
        const name = stringOf(f.payload, T_NAME);
        if (names.has(name) && !newInputs.has(name)) chunks.push(f.raw);
        break;
      }
      case G_SPARSE_INITIALIZER: {
        const values = fields(f.payload).find((s) => s.field === SPARSE_VALUES && s.wireType === 2);
        if (values && names.has(stringOf(values.payload, T_NAME))) chunks.push(f.raw);
        break;
      }
      case G_INPUT: {
        const name = stringOf(f.payload, VI_NAME);
        if (names.has(name) && !newInputs.has(name)) {
          chunks.push(f.raw);
          if (!g.initializers.includes(name)) inputs.push(name);
        }
        break;
      }
      case G_OUTPUT: {
        // Kept in place when still an output; the others are appended below.
        const name = stringOf(f.payload, VI_NAME);
        if (outputSet.has(name) && !emittedOutputs.has(name) && part.outputs.every((o) => g.outputs.includes(o))) {
          chunks.push(f.raw);
          emittedOutputs.add(name);
        }
        break;
      }
      case G_VALUE_INFO: {
        const name = stringOf(f.payload, VI_NAME);
        if (produced.has(name) && !outputSet.has(name)) chunks.push(f.raw);
        break;
      }
      default:
        chunks.push(f.raw);
    }
  }
  // Outputs in the requested order (unless they were all the model's own, kept in place above).
  for (const name of part.outputs) if (!emittedOutputs.has(name)) chunks.push(entry(G_OUTPUT, valueInfoFor(g, name)));
  for (const name of part.newInputs ?? []) {
    chunks.push(entry(G_INPUT, valueInfoFor(g, name)));
    inputs.push(name);
  }
  const graph = concat(chunks);
  const model = g.modelFields.map((f) => (f.field === MODEL_GRAPH && f.wireType === 2 ? entry(MODEL_GRAPH, graph) : f.raw));
  return { bytes: concat(model), inputs };
}

/**
 * ClipSeg's cut tensors: for each reduce i (0, 1, 2), the output of the last
 * node (in graph order) whose name lies in the module scope
 * `/decoder/reduces.{i}/` (torch.onnx / optimum name nodes by module scope:
 * `/decoder/reduces.0/MatMul`, then `/decoder/reduces.0/Add` with output
 * `/decoder/reduces.0/Add_output_0`). NOT verified on the published export
 * (it cannot be downloaded here); the error lists the decoder-scope node
 * names the model has, so an override can be chosen.
 */
export function clipSegCutTensors(model: Uint8Array | OnnxGraph, reduces = 3): string[] {
  const g = model instanceof Uint8Array ? parseOnnxGraph(model) : model;
  const cut: string[] = [];
  for (let i = 0; i < reduces; i++) {
    const scope = `/decoder/reduces.${i}/`;
    let last: OnnxNodeInfo | undefined;
    for (const n of g.nodes) if (n.name.includes(scope)) last = n;
    if (!last || !last.outputs[0]) {
      const decoderNames = g.nodes.map((n) => n.name).filter((s) => /(^|\/)decoder\//.test(s));
      const shown = decoderNames.slice(0, 40);
      throw new Error(
        `no ClipSeg reduce node in scope "${scope}" in the ONNX graph (expected names like ${scope}MatMul / ${scope}Add, as torch.onnx exports module scopes); ` +
          (decoderNames.length
            ? `decoder-scope nodes found (${decoderNames.length}): ${shown.join(', ')}${decoderNames.length > shown.length ? ', ...' : ''}`
            : `the graph has no node named under "/decoder/" (first nodes: ${g.nodes.slice(0, 10).map((n) => n.name || n.opType).join(', ')})`) +
          '; pass the three reduced-activation tensor names explicitly',
      );
    }
    cut.push(last.outputs[0]);
  }
  return cut;
}
