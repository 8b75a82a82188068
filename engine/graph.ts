// The graph document as stored in JSON (format "samnerf.graph"). These are
// the on-disk shapes: unknown keys are kept wherever they appear so that a
// load/save round trip never loses what another tool wrote.

export const GRAPH_FORMAT = 'samnerf.graph';

export interface NodeUi {
  x: number;
  y: number;
  [extra: string]: unknown;
}

export interface GraphNodeJson {
  id: string;
  type: string;
  /** The node definition's version this entry was written for (absent = current). */
  version?: number;
  params?: Record<string, unknown>;
  /** Layout only; never enters a cache signature. */
  ui?: NodeUi;
  [extra: string]: unknown;
}

export interface GraphEdgeJson {
  /** "<node id>.<output port>" */
  from: string;
  /** "<node id>.<input port>" */
  to: string;
  [extra: string]: unknown;
}

export interface GraphJson {
  format: typeof GRAPH_FORMAT;
  version: number;
  name?: string;
  description?: string;
  nodes: GraphNodeJson[];
  edges: GraphEdgeJson[];
  [extra: string]: unknown;
}

export interface Endpoint {
  node: string;
  port: string;
}

/** Splits "node.port" at the last dot, so node ids may themselves contain dots. */
export function parseEndpoint(text: unknown): Endpoint | undefined {
  if (typeof text !== 'string') return undefined;
  const dot = text.lastIndexOf('.');
  if (dot <= 0 || dot === text.length - 1) return undefined;
  return { node: text.slice(0, dot), port: text.slice(dot + 1) };
}

export function formatEndpoint(node: string, port: string): string {
  return `${node}.${port}`;
}

export function emptyGraph(name = 'Untitled'): GraphJson {
  return { format: GRAPH_FORMAT, version: 1, name, nodes: [], edges: [] };
}

/** Node ids usable in endpoints and folder names: letters, digits, _ and -. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** A fresh id like "encode2" that no node of the graph uses yet. */
export function uniqueNodeId(graph: GraphJson, base: string): string {
  const taken = new Set(graph.nodes.map((n) => n.id));
  const stem = base.replace(/[^A-Za-z0-9_-]/g, '') || 'node';
  if (!taken.has(stem)) return stem;
  for (let i = 2; ; i++) if (!taken.has(`${stem}${i}`)) return `${stem}${i}`;
}
