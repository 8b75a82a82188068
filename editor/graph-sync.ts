// The graph document (the CLI's JSON format) <-> the editor's model. Pure:
// no Rete, no DOM. The editor model is what the canvas shows (nodes with
// positions, params and wires); everything else a document holds (unknown
// keys on the graph, on nodes, on edges and inside `ui`, node versions, key
// order) is carried along so that open -> save gives back the same file.

import { formatEndpoint, parseEndpoint, type GraphEdgeJson, type GraphJson, type GraphNodeJson } from '../engine';

export interface Position {
  x: number;
  y: number;
}

export interface EditorNode {
  id: string;
  type: string;
  /** Only the params the document sets; widgets show the default for the rest. */
  params: Record<string, unknown>;
  position: Position;
  /** The node entry as read, for its unknown keys, version, ui extras and key order. */
  source?: GraphNodeJson;
}

export interface EditorEdge {
  source: string;
  sourceOutput: string;
  target: string;
  targetInput: string;
  /** The edge entry as read, for unknown keys. */
  sourceJson?: GraphEdgeJson;
}

export interface EditorModel {
  /** Every top-level key of the document except nodes and edges. */
  meta: Omit<GraphJson, 'nodes' | 'edges'>;
  nodes: EditorNode[];
  edges: EditorEdge[];
  /** Edges whose endpoints do not parse: not drawable, but written back as they were (validation names them). */
  unparsedEdges: GraphEdgeJson[];
}

/** Where nodes without a `ui` position go: a simple left-to-right row. */
export function defaultPosition(index: number): Position {
  return { x: 40 + index * 300, y: 40 };
}

export function fromGraph(graph: GraphJson): EditorModel {
  const { nodes, edges, ...meta } = graph;
  return {
    meta,
    nodes: nodes.map((n, i) => ({
      id: n.id,
      type: n.type,
      params: { ...(n.params ?? {}) },
      position: hasPosition(n.ui) ? { x: n.ui.x, y: n.ui.y } : defaultPosition(i),
      source: n,
    })),
    edges: edges.flatMap((e) => {
      const from = parseEndpoint(e.from);
      const to = parseEndpoint(e.to);
      if (!from || !to) return [];
      return [{ source: from.node, sourceOutput: from.port, target: to.node, targetInput: to.port, sourceJson: e }];
    }),
    unparsedEdges: edges.filter((e) => !parseEndpoint(e.from) || !parseEndpoint(e.to)),
  };
}

export function toGraph(model: EditorModel): GraphJson {
  return {
    ...model.meta,
    nodes: model.nodes.map(nodeToJson),
    edges: [...model.edges.map(edgeToJson), ...model.unparsedEdges],
  } as GraphJson;
}

function nodeToJson(node: EditorNode): GraphNodeJson {
  const source = node.source;
  const hadParams = source?.params !== undefined;
  const params = Object.keys(node.params).length > 0 || hadParams ? { ...node.params } : undefined;
  const ui = { ...(source?.ui ?? {}), x: node.position.x, y: node.position.y };
  // Spreading the source first keeps its key order; new nodes get id, type, params, ui.
  const json: GraphNodeJson = { ...(source ?? {}), id: node.id, type: node.type };
  if (params) json.params = params;
  else delete json.params;
  json.ui = ui;
  return json;
}

function edgeToJson(edge: EditorEdge): GraphEdgeJson {
  return {
    ...(edge.sourceJson ?? {}),
    from: formatEndpoint(edge.source, edge.sourceOutput),
    to: formatEndpoint(edge.target, edge.targetInput),
  };
}

function hasPosition(ui: unknown): ui is { x: number; y: number } {
  return typeof ui === 'object' && ui !== null && Number.isFinite((ui as Position).x) && Number.isFinite((ui as Position).y);
}

/** Stable text of a graph for "unsaved changes": the same document always gives the same text. */
export function graphFingerprint(graph: GraphJson): string {
  return JSON.stringify(graph);
}
