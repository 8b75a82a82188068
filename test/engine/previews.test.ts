// ctx.preview: a node publishes intermediate values of an output while it
// runs (NeRFTrainer's field during training). Subscribers get them in order;
// they are never outputs, never cached, and a run that fails or is
// cancelled after previewing leaves nothing behind.

import { describe, expect, it } from 'vitest';
import { defineNode, Executor, MemoryCache, NodeRegistry, validateGraph, type EngineEvent, type GraphJson, type NodePreview } from '../../engine';

/** Counts to `steps`, previewing the count every step; may fail at `failAt`, or wait for an abort at `waitAt`. */
const Counter = defineNode({
  type: 'Counter',
  version: 1,
  category: 'Test',
  description: 'counts, previewing as it goes',
  inputs: {},
  outputs: { count: { type: 'Any', description: 'the final count' } },
  params: {
    steps: { type: 'integer', default: 3, min: 0, description: 'steps' },
    failAt: { type: 'integer', default: -1, min: -1, description: 'throw at this step' },
    waitAt: { type: 'integer', default: -1, min: -1, description: 'wait for an abort at this step' },
    badPort: { type: 'boolean', default: false, description: 'preview a port that does not exist' },
  },
  async run(ctx, _inputs, p) {
    const seen: boolean[] = [];
    for (let step = 1; step <= (p.steps as number); step++) {
      await new Promise((r) => setTimeout(r, 1));
      seen.push(ctx.previewing === true);
      if (ctx.previewing) ctx.preview!(p.badPort ? 'nope' : 'count', { step, values: new Float32Array([step]) }, { step, psnr: 10 + step });
      if (step === p.failAt) throw new Error(`failed at step ${step}`);
      if (step === p.waitAt) await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    }
    // A stray late preview (after the run returned) must be dropped.
    setTimeout(() => ctx.preview!('count', { step: -1 }), 0);
    return { count: { step: p.steps, previewing: seen } };
  },
});

const registry = new NodeRegistry().register(Counter);
const graph = (params: Record<string, unknown>): GraphJson => ({ format: 'samnerf.graph', version: 1, nodes: [{ id: 'c', type: 'Counter', params }], edges: [] });
function compile(params: Record<string, unknown>) {
  const r = validateGraph(graph(params), registry);
  if (!r.compiled) throw new Error(JSON.stringify(r.errors));
  return r.compiled;
}
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('node previews', () => {
  it('subscribers get every preview in order, with the port and info; the output and the cache hold only the final value', async () => {
    const cache = new MemoryCache();
    const executor = new Executor({ host: {}, cache });
    const previews: NodePreview[] = [];
    const events: EngineEvent[] = [];
    executor.previews.on((p) => previews.push(p));
    executor.events.on((e) => events.push(e));
    const result = await executor.run(compile({ steps: 3 }));
    await tick();
    expect(result.status).toBe('done');
    expect(previews.map((p) => [p.node, p.nodeType, p.port, (p.value as { step: number }).step, p.info.step, p.info.psnr])).toEqual([
      ['c', 'Counter', 'count', 1, 1, 11],
      ['c', 'Counter', 'count', 2, 2, 12],
      ['c', 'Counter', 'count', 3, 3, 13],
    ]);
    expect(previews.map((p) => p.seq)).toEqual([1, 2, 3]);
    expect(previews.every((p) => p.runId === result.runId)).toBe(true);
    // The late preview after the run was dropped.
    expect(previews.some((p) => (p.value as { step: number }).step === -1)).toBe(false);
    // Not on the event stream, not an output, not in the cache.
    expect(events.some((e) => JSON.stringify(e).includes('values'))).toBe(false);
    const outputs = result.outputs.get('c')!;
    expect(outputs.count).toEqual({ step: 3, previewing: [true, true, true] });
    expect(cache.size).toBe(1);
    expect(cache.get(result.signatures.get('c')!)).toBe(outputs);
  });

  it('without subscribers previewing is false, so a node does not make one (the CLI)', async () => {
    const executor = new Executor({ host: {} });
    const result = await executor.run(compile({ steps: 2 }));
    expect(result.outputs.get('c')!.count).toEqual({ step: 2, previewing: [false, false] });
    // A listener that comes and goes mid-life turns it on and off.
    const off = executor.previews.on(() => undefined);
    expect(executor.previews.listening).toBe(true);
    off();
    expect(executor.previews.listening).toBe(false);
  });

  it('a run that fails after previewing leaves no output and no cache entry; the next run runs the node again', async () => {
    const cache = new MemoryCache();
    const executor = new Executor({ host: {}, cache });
    const previews: NodePreview[] = [];
    executor.previews.on((p) => previews.push(p));
    const result = await executor.run(compile({ steps: 4, failAt: 2 }));
    expect(result.status).toBe('failed');
    expect(previews.map((p) => p.info.step)).toEqual([1, 2]);
    expect(result.outputs.has('c')).toBe(false);
    expect(cache.size).toBe(0);
    const again = await executor.run(compile({ steps: 4, failAt: 2 }));
    expect(again.failures.get('c')!.message).toBe('failed at step 2');
    expect(previews.map((p) => p.info.step)).toEqual([1, 2, 1, 2]);
  });

  it('a cancelled run keeps no preview as an output, and drops previews after the abort', async () => {
    const cache = new MemoryCache();
    const executor = new Executor({ host: {}, cache });
    const previews: NodePreview[] = [];
    executor.previews.on((p) => previews.push(p));
    const controller = new AbortController();
    const running = executor.run(compile({ steps: 5, waitAt: 2 }), { signal: controller.signal });
    await expect.poll(() => previews.length).toBe(2);
    controller.abort(Object.assign(new Error('stop'), { name: 'AbortError' }));
    const result = await running;
    expect(result.status).toBe('cancelled');
    expect(result.outputs.size).toBe(0);
    expect(cache.size).toBe(0);
    expect(previews).toHaveLength(2);
  });

  it('a preview of a port the node does not have fails the node, naming it; a throwing subscriber does not', async () => {
    const executor = new Executor({ host: {} });
    executor.previews.on(() => {
      throw new Error('broken view');
    });
    const ok = await executor.run(compile({ steps: 2 }));
    expect(ok.status).toBe('done');
    const bad = await executor.run(compile({ steps: 2, badPort: true }));
    expect(bad.failures.get('c')!.message).toMatch(/node c \(Counter\) previewed "nope", which is not one of its outputs \(count\)/);
  });
});
