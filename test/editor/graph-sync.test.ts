import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadGraph, saveGraph, type GraphJson } from '../../engine';
import { createNodeRegistry } from '../../nodes';
import { fromGraph, graphFingerprint, toGraph } from '../../editor/graph-sync';

const preset = (name: string) => readFileSync(new URL(`../../presets/${name}`, import.meta.url), 'utf8');

describe('graph-sync', () => {
  it('gives back the same document for every preset (open -> save is byte-identical)', () => {
    const registry = createNodeRegistry();
    for (const name of ['sam-points.json', 'sam-text.json']) {
      const text = preset(name);
      const loaded = loadGraph(text, registry);
      expect(loaded.errors).toEqual([]);
      const back = toGraph(fromGraph(loaded.graph!));
      expect(back).toEqual(loaded.graph);
      expect(saveGraph(back, registry)).toBe(saveGraph(loaded.graph!, registry));
      // Key order too, so the saved file diffs cleanly against the original.
      expect(JSON.stringify(back)).toBe(JSON.stringify(loaded.graph));
    }
  });

  it('keeps unknown keys on the graph, nodes, ui and edges, and edges it cannot draw', () => {
    const graph = {
      format: 'samnerf.graph',
      version: 1,
      name: 'g',
      extra: { by: 'another tool' },
      nodes: [
        { id: 'a', type: 'T', version: 2, params: { k: 1 }, ui: { x: 5, y: 6, collapsed: true, color: 'red' }, note: 'keep me' },
        { id: 'b', type: 'U' },
      ],
      edges: [
        { from: 'a.out', to: 'b.in', label: 'wire' },
        { from: 'nonsense', to: 'b.in' },
      ],
    } as unknown as GraphJson;
    const model = fromGraph(graph);
    expect(model.nodes[0]!.position).toEqual({ x: 5, y: 6 });
    expect(model.edges).toHaveLength(1);
    expect(model.unparsedEdges).toEqual([{ from: 'nonsense', to: 'b.in' }]);

    model.nodes[0]!.position = { x: 100, y: 200 };
    model.nodes[0]!.params.k = 2;
    const back = toGraph(model);
    expect(back.extra).toEqual({ by: 'another tool' });
    expect(back.nodes[0]).toEqual({ id: 'a', type: 'T', version: 2, params: { k: 2 }, ui: { x: 100, y: 200, collapsed: true, color: 'red' }, note: 'keep me' });
    // A node without params or ui gets a position (the CLI ignores ui) but no empty params.
    expect(back.nodes[1]).toEqual({ id: 'b', type: 'U', ui: { x: 340, y: 40 } });
    expect(back.edges).toEqual([{ from: 'a.out', to: 'b.in', label: 'wire' }, { from: 'nonsense', to: 'b.in' }]);
  });

  it('writes new nodes and wires in the CLI format', () => {
    const model = fromGraph({ format: 'samnerf.graph', version: 1, nodes: [], edges: [] });
    model.nodes.push({ id: 'photo', type: 'ImageLoader', params: { path: 'truck.jpg' }, position: { x: 1, y: 2 } });
    model.nodes.push({ id: 'encode', type: 'SamEncoder', params: {}, position: { x: 300, y: 2 } });
    model.edges.push({ source: 'photo', sourceOutput: 'image', target: 'encode', targetInput: 'image' });
    const graph = toGraph(model);
    expect(graph.nodes).toEqual([
      { id: 'photo', type: 'ImageLoader', params: { path: 'truck.jpg' }, ui: { x: 1, y: 2 } },
      { id: 'encode', type: 'SamEncoder', ui: { x: 300, y: 2 } },
    ]);
    expect(graph.edges).toEqual([{ from: 'photo.image', to: 'encode.image' }]);
    expect(loadGraph(saveGraph(graph, createNodeRegistry()), createNodeRegistry()).errors).toEqual([]);
  });

  it('fingerprints change with any edit and not otherwise', () => {
    const g = loadGraph(preset('sam-points.json')).graph!;
    const model = fromGraph(g);
    const before = graphFingerprint(toGraph(model));
    expect(graphFingerprint(toGraph(fromGraph(g)))).toBe(before);
    model.nodes[1]!.params.extra = true;
    expect(graphFingerprint(toGraph(model))).not.toBe(before);
  });
});
