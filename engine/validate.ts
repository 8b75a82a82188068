// Validation and compilation in one pass: every problem is collected (not
// just the first), and a graph without problems comes out as a compiled
// plan of indices that the executor runs without further lookups.

import type { NodeDefinition } from './definition';
import type { GraphError } from './errors';
import { NODE_ID_PATTERN, parseEndpoint, type GraphJson } from './graph';
import { checkParam } from './params';
import { resolvePath } from './paths';
import { cycleWithin, cyclicComponents, topologicalOrder } from './topology';
import { acceptedBy, canConnect } from './types';
import type { NodeRegistry } from './registry';

export interface CompiledInput {
  /** Index of the upstream node. */
  from: number;
  port: string;
}

export interface CompiledNode {
  index: number;
  id: string;
  definition: NodeDefinition;
  /** Defaults filled in, relative paths resolved, frozen. */
  params: Readonly<Record<string, unknown>>;
  /** Hash of type, version and params: the fixed part of the cache signature (filled on first run). */
  staticSignature?: string;
  /** Connected inputs by input port name. */
  inputs: Map<string, CompiledInput>;
}

export interface CompiledGraph {
  nodes: CompiledNode[];
  byId: Map<string, number>;
  parents: number[][];
  children: number[][];
  /** A topological order of all nodes. */
  order: number[];
}

export interface ValidateOptions {
  /** Folder of the graph file; relative "path" params resolve against it. */
  baseDir?: string;
}

export interface ValidationResult {
  ok: boolean;
  errors: GraphError[];
  compiled?: CompiledGraph;
}

export function validateGraph(graph: GraphJson, registry: NodeRegistry, options: ValidateOptions = {}): ValidationResult {
  const errors: GraphError[] = [];
  const nodes: CompiledNode[] = [];
  const byId = new Map<string, number>();
  // Nodes whose type is unknown still get an index so that edges to them are
  // not also reported as "unknown node"; they just cannot be type-checked.
  const known: Array<NodeDefinition | undefined> = [];
  const idAt: string[] = [];

  for (const entry of graph.nodes) {
    if (byId.has(entry.id)) {
      errors.push({ code: 'duplicate_node_id', node: entry.id, message: `node id "${entry.id}" is used by more than one node; give each node its own id` });
      continue;
    }
    if (!NODE_ID_PATTERN.test(entry.id))
      errors.push({ code: 'invalid_node_id', node: entry.id, message: `node id "${entry.id}" may only use letters, digits, "_" and "-" (it names the node's output folder)` });
    const index = known.length;
    byId.set(entry.id, index);
    const definition = registry.get(entry.type);
    known.push(definition);
    idAt.push(entry.id);
    if (!definition) {
      errors.push({ code: 'unknown_node_type', node: entry.id, message: `node ${entry.id}: unknown node type "${entry.type}"${suggest(entry.type, registry.types())}; run \`samnerf nodes\` for the list` });
      continue;
    }
    const params = compileParams(entry.id, definition, entry.params ?? {}, options, errors);
    nodes.push({ index, id: entry.id, definition, params, inputs: new Map() });
  }

  const parents: number[][] = known.map(() => []);
  const children: number[][] = known.map(() => []);
  const nodeAt = new Map(nodes.map((n) => [n.index, n]));
  graph.edges.forEach((edge, i) => {
    const from = parseEndpoint(edge.from);
    const to = parseEndpoint(edge.to);
    if (!from || !to) {
      errors.push({ code: 'invalid_edge', edge: i, message: `edges[${i}]: "from" and "to" must look like "node.port" (got ${JSON.stringify(edge.from)} -> ${JSON.stringify(edge.to)})` });
      return;
    }
    const a = byId.get(from.node);
    const b = byId.get(to.node);
    if (a === undefined || b === undefined) {
      const missing = a === undefined ? from.node : to.node;
      errors.push({ code: 'unknown_node', edge: i, node: missing, message: `edges[${i}] (${edge.from} -> ${edge.to}) refers to node "${missing}", which is not in the graph` });
      return;
    }
    parents[b]!.push(a);
    children[a]!.push(b);
    const source = known[a];
    const target = known[b];
    const output = source?.outputs[from.port];
    const input = target?.inputs[to.port];
    if (source && !output)
      errors.push({ code: 'unknown_port', edge: i, node: from.node, port: from.port, message: `node ${from.node} (${source.type}) has no output "${from.port}"; its outputs are ${listOf(Object.keys(source.outputs))}` });
    if (target && !input)
      errors.push({ code: 'unknown_port', edge: i, node: to.node, port: to.port, message: `node ${to.node} (${target.type}) has no input "${to.port}"; its inputs are ${listOf(Object.keys(target.inputs))}` });
    if (!output || !input) return;
    const compatible = canConnect(output.type, input.type);
    if (!compatible.ok) {
      errors.push({
        code: 'type_mismatch',
        edge: i,
        node: to.node,
        port: to.port,
        message: `${edge.from} (${output.type}) cannot connect to ${edge.to} (${input.type}): ${to.node}.${to.port} accepts ${acceptedBy(input.type).join(' or ')}`,
      });
      return;
    }
    const compiled = nodeAt.get(b)!;
    if (compiled.inputs.has(to.port)) {
      errors.push({ code: 'duplicate_input', edge: i, node: to.node, port: to.port, message: `input ${edge.to} has more than one incoming edge; an input takes exactly one` });
      return;
    }
    compiled.inputs.set(to.port, { from: a, port: from.port });
  });

  for (const node of nodes) {
    // Port order fixed by name, so signatures do not depend on edge order in the file.
    if (node.inputs.size > 1) node.inputs = new Map([...node.inputs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const [port, spec] of Object.entries(node.definition.inputs)) {
      if (!spec.optional && !node.inputs.has(port))
        errors.push({ code: 'missing_input', node: node.id, port, message: `node ${node.id} (${node.definition.type}) needs its input "${port}" (${spec.type}) connected` });
    }
  }

  const order = topologicalOrder(children);
  if (!order) {
    for (const component of cyclicComponents(children)) {
      const named = cycleWithin(component, children).map((i) => idAt[i]!);
      errors.push({ code: 'cycle', node: named[0], nodes: named, message: `nodes ${[...named, named[0]].join(' -> ')} form a cycle; remove one of these edges` });
    }
  }

  if (errors.length > 0 || !order) return { ok: false, errors };
  return { ok: true, errors, compiled: { nodes, byId, parents, children, order } };
}

function compileParams(
  nodeId: string,
  definition: NodeDefinition,
  given: Record<string, unknown>,
  options: ValidateOptions,
  errors: GraphError[],
): Readonly<Record<string, unknown>> {
  const params: Record<string, unknown> = {};
  for (const name of Object.keys(given)) {
    if (!(name in definition.params))
      errors.push({ code: 'unknown_param', node: nodeId, param: name, message: `node ${nodeId} (${definition.type}) has no param "${name}"${suggest(name, Object.keys(definition.params))}; its params are ${listOf(Object.keys(definition.params))}` });
  }
  for (const [name, spec] of Object.entries(definition.params)) {
    const value = name in given ? given[name] : spec.default;
    const problem = checkParam(spec, value);
    if (problem) {
      const range = spec.type === 'number' || spec.type === 'integer' ? rangeText(spec.min, spec.max) : spec.type === 'json' ? ` (shape ${spec.shape})` : '';
      errors.push({ code: 'invalid_param', node: nodeId, param: name, message: `node ${nodeId}: param "${name}" ${problem}${range}` });
      continue;
    }
    params[name] = spec.type === 'path' && typeof value === 'string' && value !== '' ? resolvePath(options.baseDir, value) : value;
  }
  return Object.freeze(params);
}

function rangeText(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` (allowed range ${min} to ${max})`;
  if (min !== undefined) return ` (minimum ${min})`;
  if (max !== undefined) return ` (maximum ${max})`;
  return '';
}

function listOf(names: string[]): string {
  return names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', ');
}

/** " (did you mean X?)" for a near-miss spelling, else "". */
function suggest(name: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

