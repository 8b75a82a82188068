import { describe, expect, it } from 'vitest';
import { canConnect, loadGraph, validateGraph, type GraphJson } from '../../engine';
import { testRegistry } from './test-nodes';

const registry = testRegistry();
const graph = (nodes: GraphJson['nodes'], edges: GraphJson['edges'] = []): GraphJson => ({ format: 'samnerf.graph', version: 1, nodes, edges });

describe('port types', () => {
  it('accepts the same type, Any, and the Mask -> Heatmap widening only', () => {
    expect(canConnect('Image', 'Image').ok).toBe(true);
    expect(canConnect('Mask', 'Any').ok).toBe(true);
    expect(canConnect('Mask', 'Heatmap').ok).toBe(true);
    expect(canConnect('Heatmap', 'Mask').ok).toBe(false);
    const refused = canConnect('Image', 'SamEmbedding');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toContain('Image output cannot feed a SamEmbedding input');
  });
});

describe('validateGraph', () => {
  it('accepts a valid graph and compiles it with defaults filled in', () => {
    const r = validateGraph(graph([{ id: 'a', type: 'Const' }, { id: 'b', type: 'Const', params: { value: 2 } }, { id: 's', type: 'Add' }], [
      { from: 'a.value', to: 's.a' },
      { from: 'b.value', to: 's.b' },
    ]), registry);
    expect(r.errors).toEqual([]);
    expect(r.compiled!.nodes.map((n) => n.params.value)).toEqual([1, 2, undefined]);
    expect(Object.isFrozen(r.compiled!.nodes[0]!.params)).toBe(true);
  });

  it('reports every problem at once, each with a code, the node and what to change', () => {
    const r = validateGraph(
      graph(
        [
          { id: 'a', type: 'Const', params: { value: 'ten', delayMs: -1, colour: 1 } },
          { id: 'a', type: 'Const' },
          { id: 'x', type: 'Cnst' },
          { id: 'l', type: 'Label', params: { mode: 'c', flag: 'yes' } },
          { id: 's', type: 'Add' },
          { id: 'p', type: 'Add' },
          { id: 'q', type: 'Add' },
        ],
        [
          { from: 'a.value', to: 's.a' },
          { from: 'a.nope', to: 's.b' },
          { from: 'l.text', to: 's.c' },
          { from: 'ghost.value', to: 's.b' },
          { from: 'p.sum', to: 'q.a' },
          { from: 'q.sum', to: 'p.a' },
          { from: 'a.value', to: 'p.b' },
          { from: 'a.value', to: 'q.b' },
          { from: 'nodot', to: 'q.c' },
        ],
      ),
      registry,
    );
    const codes = r.errors.map((e) => e.code);
    expect(r.ok).toBe(false);
    for (const code of ['duplicate_node_id', 'unknown_node_type', 'unknown_port', 'missing_input', 'type_mismatch', 'cycle', 'invalid_param', 'unknown_param', 'unknown_node', 'invalid_edge'])
      expect(codes, code).toContain(code);
    const byParam = (param: string) => r.errors.find((e) => e.param === param)!;
    expect(byParam('value')).toMatchObject({ code: 'invalid_param', node: 'a' });
    expect(byParam('value').message).toContain('expected a number');
    expect(byParam('delayMs').message).toContain('below the minimum 0');
    expect(byParam('mode').message).toContain('expected one of "a", "b"');
    expect(byParam('flag').message).toContain('true or false');
    expect(byParam('colour').code).toBe('unknown_param');
    expect(r.errors.find((e) => e.code === 'unknown_node_type')!.message).toContain('did you mean "Const"');
    expect(r.errors.find((e) => e.code === 'type_mismatch')).toMatchObject({ node: 's', port: 'c' });
    expect(r.errors.find((e) => e.code === 'unknown_port')).toMatchObject({ node: 'a', port: 'nope' });
    const cycle = r.errors.find((e) => e.code === 'cycle')!;
    expect(new Set(cycle.nodes)).toEqual(new Set(['p', 'q']));
    expect(cycle.message).toMatch(/p -> q -> p|q -> p -> q/);
    expect(r.errors.find((e) => e.code === 'missing_input')).toMatchObject({ node: 's', port: 'b' });
  });

  it('finds each cyclic component, with a concrete cycle for each', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, type: 'Add' }));
    const r = validateGraph(graph(nodes, [
      { from: 'a.sum', to: 'b.a' }, { from: 'b.sum', to: 'a.a' },
      { from: 'c.sum', to: 'd.a' }, { from: 'd.sum', to: 'e.a' }, { from: 'e.sum', to: 'c.a' },
      { from: 'a.sum', to: 'a.b' },
    ]), registry);
    const cycles = r.errors.filter((e) => e.code === 'cycle').map((e) => [...e.nodes!].sort().join(''));
    // The self-loop on a lies inside the a<->b component, so two components are reported.
    expect(cycles.sort()).toEqual(['ab', 'cde']);
    expect(cycles).toContain('cde');
  });

  it('reports a lone self-loop as a cycle', () => {
    const r = validateGraph(graph([{ id: 'a', type: 'Add' }, { id: 'k', type: 'Const' }], [{ from: 'a.sum', to: 'a.a' }, { from: 'k.value', to: 'a.b' }]), registry);
    expect(r.errors).toMatchObject([{ code: 'cycle', nodes: ['a'] }]);
  });

  it('refuses two edges into one input', () => {
    const r = validateGraph(graph([{ id: 'a', type: 'Const' }, { id: 's', type: 'Add' }], [
      { from: 'a.value', to: 's.a' }, { from: 'a.value', to: 's.a' }, { from: 'a.value', to: 's.b' },
    ]), registry);
    expect(r.errors.map((e) => e.code)).toEqual(['duplicate_input']);
  });

  it('resolves relative path params against the graph folder, leaving absolute ones alone', () => {
    const r = validateGraph(graph([
      { id: 'l', type: 'Label', params: { file: 'photos/../truck.jpg' } },
      { id: 'm', type: 'Label', params: { file: '/data/x.png' } },
    ]), registry, { baseDir: '/home/me/graphs' });
    expect(r.compiled!.nodes[0]!.params.file).toBe('/home/me/graphs/truck.jpg');
    expect(r.compiled!.nodes[1]!.params.file).toBe('/data/x.png');
  });
});

describe('loadGraph', () => {
  it('reports malformed JSON and wrong formats and versions as structured errors', () => {
    expect(loadGraph('{ nope', registry).errors[0]!.code).toBe('malformed_json');
    expect(loadGraph('{"format":"other","version":1,"nodes":[]}', registry).errors[0]!.code).toBe('malformed_json');
    expect(loadGraph('{"format":"samnerf.graph","version":99,"nodes":[],"edges":[]}', registry).errors[0]).toMatchObject({ code: 'unsupported_version' });
    expect(loadGraph('{"format":"samnerf.graph","version":1,"nodes":{},"edges":[]}', registry).errors[0]!.message).toContain('"nodes" must be an array');
    expect(loadGraph('{"format":"samnerf.graph","version":1,"nodes":[{"id":"a","type":"Const","version":7}],"edges":[]}', registry).errors[0]).toMatchObject({ code: 'unsupported_version', node: 'a' });
  });
});
