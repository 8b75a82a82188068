import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createMigrationSequence,
  defineNode,
  GRAPH_MIGRATIONS,
  GRAPH_VERSION,
  loadGraph,
  migrate,
  NodeRegistry,
  saveGraph,
  validateGraph,
  type GraphNodeJson,
} from '../../engine';
import { testRegistry } from './test-nodes';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'graphs');

describe('migration sequences', () => {
  const seq = createMigrationSequence<{ v: number[] }>('demo', [
    { id: 'demo/2', up: (x) => ({ v: [...x.v, 2] }) },
    { id: 'demo/3', up: (x) => ({ v: [...x.v, 3] }) },
  ]);

  it('applies every step from the stored version to the current one, in order', () => {
    expect(migrate(seq, { v: [1] }, 1)).toEqual({ ok: true, value: { v: [1, 2, 3] }, from: 1, to: 3 });
    expect(migrate(seq, { v: [1, 2] }, 2)).toMatchObject({ ok: true, value: { v: [1, 2, 3] } });
    expect(migrate(seq, { v: [1, 2, 3] }, 3)).toMatchObject({ ok: true, value: { v: [1, 2, 3] } });
  });

  it('refuses newer and nonsense versions, and steps that are not contiguous', () => {
    expect(migrate(seq, { v: [] }, 4)).toMatchObject({ ok: false, reason: 'too_new' });
    expect(migrate(seq, { v: [] }, 0)).toMatchObject({ ok: false, reason: 'invalid_version' });
    expect(() => createMigrationSequence('x', [{ id: 'x/3', up: (v) => v }])).toThrow('expected "x/2"');
  });
});

// A node type that has changed twice: v1 called the param "thresh" (0-255),
// v2 renamed it "threshold" (0-1), v3 added "mode". Old graphs must load.
const Threshold = defineNode({
  type: 'Threshold',
  version: 3,
  category: 'Test',
  description: 'test node with a history',
  inputs: {},
  outputs: { value: { type: 'Number', description: 'x' } },
  params: {
    threshold: { type: 'number', default: 0.5, min: 0, max: 1, description: 'cut-off' },
    mode: { type: 'enum', options: ['above', 'below'], default: 'above', description: 'side' },
  },
  migrations: createMigrationSequence<GraphNodeJson>('Threshold', [
    {
      id: 'Threshold/2',
      description: 'thresh (0-255) became threshold (0-1)',
      up: ({ params: { thresh, ...rest } = {}, ...node }) => ({ ...node, params: { ...rest, ...(thresh === undefined ? {} : { threshold: (thresh as number) / 255 }) } }),
    },
    { id: 'Threshold/3', description: 'mode added; old graphs meant "above"', up: (node) => ({ ...node, params: { mode: 'above', ...node.params } }) },
  ]),
  run: () => ({ value: 1 }),
});

describe('node migrations', () => {
  const registry = new NodeRegistry().register(Threshold);

  it('upgrades a node from each older version to the current one', () => {
    const v1 = { format: 'samnerf.graph', version: 1, nodes: [{ id: 't', type: 'Threshold', version: 1, params: { thresh: 51 } }], edges: [] };
    const loaded = loadGraph(v1, registry);
    expect(loaded.errors).toEqual([]);
    expect(loaded.graph!.nodes[0]).toEqual({ id: 't', type: 'Threshold', version: 3, params: { threshold: 0.2, mode: 'above' } });
    expect(loaded.upgraded).toEqual(['node t: Threshold 1 -> 3']);
    const v2 = { ...v1, nodes: [{ id: 't', type: 'Threshold', version: 2, params: { threshold: 0.7, mode: 'below' } }] };
    expect(loadGraph(v2, registry).graph!.nodes[0]!.params).toEqual({ threshold: 0.7, mode: 'below' });
    expect(validateGraph(loaded.graph!, registry).ok).toBe(true);
  });

  it('rejects a node written by a newer samnerf', () => {
    const v9 = { format: 'samnerf.graph', version: 1, nodes: [{ id: 't', type: 'Threshold', version: 9 }], edges: [] };
    expect(loadGraph(v9, registry).errors[0]).toMatchObject({ code: 'unsupported_version', node: 't' });
  });
});

describe('graph format fixtures', () => {
  it(`the current graph format version is ${GRAPH_VERSION}, with one fixture folder per version`, () => {
    expect(GRAPH_VERSION).toBe(GRAPH_MIGRATIONS.migrations.length + 1);
    const versions = readdirSync(fixtures).filter((d) => /^v\d+$/.test(d)).map((d) => Number(d.slice(1))).sort();
    expect(versions).toEqual(Array.from({ length: GRAPH_VERSION }, (_, i) => i + 1));
  });

  for (const version of readdirSync(fixtures).filter((d) => /^v\d+$/.test(d))) {
    for (const file of readdirSync(join(fixtures, version)).filter((f) => f.endsWith('.input.json'))) {
      it(`${version}/${file} loads, validates and upgrades to its expected form`, () => {
        const registry = testRegistry();
        const input = readFileSync(join(fixtures, version, file), 'utf8');
        const expected = JSON.parse(readFileSync(join(fixtures, version, file.replace('.input.json', '.expected.json')), 'utf8'));
        const loaded = loadGraph(input, registry);
        expect(loaded.errors).toEqual([]);
        expect(validateGraph(loaded.graph!, registry).errors).toEqual([]);
        expect(JSON.parse(saveGraph(loaded.graph!, registry))).toEqual(expected);
      });
    }
  }

  it('keeps unknown keys of the document, nodes, edges and ui through load and save', () => {
    const registry = testRegistry();
    const doc = {
      format: 'samnerf.graph', version: 1, name: 'x', 'x-tool': { made: 'by hand' },
      nodes: [{ id: 'a', type: 'Const', params: { value: 3 }, ui: { x: 1, y: 2, collapsed: true }, note: 'keep me' }],
      edges: [],
    };
    const saved = JSON.parse(saveGraph(loadGraph(JSON.stringify(doc), registry).graph!, registry));
    expect(saved['x-tool']).toEqual({ made: 'by hand' });
    expect(saved.nodes[0]).toEqual({ id: 'a', type: 'Const', version: 1, params: { value: 3 }, ui: { x: 1, y: 2, collapsed: true }, note: 'keep me' });
  });
});
