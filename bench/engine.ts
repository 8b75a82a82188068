// Engine overhead on synthetic graphs of no-op nodes: a full run, a rerun
// where every node is a cache hit, and validation. Each figure is the
// median of several repetitions, in microseconds per node.
// Usage: npx tsx bench/engine.ts

import { defineNode, Executor, MemoryCache, NodeRegistry, validateGraph, type GraphJson } from '../engine';

const Noop = defineNode({
  type: 'Noop',
  version: 1,
  category: 'Bench',
  description: 'passes a number through',
  inputs: {
    a: { type: 'Number', description: 'first', optional: true },
    b: { type: 'Number', description: 'second', optional: true },
  },
  outputs: { out: { type: 'Number', description: 'a number' } },
  params: { k: { type: 'integer', default: 0, min: 0, description: 'distinguishes nodes' } },
  run: (_ctx, _inputs, params) => ({ out: params.k as number }),
});

/** A layered DAG: each node takes up to two inputs from the previous 64 nodes. */
function syntheticGraph(n: number): GraphJson {
  const nodes: GraphJson['nodes'] = [];
  const edges: GraphJson['edges'] = [];
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < n; i++) {
    nodes.push({ id: `n${i}`, type: 'Noop', params: { k: i }, ui: { x: i, y: 0 } });
    if (i > 0) edges.push({ from: `n${i - 1 - Math.floor(rand() * Math.min(i, 64))}.out`, to: `n${i}.a` });
    if (i > 1 && rand() < 0.5) edges.push({ from: `n${i - 1 - Math.floor(rand() * Math.min(i, 64))}.out`, to: `n${i}.b` });
  }
  return { format: 'samnerf.graph', version: 1, nodes, edges };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(n: number, repeats: number) {
  const registry = new NodeRegistry().register(Noop);
  const graph = syntheticGraph(n);
  const runs: number[] = [];
  const reruns: number[] = [];
  const validations: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let t = performance.now();
    const validation = validateGraph(graph, registry);
    validations.push(performance.now() - t);
    if (!validation.compiled) throw new Error(JSON.stringify(validation.errors.slice(0, 3)));
    const executor = new Executor({ host: {}, cache: new MemoryCache() });
    let events = 0;
    executor.events.on(() => events++);
    t = performance.now();
    const first = await executor.run(validation.compiled);
    runs.push(performance.now() - t);
    t = performance.now();
    const second = await executor.run(validation.compiled);
    reruns.push(performance.now() - t);
    if (first.status !== 'done' || second.outputs.size !== n) throw new Error('bench run did not complete');
    if (events < 3 * n) throw new Error(`expected start, done and cached events for every node, got ${events}`);
  }
  const perNode = (ms: number[]) => (median(ms) * 1000) / n;
  return { run: perNode(runs), rerun: perNode(reruns), validate: perNode(validations) };
}

const sizes = [1_000, 10_000];
let last = { run: 0, rerun: 0, validate: 0 };
for (const n of sizes) {
  await measure(n, 2); // warm-up: JIT and allocation paths
  last = await measure(n, 7);
  const line = `engine: ${n} nodes, ${last.run.toFixed(2)} us/node run, ${last.rerun.toFixed(2)} us/node cached rerun, ${last.validate.toFixed(2)} us/node validate`;
  if (n !== sizes[sizes.length - 1]) console.log(line);
  else {
    const target = 10;
    const verdict = [last.run, last.rerun, last.validate].every((v) => v < target) ? 'all under' : 'NOT all under';
    console.log(`(target: under ${target} us/node at ${n} nodes: ${verdict})`);
    console.log(line);
  }
}
