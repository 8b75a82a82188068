// From a graph file on disk (plus --set overrides) to a validated, compiled
// graph, or to the full list of problems.

import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { coerceParam, loadGraph, validateGraph, type GraphError, type GraphJson, type NodeRegistry, type ValidationResult } from '../engine';
import { CliError, EXIT_INVALID } from './exit-codes';

export interface LoadedGraph {
  path: string;
  graph?: GraphJson;
  errors: GraphError[];
  upgraded: string[];
  validation?: ValidationResult;
}

export async function readGraphFile(file: string, registry: NodeRegistry, overrides: string[] = [], options: { device?: string; notes?: string[] } = {}): Promise<LoadedGraph> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read graph file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, EXIT_INVALID);
  }
  const loaded = loadGraph(text, registry);
  if (!loaded.graph || loaded.errors.length > 0) return { path, graph: loaded.graph, errors: loaded.errors, upgraded: loaded.upgraded };
  // --device first, so a --set node.device=... still wins for that node.
  const withDevice = options.device === undefined ? loaded.graph : applyDevice(loaded.graph, options.device, registry, options.notes);
  const graph = applyOverrides(withDevice, overrides, registry);
  const validation = validateGraph(graph, registry, { baseDir: dirname(path) });
  return { path, graph, errors: validation.errors, upgraded: loaded.upgraded, validation };
}

/** `--set node.param=value`: the value is read as the param's type (JSON for structured params). */
export function applyOverrides(graph: GraphJson, overrides: string[], registry: NodeRegistry): GraphJson {
  if (overrides.length === 0) return graph;
  const nodes = graph.nodes.map((n) => ({ ...n, params: { ...(n.params ?? {}) } }));
  for (const override of overrides) {
    const match = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(override);
    if (!match) throw new CliError(`--set ${override}: expected <node>.<param>=<value>, e.g. --set photo.path=truck.jpg`);
    const [, nodeId, param, text] = match as unknown as [string, string, string, string];
    const node = nodes.find((n) => n.id === nodeId);
    if (!node) throw new CliError(`--set ${override}: the graph has no node "${nodeId}" (its nodes: ${nodes.map((n) => n.id).join(', ')})`);
    const spec = registry.get(node.type)?.params[param];
    // Unknown params still go in, so validation reports them with the node's param list.
    node.params[param] = spec ? coerceParam(spec, text) : text;
  }
  return { ...graph, nodes };
}

export function formatErrors(errors: GraphError[]): string {
  return errors.map((e) => `  [${e.code}] ${e.message}`).join('\n');
}

/**
 * `--device <d>`: sets the `device` param of every node whose type has one
 * that offers d (NeRFTrainer, ViewRenderer, ...). A node whose device param
 * does not offer d keeps its own value, with a note saying so.
 */
export function applyDevice(graph: GraphJson, device: string, registry: NodeRegistry, notes: string[] = []): GraphJson {
  const nodes = graph.nodes.map((n) => {
    const spec = registry.get(n.type)?.params.device;
    if (!spec || spec.type !== 'enum') return n;
    if (!spec.options.includes(device)) {
      notes.push(`--device ${device}: node ${n.id} (${n.type}) offers ${spec.options.join(', ')}; it keeps device ${String(n.params?.device ?? spec.default)}`);
      return n;
    }
    return { ...n, params: { ...(n.params ?? {}), device } };
  });
  return { ...graph, nodes };
}
