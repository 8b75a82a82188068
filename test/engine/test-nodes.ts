// Small node types for engine tests: numbers in, numbers out, with knobs to
// fail, wait, and record the order and overlap of runs.

import { defineNode, NodeError, NodeRegistry, type NodeDefinition } from '../../engine';

export interface Probe {
  runs: string[];
  active: number;
  maxActive: number;
}

export function newProbe(): Probe {
  return { runs: [], active: 0, maxActive: 0 };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    });
  });

export function testRegistry(probe: Probe = newProbe()): NodeRegistry {
  const track = async <T>(id: string, delayMs: number, signal: AbortSignal, work: () => T): Promise<T> => {
    probe.runs.push(id);
    probe.active++;
    probe.maxActive = Math.max(probe.maxActive, probe.active);
    try {
      if (delayMs > 0) await sleep(delayMs, signal);
      return work();
    } finally {
      probe.active--;
    }
  };
  const Const = defineNode({
    type: 'Const',
    version: 1,
    category: 'Test',
    description: 'A number',
    inputs: {},
    outputs: { value: { type: 'Number', description: 'the value' } },
    params: {
      value: { type: 'number', default: 1, min: -1e9, max: 1e9, description: 'the number' },
      delayMs: { type: 'integer', default: 0, min: 0, description: 'wait before answering' },
    },
    run: (ctx, _inputs, p) => track(ctx.nodeId, p.delayMs as number, ctx.signal, () => ({ value: p.value as number })),
  });
  const Add = defineNode({
    type: 'Add',
    version: 1,
    category: 'Test',
    description: 'a + b (+ c)',
    inputs: {
      a: { type: 'Number', description: 'first' },
      b: { type: 'Number', description: 'second' },
      c: { type: 'Number', description: 'optional third', optional: true },
    },
    outputs: { sum: { type: 'Number', description: 'the sum' } },
    params: { delayMs: { type: 'integer', default: 0, min: 0, description: 'wait before answering' } },
    run: (ctx, i, p) =>
      track(ctx.nodeId, p.delayMs as number, ctx.signal, () => {
        ctx.progress(1, 1, 'added');
        return { sum: (i.a as number) + (i.b as number) + ((i.c as number | undefined) ?? 0) };
      }),
  });
  const Fail = defineNode({
    type: 'Fail',
    version: 1,
    category: 'Test',
    description: 'Always fails',
    inputs: { x: { type: 'Number', description: 'ignored', optional: true } },
    outputs: { value: { type: 'Number', description: 'never' } },
    params: {},
    run: (ctx) => {
      probe.runs.push(ctx.nodeId);
      throw new NodeError('this node always fails', { param: 'none', fix: 'remove it' });
    },
  });
  const Label = defineNode({
    type: 'Label',
    version: 1,
    category: 'Test',
    description: 'A string',
    inputs: {},
    outputs: { text: { type: 'String', description: 'text' } },
    params: {
      text: { type: 'string', default: '', description: 'text' },
      mode: { type: 'enum', options: ['a', 'b'], default: 'a', description: 'a mode' },
      file: { type: 'path', mode: 'file', default: '', description: 'a file' },
      flag: { type: 'boolean', default: false, description: 'a flag' },
    },
    run: (_ctx, _i, p) => ({ text: `${p.text}|${p.file}` }),
  });
  const Mutate = defineNode({
    type: 'Mutate',
    version: 1,
    category: 'Test',
    description: 'Writes into its input (a bug the executor must catch)',
    inputs: { bytes: { type: 'Any', description: 'a holder of a typed array' } },
    outputs: {},
    params: {},
    run: (_ctx, i) => {
      (i.bytes as { data: Uint8Array }).data[0] = 42;
      return {};
    },
  });
  const Bytes = defineNode({
    type: 'Bytes',
    version: 1,
    category: 'Test',
    description: 'A holder of bytes',
    inputs: {},
    outputs: { bytes: { type: 'Image', description: 'bytes' } },
    params: {},
    run: () => ({ bytes: { kind: 'Image', width: 1, height: 1, name: 'b', data: new Uint8Array([1, 2, 3]) } }),
  });
  return new NodeRegistry().register(Const, Add, Fail, Label, Mutate, Bytes as NodeDefinition);
}
