// Reading and writing the graph JSON format: structure checks, then the
// document-level migrations, then each node's own migrations. Anything the
// format does not know is carried through untouched.

import type { GraphError } from './errors';
import { GRAPH_FORMAT, type GraphEdgeJson, type GraphJson, type GraphNodeJson } from './graph';
import { createMigrationSequence, currentVersion, migrate, type MigrationSequence } from './migrations';
import type { NodeRegistry } from './registry';

/**
 * Document-level steps. Version 1 is the first published format, so the
 * list is empty; a format change appends "samnerf.graph/2" with its fixture.
 */
export const GRAPH_MIGRATIONS: MigrationSequence<Record<string, unknown>> = createMigrationSequence('samnerf.graph', []);
export const GRAPH_VERSION = currentVersion(GRAPH_MIGRATIONS);

export interface LoadResult {
  /** Present when the document could be read and upgraded (it may still fail validation). */
  graph?: GraphJson;
  errors: GraphError[];
  /** Migrations applied, e.g. "node photo: ImageLoader 1 -> 2". */
  upgraded: string[];
}

export function loadGraph(input: string | unknown, registry?: NodeRegistry): LoadResult {
  let raw: unknown = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      return fail('malformed_json', `the file is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return fail('malformed_json', 'a graph must be a JSON object with "format", "version", "nodes" and "edges"');
  const doc = raw as Record<string, unknown>;
  if (doc.format !== GRAPH_FORMAT)
    return fail('malformed_json', `"format" must be "${GRAPH_FORMAT}" (got ${JSON.stringify(doc.format)}): this is not a samnerf graph`);
  const version = doc.version;
  const migrated = migrate(GRAPH_MIGRATIONS, doc, typeof version === 'number' ? version : NaN);
  if (!migrated.ok)
    return fail('unsupported_version', `graph format ${migrated.message}`);
  const upgraded: string[] = migrated.from !== migrated.to ? [`graph format ${migrated.from} -> ${migrated.to}`] : [];
  const graph = { ...migrated.value, version: migrated.to } as Record<string, unknown>;

  const errors: GraphError[] = [];
  if (!Array.isArray(graph.nodes)) errors.push({ code: 'malformed_json', message: '"nodes" must be an array of node objects' });
  if (graph.edges === undefined) graph.edges = [];
  if (!Array.isArray(graph.edges)) errors.push({ code: 'malformed_json', message: '"edges" must be an array of {"from", "to"} objects' });
  if (errors.length > 0) return { errors, upgraded };

  const nodes: GraphNodeJson[] = [];
  (graph.nodes as unknown[]).forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push({ code: 'malformed_json', message: `nodes[${i}] must be an object with "id" and "type"` });
      return;
    }
    const node = entry as GraphNodeJson;
    if (typeof node.id !== 'string' || typeof node.type !== 'string') {
      errors.push({ code: 'malformed_json', node: typeof node.id === 'string' ? node.id : undefined, message: `nodes[${i}] needs a string "id" and a string "type"` });
      return;
    }
    if (node.params !== undefined && (typeof node.params !== 'object' || node.params === null || Array.isArray(node.params))) {
      errors.push({ code: 'malformed_json', node: node.id, message: `node ${node.id}: "params" must be an object of name: value` });
      return;
    }
    nodes.push(upgradeNode(node, registry, errors, upgraded));
  });
  const edges: GraphEdgeJson[] = [];
  (graph.edges as unknown[]).forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push({ code: 'malformed_json', edge: i, message: `edges[${i}] must be an object {"from": "node.port", "to": "node.port"}` });
      return;
    }
    edges.push(entry as GraphEdgeJson);
  });
  return { graph: { ...(graph as GraphJson), nodes, edges }, errors, upgraded };
}

function upgradeNode(node: GraphNodeJson, registry: NodeRegistry | undefined, errors: GraphError[], upgraded: string[]): GraphNodeJson {
  const definition = registry?.get(node.type);
  if (!definition || node.version === undefined || node.version === definition.version) return node;
  if (!definition.migrations) {
    if (typeof node.version === 'number' && node.version < definition.version) return node;
    errors.push({
      code: 'unsupported_version',
      node: node.id,
      message: `node ${node.id}: ${node.type} version ${JSON.stringify(node.version)} is not supported (this samnerf has version ${definition.version}); upgrade samnerf or set "version": ${definition.version}`,
    });
    return node;
  }
  const result = migrate(definition.migrations, node, node.version);
  if (!result.ok) {
    errors.push({ code: 'unsupported_version', node: node.id, message: `node ${node.id}: ${node.type} ${result.message}` });
    return node;
  }
  upgraded.push(`node ${node.id}: ${node.type} ${result.from} -> ${result.to}`);
  return { ...result.value, version: result.to };
}

/** Serialises a graph with node versions filled in, 2-space indented, newline-terminated. */
export function saveGraph(graph: GraphJson, registry?: NodeRegistry): string {
  const nodes = graph.nodes.map((n) => {
    const { id, type, version, ...rest } = n;
    const written = version ?? registry?.get(type)?.version;
    return written === undefined ? n : { id, type, version: written, ...rest };
  });
  return JSON.stringify({ ...graph, format: GRAPH_FORMAT, version: GRAPH_VERSION, nodes }, null, 2) + '\n';
}

function fail(code: GraphError['code'], message: string): LoadResult {
  return { errors: [{ code, message }], upgraded: [] };
}
