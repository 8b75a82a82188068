import { describe, expect, it } from 'vitest';
import { Executor, validateGraph, type EngineEvent, type GraphJson } from '../../engine';
import { applyEvent, errorsByNode, type RunStates } from '../../editor/run-status';
import { testRegistry } from '../engine/test-nodes';

describe('run status', () => {
  it('folds a real run with a failure into per-node badges', async () => {
    const graph: GraphJson = {
      format: 'samnerf.graph',
      version: 1,
      nodes: [
        { id: 'a', type: 'Const', params: { value: 2 } },
        { id: 'b', type: 'Const' },
        { id: 'sum', type: 'Add' },
        { id: 'boom', type: 'Fail' },
        { id: 'after', type: 'Add' },
      ],
      edges: [
        { from: 'a.value', to: 'sum.a' },
        { from: 'b.value', to: 'sum.b' },
        { from: 'boom.value', to: 'after.a' },
        { from: 'sum.sum', to: 'after.b' },
      ],
    };
    const compiled = validateGraph(graph, testRegistry()).compiled!;
    const executor = new Executor({ host: {} });
    let states: RunStates = {};
    const seen: string[] = [];
    executor.events.on((e: EngineEvent) => {
      states = applyEvent(states, e);
      if (e.type === 'run-start') seen.push(Object.values(states).map((s) => s.status).join(','));
    });
    await executor.run(compiled);
    expect(seen).toEqual(['queued,queued,queued,queued,queued']);
    expect(states.a!.status).toBe('done');
    expect(states.sum!.status).toBe('done');
    expect(states.boom).toMatchObject({ status: 'error', message: expect.stringContaining('always fails') });
    expect(states.after).toEqual({ status: 'idle', message: 'skipped: boom failed' });

    // Second run: everything that succeeded comes from the cache.
    await executor.run(compiled);
    expect(states.a!.status).toBe('cached');
    expect(states.sum!.status).toBe('cached');
  });

  it('tracks progress as a fraction and marks cancelled nodes idle', () => {
    let s: RunStates = applyEvent({}, { type: 'run-start', runId: 1, nodes: ['n'] });
    s = applyEvent(s, { type: 'node-start', runId: 1, node: 'n', nodeType: 'T' });
    s = applyEvent(s, { type: 'node-progress', runId: 1, node: 'n', value: 3, max: 4, message: 'step 3' });
    expect(s.n).toEqual({ status: 'running', progress: 0.75, message: 'step 3' });
    s = applyEvent(s, { type: 'node-skipped', runId: 1, node: 'n', reason: 'cancelled' });
    expect(s.n).toEqual({ status: 'idle', message: 'cancelled' });
  });

  it('groups validation errors by the node they name (every node of a cycle)', () => {
    const grouped = errorsByNode([
      { code: 'missing_input', node: 'a', port: 'x', message: 'm1' },
      { code: 'cycle', node: 'b', nodes: ['b', 'c'], message: 'm2' },
      { code: 'malformed_json', message: 'm3' },
    ]);
    expect(grouped.get('a')!.map((e) => e.message)).toEqual(['m1']);
    expect(grouped.get('c')!.map((e) => e.message)).toEqual(['m2']);
    expect(grouped.get('')!.map((e) => e.message)).toEqual(['m3']);
  });
});
