import { describe, expect, it } from 'vitest';
import { Executor, MemoryCache, validateGraph, type EngineEvent, type GraphJson } from '../../engine';
import { newProbe, testRegistry } from './test-nodes';

const graph = (nodes: GraphJson['nodes'], edges: GraphJson['edges'] = []): GraphJson => ({ format: 'samnerf.graph', version: 1, nodes, edges });

function compile(g: GraphJson, registry = testRegistry()) {
  const r = validateGraph(g, registry);
  if (!r.compiled) throw new Error(JSON.stringify(r.errors));
  return r.compiled;
}

function recording(executor: Executor) {
  const events: EngineEvent[] = [];
  executor.events.on((e) => events.push(e));
  return events;
}

/** A seeded random DAG of Const leaves and Add nodes wired to earlier nodes. */
function randomDag(n: number, seed: number): GraphJson {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const nodes: GraphJson['nodes'] = [];
  const edges: GraphJson['edges'] = [];
  for (let i = 0; i < n; i++) {
    if (i < 3 || rand() < 0.2) nodes.push({ id: `n${i}`, type: 'Const', params: { value: i } });
    else {
      nodes.push({ id: `n${i}`, type: 'Add' });
      const a = Math.floor(rand() * i);
      const b = Math.floor(rand() * i);
      edges.push({ from: `n${a}.${nodes[a]!.type === 'Const' ? 'value' : 'sum'}`, to: `n${i}.a` });
      edges.push({ from: `n${b}.${nodes[b]!.type === 'Const' ? 'value' : 'sum'}`, to: `n${i}.b` });
    }
  }
  // Shuffle the node list so file order is not already a valid order.
  for (let i = nodes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
  }
  return graph(nodes, edges);
}

describe('Executor', () => {
  it('runs random DAGs in a valid dependency order and computes the right values', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const g = randomDag(60, seed);
      const probe = newProbe();
      const compiled = compile(g, testRegistry(probe));
      const result = await new Executor({ host: {} }).run(compiled);
      expect(result.status).toBe('done');
      const position = new Map(probe.runs.map((id, i) => [id, i]));
      for (const e of g.edges) expect(position.get(e.from.split('.')[0]!)!).toBeLessThan(position.get(e.to.split('.')[0]!)!);
      // Recompute the values independently, in a simple fixed-point loop.
      const value = new Map<string, number>();
      for (const n of g.nodes) if (n.type === 'Const') value.set(n.id, n.params!.value as number);
      while (value.size < g.nodes.length) {
        for (const n of g.nodes) {
          if (value.has(n.id)) continue;
          const ins = g.edges.filter((e) => e.to.startsWith(`${n.id}.`)).map((e) => value.get(e.from.split('.')[0]!));
          if (ins.every((v) => v !== undefined)) value.set(n.id, ins.reduce((a, b) => a! + b!, 0)!);
        }
      }
      for (const n of g.nodes) {
        const out = result.outputs.get(n.id)!;
        expect(n.type === 'Const' ? out.value : out.sum).toBe(value.get(n.id));
      }
    }
  });

  it('runs independent branches concurrently', async () => {
    const probe = newProbe();
    const compiled = compile(graph([
      { id: 'a', type: 'Const', params: { delayMs: 40 } },
      { id: 'b', type: 'Const', params: { delayMs: 40 } },
      { id: 's', type: 'Add' },
    ], [{ from: 'a.value', to: 's.a' }, { from: 'b.value', to: 's.b' }]), testRegistry(probe));
    await new Executor({ host: {} }).run(compiled);
    expect(probe.maxActive).toBe(2);
    const limited = newProbe();
    await new Executor({ host: {} }).run(compile(graph([
      { id: 'a', type: 'Const', params: { delayMs: 10 } },
      { id: 'b', type: 'Const', params: { delayMs: 10 } },
    ]), testRegistry(limited)), { concurrency: 1 });
    expect(limited.maxActive).toBe(1);
  });

  it('re-runs only the dirty cone after a param change; layout changes re-run nothing', async () => {
    const probe = newProbe();
    const registry = testRegistry(probe);
    const executor = new Executor({ host: {}, cache: new MemoryCache() });
    const make = (bValue: number, x = 0) => compile(graph([
      { id: 'a', type: 'Const', params: { value: 1 }, ui: { x, y: 0 } },
      { id: 'b', type: 'Const', params: { value: bValue } },
      { id: 'ab', type: 'Add' },
      { id: 'aa', type: 'Add' },
      { id: 'top', type: 'Add' },
    ], [
      { from: 'a.value', to: 'ab.a' }, { from: 'b.value', to: 'ab.b' },
      { from: 'a.value', to: 'aa.a' }, { from: 'a.value', to: 'aa.b' },
      { from: 'ab.sum', to: 'top.a' }, { from: 'aa.sum', to: 'top.b' },
    ]), registry);
    const first = await executor.run(make(2));
    expect(first.outputs.get('top')!.sum).toBe(5);
    expect(probe.runs.sort()).toEqual(['a', 'aa', 'ab', 'b', 'top']);

    probe.runs = [];
    const events = recording(executor);
    const second = await executor.run(make(10));
    expect(probe.runs.sort()).toEqual(['ab', 'b', 'top']);
    expect(second.outputs.get('top')!.sum).toBe(13);
    expect(events.filter((e) => e.type === 'node-cached').map((e) => (e as { node: string }).node).sort()).toEqual(['a', 'aa']);

    probe.runs = [];
    await executor.run(make(10, 500));
    expect(probe.runs).toEqual([]);
  });

  it('runs only what a target needs', async () => {
    const probe = newProbe();
    const compiled = compile(graph([
      { id: 'a', type: 'Const' }, { id: 'b', type: 'Const' }, { id: 'c', type: 'Const' },
      { id: 'ab', type: 'Add' }, { id: 'bc', type: 'Add' },
    ], [{ from: 'a.value', to: 'ab.a' }, { from: 'b.value', to: 'ab.b' }, { from: 'b.value', to: 'bc.a' }, { from: 'c.value', to: 'bc.b' }]), testRegistry(probe));
    const result = await new Executor({ host: {} }).run(compiled, { target: 'ab' });
    expect(probe.runs.sort()).toEqual(['a', 'ab', 'b']);
    expect([...result.outputs.keys()].sort()).toEqual(['a', 'ab', 'b']);
    await expect(new Executor({ host: {} }).run(compiled, { target: 'zz' })).rejects.toThrow('no node "zz"');
  });

  it('stops only the descendants of a failed node', async () => {
    const probe = newProbe();
    const executor = new Executor({ host: {} });
    const events = recording(executor);
    const result = await executor.run(compile(graph([
      { id: 'bad', type: 'Fail' }, { id: 'k', type: 'Const' },
      { id: 'after', type: 'Add' }, { id: 'after2', type: 'Add' }, { id: 'ok', type: 'Add' },
    ], [
      { from: 'bad.value', to: 'after.a' }, { from: 'k.value', to: 'after.b' },
      { from: 'after.sum', to: 'after2.a' }, { from: 'k.value', to: 'after2.b' },
      { from: 'k.value', to: 'ok.a' }, { from: 'k.value', to: 'ok.b' },
    ]), testRegistry(probe)));
    expect(result.status).toBe('failed');
    expect(result.outputs.get('ok')!.sum).toBe(2);
    expect(probe.runs).not.toContain('after');
    const error = events.find((e) => e.type === 'node-error')!;
    expect(error).toMatchObject({ node: 'bad', nodeType: 'Fail', param: 'none' });
    expect((error as { message: string }).message).toBe('this node always fails; remove it');
    const skipped = events.filter((e) => e.type === 'node-skipped');
    expect(skipped.map((e) => (e as { node: string }).node).sort()).toEqual(['after', 'after2']);
    expect(events.at(-1)).toMatchObject({ type: 'run-done', status: 'failed', counts: { done: 2, failed: 1, skipped: 2 } });
  });

  it('cancels mid-run through an AbortSignal: running nodes see it, waiting nodes never start', async () => {
    const probe = newProbe();
    const executor = new Executor({ host: {} });
    const events = recording(executor);
    const controller = new AbortController();
    const compiled = compile(graph([
      { id: 'fast', type: 'Const' },
      { id: 'slow', type: 'Const', params: { delayMs: 5000 } },
      { id: 'sum', type: 'Add' },
    ], [{ from: 'fast.value', to: 'sum.a' }, { from: 'slow.value', to: 'sum.b' }]), testRegistry(probe));
    const started = Date.now();
    const running = executor.run(compiled, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    const result = await running;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.status).toBe('cancelled');
    expect(probe.runs).not.toContain('sum');
    expect(events.filter((e) => e.type === 'node-skipped').map((e) => (e as { node: string }).node).sort()).toEqual(['slow', 'sum']);
    expect(events.filter((e) => e.type === 'node-error')).toEqual([]);
  });

  it('emits the event stream in order for a simple run', async () => {
    const executor = new Executor({ host: {} });
    const events = recording(executor);
    await executor.run(compile(graph([{ id: 'a', type: 'Const' }, { id: 'b', type: 'Const' }, { id: 's', type: 'Add' }], [
      { from: 'a.value', to: 's.a' }, { from: 'b.value', to: 's.b' },
    ])));
    const forS = events.filter((e) => 'node' in e && e.node === 's').map((e) => e.type);
    expect(forS).toEqual(['node-start', 'node-progress', 'node-done']);
    expect(events[0]).toMatchObject({ type: 'run-start', nodes: ['a', 'b', 's'] });
    expect(events.at(-1)).toMatchObject({ type: 'run-done', status: 'done', counts: { done: 3, cached: 0 } });
  });

  it('hands out immutable outputs and catches a node that writes into its input', async () => {
    const executor = new Executor({ host: {} });
    const compiled = compile(graph([{ id: 'b', type: 'Bytes' }, { id: 'm', type: 'Mutate' }], [{ from: 'b.bytes', to: 'm.bytes' }]));
    const result = await executor.run(compiled, { guardInputs: true });
    const bytes = result.outputs.get('b')!.bytes as { width: number };
    expect(Object.isFrozen(bytes)).toBe(true);
    expect(() => { (bytes as { width: number }).width = 5; }).toThrow();
    expect(result.failures.get('m')!.message).toContain('wrote into one of its inputs');
  });
});

describe('NodeContext.memo and inputSignature', () => {
  it('caches per-item work across runs, keyed by the input signature', async () => {
    const { defineNode, NodeRegistry } = await import('../../engine');
    let computed: string[] = [];
    const PerItem = defineNode({
      type: 'PerItem',
      version: 1,
      category: 'Test',
      description: 'squares each item of 0..count-1, memoised per item',
      inputs: { base: { type: 'Number', description: 'added to each item' } },
      outputs: { total: { type: 'Number', description: 'sum' } },
      params: { count: { type: 'integer', default: 3, min: 0, description: 'items' } },
      async run(ctx, inputs, params) {
        let total = 0;
        for (let i = 0; i < (params.count as number); i++) {
          total += await ctx.memo(`${ctx.inputSignature('base')}|${i}`, async () => {
            computed.push(`${inputs.base}:${i}`);
            return ((inputs.base as number) + i) ** 2;
          });
        }
        return { total };
      },
    });
    const registry = testRegistry().register(PerItem);
    const executor = new Executor({ host: {} });
    const make = (value: number, count: number) => compile(graph([{ id: 'k', type: 'Const', params: { value } }, { id: 'p', type: 'PerItem', params: { count } }], [{ from: 'k.value', to: 'p.base' }]), registry);
    expect((await executor.run(make(1, 2))).outputs.get('p')!.total).toBe(1 + 4);
    expect(computed).toEqual(['1:0', '1:1']);
    computed = [];
    // More items: only the new one is computed.
    expect((await executor.run(make(1, 3))).outputs.get('p')!.total).toBe(1 + 4 + 9);
    expect(computed).toEqual(['1:2']);
    computed = [];
    // A different input: everything is new.
    expect((await executor.run(make(2, 2))).outputs.get('p')!.total).toBe(4 + 9);
    expect(computed).toEqual(['2:0', '2:1']);
    expect(NodeRegistry).toBeDefined();
  });
});
