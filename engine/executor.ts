// The adapter around the Scheduler: runs node functions, consults the
// cache, freezes outputs, isolates failures and publishes events.

import { MemoryCache, type OutputCache } from './cache';
import type { NodeContext, NodeOutputs } from './definition';
import { isAbortError, NodeError } from './errors';
import { EventStream, type EngineEvent, type RunStatus } from './events';
import { checksum, deepFreeze, typedArraysIn } from './freeze';
import { Scheduler } from './scheduler';
import { nodeSignature } from './signature';
import type { CompiledGraph, CompiledNode } from './validate';

export interface RunOptions {
  /** Run only this node and what it depends on. */
  target?: string;
  signal?: AbortSignal;
  /** Nodes running at once (default: every ready node). */
  concurrency?: number;
  /** Checksum typed-array inputs around each run and fail a node that writes to them. */
  guardInputs?: boolean;
}

export interface NodeFailure {
  message: string;
  error: unknown;
}

export interface RunResult {
  runId: number;
  status: RunStatus;
  /** Outputs of every node that finished (ran or came from the cache). */
  outputs: Map<string, NodeOutputs>;
  failures: Map<string, NodeFailure>;
  signatures: Map<string, string>;
}

export interface ExecutorOptions<H> {
  host: H;
  cache?: OutputCache;
}

type Outcome = 'ok' | 'failed' | 'cancelled';

export class Executor<H = unknown> {
  readonly events = new EventStream();
  readonly cache: OutputCache;
  readonly host: H;
  private runCounter = 0;

  constructor(options: ExecutorOptions<H>) {
    this.host = options.host;
    this.cache = options.cache ?? new MemoryCache();
  }

  async run(graph: CompiledGraph, options: RunOptions = {}): Promise<RunResult> {
    const runId = ++this.runCounter;
    const started = now();
    const emit = (e: EngineEvent) => this.events.emit(e);
    let targets: number[] | undefined;
    if (options.target !== undefined) {
      const t = graph.byId.get(options.target);
      if (t === undefined) throw new Error(`--until: no node "${options.target}" in the graph`);
      targets = [t];
    }
    const scheduler = new Scheduler(graph, targets);
    const signal = options.signal ?? new AbortController().signal;
    const limit = options.concurrency ?? Infinity;
    const n = graph.nodes.length;
    const outputs: Array<NodeOutputs | undefined> = new Array(n);
    const signatures: Array<string | undefined> = new Array(n);
    const result: RunResult = { runId, status: 'done', outputs: new Map(), failures: new Map(), signatures: new Map() };
    const counts = { done: 0, cached: 0, failed: 0, skipped: 0 };
    emit({ type: 'run-start', runId, nodes: scheduler.plan.map((i) => graph.nodes[i]!.id), target: options.target });

    const queue = scheduler.initialReady();
    let active = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (queue.length > 0 && active < limit && !signal.aborted) start(queue.shift()!);
        if (active > 0) return;
        if (signal.aborted || queue.length === 0) {
          for (const i of scheduler.plan) {
            if (scheduler.isSettled(i)) continue;
            scheduler.drop(i);
            counts.skipped++;
            emit({ type: 'node-skipped', runId, node: graph.nodes[i]!.id, reason: 'cancelled' });
          }
          resolve();
        }
      };
      const start = (i: number) => {
        active++;
        this.runNode(graph.nodes[i]!, graph, outputs, signatures, runId, signal, options, counts, result).then((outcome) => {
          active--;
          if (outcome === 'ok') queue.push(...scheduler.complete(i));
          else {
            const failedId = graph.nodes[i]!.id;
            if (outcome === 'cancelled') {
              counts.skipped++;
              emit({ type: 'node-skipped', runId, node: failedId, reason: 'cancelled' });
            }
            for (const b of scheduler.fail(i)) {
              counts.skipped++;
              emit({ type: 'node-skipped', runId, node: graph.nodes[b]!.id, reason: outcome === 'failed' ? 'upstream-failed' : 'cancelled', upstream: failedId });
            }
          }
          pump();
        });
      };
      pump();
    });

    result.status = signal.aborted ? 'cancelled' : counts.failed > 0 ? 'failed' : 'done';
    emit({ type: 'run-done', runId, status: result.status, ms: round(now() - started), counts });
    return result;
  }

  private async runNode(
    node: CompiledNode,
    graph: CompiledGraph,
    outputs: Array<NodeOutputs | undefined>,
    signatures: Array<string | undefined>,
    runId: number,
    signal: AbortSignal,
    options: RunOptions,
    counts: { done: number; cached: number; failed: number },
    result: RunResult,
  ): Promise<Outcome> {
    const { definition, id } = node;
    const emit = (e: EngineEvent) => this.events.emit(e);
    const fail = (error: unknown): Outcome => {
      if (signal.aborted && (isAbortError(error) || error === signal.reason)) {
        return 'cancelled';
      }
      const message = error instanceof Error ? error.message : String(error);
      const nodeError = error instanceof NodeError ? error : undefined;
      counts.failed++;
      result.failures.set(id, { message, error });
      emit({ type: 'node-error', runId, node: id, nodeType: definition.type, message, param: nodeError?.param, port: nodeError?.port });
      return 'failed';
    };
    try {
      const inputs: Record<string, unknown> = {};
      const inputSignatures: Record<string, string> = {};
      for (const [port, source] of node.inputs) {
        inputs[port] = outputs[source.from]![source.port];
        inputSignatures[port] = `${signatures[source.from]}.${source.port}`;
      }
      const extra = definition.cacheKey ? await definition.cacheKey(node.params, this.host) : undefined;
      const signature = nodeSignature({ type: definition.type, version: definition.version, params: node.params, inputs: inputSignatures, extra });
      signatures[node.index] = signature;
      result.signatures.set(id, signature);

      const cached = definition.cache === false ? undefined : this.cache.get(signature);
      if (cached) {
        outputs[node.index] = cached;
        result.outputs.set(id, cached);
        counts.cached++;
        emit({ type: 'node-cached', runId, node: id, nodeType: definition.type });
        return 'ok';
      }
      if (signal.aborted) return 'cancelled';

      emit({ type: 'node-start', runId, node: id, nodeType: definition.type });
      const t0 = now();
      const guarded = options.guardInputs ? typedArraysIn(inputs).map((a) => [a, checksum(a)] as const) : undefined;
      const ctx: NodeContext<H> = {
        nodeId: id,
        signal,
        host: this.host,
        progress: (value, max, message) => emit({ type: 'node-progress', runId, node: id, value, max, message }),
        log: (message) => emit({ type: 'node-log', runId, node: id, message }),
      };
      const produced = await definition.run(ctx, Object.freeze(inputs), node.params);
      if (guarded) {
        for (const [array, sum] of guarded) {
          if (checksum(array) !== sum) throw new Error(`node ${id} (${definition.type}) wrote into one of its inputs; inputs are shared and immutable, copy the data before changing it`);
        }
      }
      for (const port of Object.keys(definition.outputs)) {
        if (produced?.[port] === undefined) throw new Error(`node ${id} (${definition.type}) did not produce its output "${port}" (a bug in the node)`);
      }
      deepFreeze(produced);
      outputs[node.index] = produced;
      result.outputs.set(id, produced);
      if (definition.cache !== false) this.cache.set(signature, produced);
      counts.done++;
      emit({ type: 'node-done', runId, node: id, nodeType: definition.type, ms: round(now() - t0) });
      return 'ok';
    } catch (error) {
      return fail(error);
    }
  }
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

