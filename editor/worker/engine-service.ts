// The worker's engine: one registry, one Executor (so its signature cache
// survives between runs and a param change re-runs only the dirty cone),
// one host. Platform-neutral: tests drive it directly in Node; the worker
// entry exposes it through comlink.

import {
  Executor,
  loadGraph,
  MemoryCache,
  saveGraph,
  NodeRegistry,
  validateGraph,
  type CompiledGraph,
  type GraphError,
  type GraphJson,
  type LoadResult,
  type NodeDefinition,
  type NodeDescription,
  type NodeOutputs,
} from '../../engine';
import type { ImageCodec } from '../../runtime-gpu/image/codec';
import type { BrowserHost } from './browser-host';
import { renderPreview } from './previews';
import type { OutputFile, RunSummary, UiEvent } from './protocol';

/** Outputs kept for re-runs; a SAM embedding is 4 MB, so a few dozen entries are plenty. */
const CACHE_ENTRIES = 64;

interface Captured {
  inputs: Readonly<Record<string, unknown>>;
  outputs: NodeOutputs;
}

export class EngineService {
  private readonly registry: NodeRegistry;
  private readonly executor: Executor<BrowserHost>;
  /** The latest inputs and outputs of each node that ran, for its preview. */
  private readonly captured = new Map<string, Captured>();
  /** Which outputs object each node's preview shows (the cache hands back the same object). */
  private readonly previewed = new Map<string, NodeOutputs>();
  private previewVersion = 0;
  private controller?: AbortController;
  private current?: Promise<unknown>;

  constructor(
    source: NodeRegistry,
    readonly host: BrowserHost,
    private readonly codec: ImageCodec = host.images,
  ) {
    // Same definitions, with run() wrapped to remember what each node saw and made.
    this.registry = new NodeRegistry().register(...source.all().map((d) => this.capturing(d)));
    this.executor = new Executor({ host, cache: new MemoryCache(CACHE_ENTRIES) });
  }

  describe(): NodeDescription[] {
    return this.registry.describe();
  }

  putFile(name: string, bytes: Uint8Array): void {
    this.host.files.put(name, bytes);
  }

  validate(graph: GraphJson): GraphError[] {
    return validateGraph(graph, this.registry).errors;
  }

  load(text: string): LoadResult {
    return loadGraph(text, this.registry);
  }

  serialize(graph: GraphJson): string {
    return saveGraph(graph, this.registry);
  }

  cancel(): void {
    this.controller?.abort(new DOMException('cancelled by the user', 'AbortError'));
  }

  async run(graph: GraphJson, onEvent: (event: UiEvent) => void): Promise<RunSummary> {
    // One run at a time: a newer graph supersedes the running one.
    this.cancel();
    await this.current?.catch(() => undefined);
    const validation = validateGraph(graph, this.registry);
    if (!validation.ok || !validation.compiled) return { status: 'invalid', errors: validation.errors };
    const compiled = validation.compiled;
    const controller = new AbortController();
    this.controller = controller;
    const pending: Promise<void>[] = [];
    const off = this.executor.events.on((event) => {
      onEvent(event);
      if (event.type === 'node-done') {
        const c = this.captured.get(event.node);
        if (c) pending.push(this.sendPreview(event.node, compiled, c.outputs, Object.values(c.inputs), onEvent));
      }
    });
    const running = this.executor.run(compiled, { signal: controller.signal });
    this.current = running;
    try {
      const result = await running;
      // Cached nodes did not run: picture them from the run's outputs.
      for (const [id, outputs] of result.outputs) {
        if (this.previewed.get(id) !== outputs) pending.push(this.sendPreview(id, compiled, outputs, this.inputsOf(id, compiled, result.outputs), onEvent));
      }
      await Promise.all(pending);
      return { status: result.status, errors: [] };
    } finally {
      off();
      if (this.controller === controller) this.controller = undefined;
    }
  }

  outputs(): OutputFile[] {
    return [...this.host.output.files].map(([key, bytes]) => {
      const slash = key.indexOf('/');
      return { node: key.slice(0, slash), path: key.slice(slash + 1), size: bytes.length };
    });
  }

  readOutput(node: string, path: string): Uint8Array | undefined {
    return this.host.output.files.get(`${node}/${path}`);
  }

  private capturing(definition: NodeDefinition): NodeDefinition {
    return {
      ...definition,
      run: async (ctx, inputs, params) => {
        const outputs = await definition.run(ctx, inputs, params);
        this.captured.set(ctx.nodeId, { inputs, outputs });
        return outputs;
      },
    };
  }

  private inputsOf(id: string, compiled: CompiledGraph, outputs: ReadonlyMap<string, NodeOutputs>): unknown[] {
    const node = compiled.nodes[compiled.byId.get(id)!];
    if (!node) return [];
    return [...node.inputs.values()].map((i) => outputs.get(compiled.nodes[i.from]!.id)?.[i.port]);
  }

  private async sendPreview(id: string, compiled: CompiledGraph, outputs: NodeOutputs, inputs: unknown[], onEvent: (e: UiEvent) => void): Promise<void> {
    this.previewed.set(id, outputs);
    const node = compiled.nodes[compiled.byId.get(id)!];
    if (!node) return;
    try {
      const preview = await renderPreview(id, outputs, Object.keys(node.definition.outputs), inputs, ++this.previewVersion, this.codec);
      if (preview) onEvent({ type: 'preview', preview });
    } catch (e) {
      // A preview is a convenience: say why it is missing, never fail the run for it.
      onEvent({ type: 'node-log', runId: 0, node: id, message: `no preview: ${(e as Error).message}` });
    }
  }
}
