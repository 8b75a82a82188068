// Copy and paste of a selection: the selected nodes and the wires between
// them, pasted with fresh ids (the engine's uniqueNodeId) and shifted so the
// copy does not hide the original. Pure.

import { emptyGraph, uniqueNodeId } from '../engine';
import type { EditorEdge, EditorNode } from './graph-sync';

export interface Fragment {
  nodes: Array<Pick<EditorNode, 'id' | 'type' | 'params' | 'position'>>;
  edges: EditorEdge[];
}

export function copyFragment(nodes: readonly EditorNode[], edges: readonly EditorEdge[], selected: ReadonlySet<string>): Fragment {
  return {
    nodes: nodes
      .filter((n) => selected.has(n.id))
      .map((n) => ({ id: n.id, type: n.type, params: structuredClone(n.params), position: { ...n.position } })),
    edges: edges
      .filter((e) => selected.has(e.source) && selected.has(e.target))
      .map(({ source, sourceOutput, target, targetInput }) => ({ source, sourceOutput, target, targetInput })),
  };
}

/** The fragment with ids that `takenIds` does not use, moved by `offset`. */
export function pasteFragment(fragment: Fragment, takenIds: Iterable<string>, offset = { x: 40, y: 40 }): Fragment {
  const graph = emptyGraph();
  for (const id of takenIds) graph.nodes.push({ id, type: '' });
  const renamed = new Map<string, string>();
  const nodes = fragment.nodes.map((n) => {
    const id = uniqueNodeId(graph, n.id.replace(/\d+$/, '') || n.type.toLowerCase());
    graph.nodes.push({ id, type: n.type });
    renamed.set(n.id, id);
    return { id, type: n.type, params: structuredClone(n.params), position: { x: n.position.x + offset.x, y: n.position.y + offset.y } };
  });
  const edges = fragment.edges.map((e) => ({ ...e, source: renamed.get(e.source)!, target: renamed.get(e.target)! }));
  return { nodes, edges };
}

/** An id for a node added from the palette: the type in lower camel case, numbered if taken. */
export function idForNewNode(type: string, takenIds: Iterable<string>): string {
  const graph = emptyGraph();
  for (const id of takenIds) graph.nodes.push({ id, type: '' });
  const stem = type.charAt(0).toLowerCase() + type.slice(1);
  return uniqueNodeId(graph, stem);
}
