// The adapter around the Scheduler: runs node functions, consults the
// cache, freezes outputs, isolates failures and publishes events.

import { MemoryCache, type OutputCache } from './cache';
import type { NodeContext, NodeOutputs } from './definition';
import { isAbortError, NodeError } from './errors';
import { EventStream, PreviewStream, type EngineEvent, type PreviewInfo, type RunStatus } from './events';
import { checksum, deepFreeze, typedArraysIn } from './freeze';
import { Scheduler } from './scheduler';
import { canonicalJson, nodeSignature, staticSignature } from './signature';
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
  /** Intermediate output values nodes publish while they run (ctx.preview); never outputs, never cached. */
  readonly previews = new PreviewStream();
  private previewSeq = 0;
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
    const result: RunResult = { runId, status: 'done', outputs: new Map(), failures: new Map(), signatures: new Map() };
    const counts = { done: 0, cached: 0, failed: 0, skipped: 0 };
    const state: RunState = { runId, signal, guardInputs: !!options.guardInputs, outputs: new Array(n), signatures: new Array(n), counts, result };
    emit({ type: 'run-start', runId, nodes: scheduler.plan.map((i) => graph.nodes[i]!.id), target: options.target });

    // A queue with a moving head: Array.shift() is linear on large arrays.
    const queue = scheduler.initialReady();
    let head = 0;
    let active = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (head < queue.length && active < limit && !signal.aborted) start(queue[head++]!);
        if (active > 0) return;
        if (signal.aborted || head === queue.length) {
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
        this.runNode(graph.nodes[i]!, state).then((outcome) => {
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

  private async runNode(node: CompiledNode, run: RunState): Promise<Outcome> {
    const { definition, id } = node;
    try {
      const inputs: Record<string, unknown> = {};
      const sources: string[] = [];
      for (const [port, source] of node.inputs) {
        inputs[port] = run.outputs[source.from]![source.port];
        sources.push(port, run.signatures[source.from]!, source.port);
      }
      const extra = definition.cacheKey ? await definition.cacheKey(node.params, this.host) : undefined;
      node.staticSignature ??= staticSignature(definition.type, definition.version, canonicalJson(node.params));
      const signature = nodeSignature(node.staticSignature, sources, extra);
      run.signatures[node.index] = signature;
      run.result.signatures.set(id, signature);

      const cached = definition.cache === false ? undefined : this.cache.get(signature);
      if (cached) {
        run.outputs[node.index] = cached;
        run.result.outputs.set(id, cached);
        run.counts.cached++;
        this.events.emit({ type: 'node-cached', runId: run.runId, node: id, nodeType: definition.type });
        return 'ok';
      }
      if (run.signal.aborted) return 'cancelled';

      this.events.emit({ type: 'node-start', runId: run.runId, node: id, nodeType: definition.type });
      const t0 = now();
      const guarded = run.guardInputs ? typedArraysIn(inputs).map((a) => [a, checksum(a)] as const) : undefined;
      const ctx = new RunContext<H>(id, run.runId, run.signal, this.host, this.events, this.cache, definition.type, node, run.signatures, this.previews, () => ++this.previewSeq);
      let produced: NodeOutputs;
      try {
        produced = await definition.run(ctx, Object.freeze(inputs), node.params);
      } finally {
        // Previews end with the run: a late one (from a timer, a stray promise) is dropped.
        ctx.closed = true;
      }
      if (guarded) {
        for (const [array, sum] of guarded) {
          if (checksum(array) !== sum) throw new Error(`node ${id} (${definition.type}) wrote into one of its inputs; inputs are shared and immutable, copy the data before changing it`);
        }
      }
      for (const port in definition.outputs) {
        if (produced?.[port] === undefined) throw new Error(`node ${id} (${definition.type}) did not produce its output "${port}" (a bug in the node)`);
      }
      deepFreeze(produced);
      run.outputs[node.index] = produced;
      run.result.outputs.set(id, produced);
      if (definition.cache !== false) this.cache.set(signature, produced);
      run.counts.done++;
      this.events.emit({ type: 'node-done', runId: run.runId, node: id, nodeType: definition.type, ms: round(now() - t0) });
      return 'ok';
    } catch (error) {
      return this.failed(node, run, error);
    }
  }

  private failed(node: CompiledNode, run: RunState, error: unknown): Outcome {
    if (run.signal.aborted && (isAbortError(error) || error === run.signal.reason)) return 'cancelled';
    const message = error instanceof Error ? error.message : String(error);
    const nodeError = error instanceof NodeError ? error : undefined;
    run.counts.failed++;
    run.result.failures.set(node.id, { message, error });
    this.events.emit({ type: 'node-error', runId: run.runId, node: node.id, nodeType: node.definition.type, message, param: nodeError?.param, port: nodeError?.port });
    return 'failed';
  }
}

/** Per-run bookkeeping shared by the node runs of one Executor.run call. */
interface RunState {
  runId: number;
  signal: AbortSignal;
  guardInputs: boolean;
  outputs: Array<NodeOutputs | undefined>;
  signatures: Array<string | undefined>;
  counts: { done: number; cached: number; failed: number; skipped: number };
  result: RunResult;
}

/** A class rather than an object of closures: thousands of nodes per run make allocation count. */
class RunContext<H> implements NodeContext<H> {
  closed = false;

  constructor(
    readonly nodeId: string,
    private readonly runId: number,
    readonly signal: AbortSignal,
    readonly host: H,
    private readonly events: EventStream,
    private readonly cache: OutputCache,
    private readonly nodeType: string,
    private readonly node: CompiledNode,
    private readonly signatures: Array<string | undefined>,
    private readonly previews: PreviewStream,
    private readonly nextPreviewSeq: () => number,
  ) {}

  get previewing(): boolean {
    return !this.closed && !this.signal.aborted && this.previews.listening;
  }

  preview(port: string, value: unknown, info: PreviewInfo = {}): void {
    if (!(port in this.node.definition.outputs))
      throw new Error(`node ${this.nodeId} (${this.nodeType}) previewed "${port}", which is not one of its outputs (${Object.keys(this.node.definition.outputs).join(', ')}) (a bug in the node)`);
    if (!this.previewing || value === undefined) return;
    this.previews.emit({ runId: this.runId, node: this.nodeId, nodeType: this.nodeType, port, value, info: { ...info }, seq: this.nextPreviewSeq() });
  }

  inputSignature(port: string): string | undefined {
    const source = this.node.inputs.get(port);
    return source ? `${this.signatures[source.from]}.${source.port}` : undefined;
  }

  async memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
    // Namespaced by node type so two node types never share an entry by accident.
    const signature = `memo:${this.nodeType}:${key}`;
    const hit = this.cache.get(signature);
    if (hit) return hit.value as T;
    const value = deepFreeze(await compute());
    this.cache.set(signature, { value });
    return value;
  }

  progress(value: number, max: number, message?: string): void {
    this.events.emit({ type: 'node-progress', runId: this.runId, node: this.nodeId, value, max, message });
  }

  log(message: string): void {
    this.events.emit({ type: 'node-log', runId: this.runId, node: this.nodeId, message });
  }
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

