// The worker's engine: one registry, one Executor (so its signature cache
// survives between runs and a param change re-runs only the dirty cone),
// one host. Platform-neutral: tests drive it directly in Node; the worker
// entry exposes it through comlink.

import {
  Executor,
  NodeError,
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
  type NodePreview,
} from '../../engine';
import type { MaskFieldValue, RadianceFieldValue, ViewsValue } from '../../engine/values';
import type { ImageCodec } from '../../runtime-gpu/image/codec';
import { acquireWebGpu } from '../../runtime-gpu/webgpu/platform';
import { orbitFromViews, type Orbit } from '../orbit';
import type { BrowserHost } from './browser-host';
import { FieldRenderers, type DeviceChoice } from './field-renderers';
import { liftOrbitClick, renderOrbitFrame, type OrbitFrame, type OrbitLift, type OrbitMode } from './orbit-render';
import { renderPreview } from './previews';
import type { FieldSnapshotInfo, OrbitInfo, OutputFile, RunOptions, RunSummary, UiEvent } from './protocol';

/** Outputs kept for re-runs; a SAM embedding is 4 MB, so a few dozen entries are plenty. */
const CACHE_ENTRIES = 64;

interface Captured {
  inputs: Readonly<Record<string, unknown>>;
  outputs: NodeOutputs;
  /** Grows with every node run, so the latest capture wins. */
  seq: number;
}

const kindOf = (v: unknown): string | undefined => (typeof v === 'object' && v !== null ? ((v as { kind?: unknown }).kind as string | undefined) : undefined);

/**
 * The graph a run executes with the device menu's choice: `auto` leaves
 * every node as saved; `cpu` / `webgpu` set the `device` param of every
 * node whose `device` enum offers that value (NeRFTrainer), like the CLI's
 * --device. The document itself is not edited. Returns the ids changed.
 */
export function applyDeviceChoice(graph: GraphJson, registry: NodeRegistry, choice: DeviceChoice): { graph: GraphJson; overridden: string[] } {
  if (choice === 'auto') return { graph, overridden: [] };
  const overridden: string[] = [];
  const nodes = graph.nodes.map((n) => {
    const spec = registry.get(n.type)?.params.device;
    if (!spec || spec.type !== 'enum' || !(spec.options as readonly string[]).includes(choice)) return n;
    overridden.push(n.id);
    return { ...n, params: { ...(n.params ?? {}), device: choice } };
  });
  return { graph: { ...graph, nodes }, overridden };
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
  private captureSeq = 0;
  /** Inputs of each node while it runs (for the views of a field snapshot). */
  private readonly runningInputs = new Map<string, Readonly<Record<string, unknown>>>();
  /**
   * The latest snapshot of a field a node publishes while it runs
   * (NeRFTrainer during training): what its 3D view shows until the node
   * ends. Never an output: dropped when the node finishes, fails or is
   * cancelled (its final field, if any, comes from the run as before).
   */
  private readonly snapshots = new Map<string, { field: RadianceFieldValue; info: FieldSnapshotInfo }>();
  /** Where the running run's events go (the UI), for snapshot notices. */
  private toUi?: (event: UiEvent) => void;
  /** The device menu's choice for the latest run (the orbit view renders with it too). */
  private deviceChoice: DeviceChoice = 'auto';
  /** Nodes whose `device` param the latest run set from the menu. */
  private overridden = new Set<string>();
  private orbitController?: AbortController;

  constructor(
    source: NodeRegistry,
    readonly host: BrowserHost,
    private readonly codec: ImageCodec = host.images,
    private readonly renderers: FieldRenderers = new FieldRenderers({ acquire: (o) => acquireWebGpu(o) }),
  ) {
    // Same definitions, with run() wrapped to remember what each node saw and made.
    this.registry = new NodeRegistry().register(...source.all().map((d) => this.capturing(d)));
    this.executor = new Executor({ host, cache: new MemoryCache(CACHE_ENTRIES) });
    this.executor.previews.on((p) => this.onPreview(p));
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

  async run(saved: GraphJson, onEvent: (event: UiEvent) => void, options: RunOptions = {}): Promise<RunSummary> {
    // One run at a time: a newer graph supersedes the running one.
    this.cancel();
    await this.current?.catch(() => undefined);
    this.deviceChoice = options.device ?? 'auto';
    const { graph, overridden } = applyDeviceChoice(saved, this.registry, this.deviceChoice);
    this.overridden = new Set(overridden);
    const validation = validateGraph(graph, this.registry);
    if (!validation.ok || !validation.compiled) return { status: 'invalid', errors: validation.errors };
    const compiled = validation.compiled;
    const controller = new AbortController();
    this.controller = controller;
    const pending: Promise<void>[] = [];
    this.toUi = onEvent;
    const off = this.executor.events.on((event) => {
      // A node that ended shows its final field (or none): its snapshot goes.
      if (event.type === 'node-done' || event.type === 'node-error' || event.type === 'node-skipped') this.snapshots.delete(event.node);
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
      if (this.toUi === onEvent) this.toUi = undefined;
      for (const id of compiled.byId.keys()) this.snapshots.delete(id);
      if (this.controller === controller) this.controller = undefined;
    }
  }

  /** A field snapshot from a running node: kept for its 3D view; the UI hears of it (step, PSNR), never the field itself. */
  private onPreview(p: NodePreview): void {
    if (kindOf(p.value) !== 'RadianceField') return;
    const field = p.value as RadianceFieldValue;
    const info: FieldSnapshotInfo = { node: p.node, port: p.port, seq: p.seq, step: p.info.step ?? field.provenance.steps, psnr: p.info.psnr };
    this.snapshots.set(p.node, { field, info });
    this.toUi?.({ type: 'field-snapshot', snapshot: info });
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
        let outputs: NodeOutputs;
        this.runningInputs.set(ctx.nodeId, inputs);
        try {
          outputs = await definition.run(ctx, inputs, params);
        } catch (e) {
          // The device came from the toolbar, not from the node: say where to change it.
          if (e instanceof NodeError && e.param === 'device' && this.overridden.has(ctx.nodeId))
            throw new NodeError(`${e.message.replace(/; [^;]*$/, '')} (device "${params.device}" chosen in the toolbar's device menu)`, {
              param: 'device',
              fix: "choose auto or cpu in the toolbar's device menu",
              cause: e,
            });
          throw e;
        } finally {
          if (this.runningInputs.get(ctx.nodeId) === inputs) this.runningInputs.delete(ctx.nodeId);
        }
        this.captured.set(ctx.nodeId, { inputs, outputs, seq: ++this.captureSeq });
        return outputs;
      },
    };
  }

  // ---- the orbit view ----

  /** What the orbit view of a node shows: its field, the starting orbit, and whether a 3D mask is at hand. */
  orbitInfo(node: string): OrbitInfo {
    const source = this.orbitSource(node);
    if ('error' in source) return { ok: false, reason: source.error };
    const { field, views, mask, snapshot } = source;
    const orbit = views ? orbitFromViews(views) : orbitFromViews({ bounds: field.bounds, views: [] as ViewsValue['views'] });
    return { ok: true, orbit, mask: mask ? mask.objects.map((o) => o.name) : [], steps: field.provenance.steps, device: this.deviceChoice, snapshot };
  }

  /** Renders the node's field at the orbit camera; a newer call cancels an older one still rendering (AbortError). */
  async renderOrbit(node: string, orbit: Orbit, size: number, mode: OrbitMode): Promise<OrbitFrame & { device: string; snapshot?: FieldSnapshotInfo }> {
    this.orbitController?.abort(new DOMException('superseded by a newer orbit render', 'AbortError'));
    const controller = new AbortController();
    this.orbitController = controller;
    const source = this.orbitSource(node);
    if ('error' in source) throw new Error(source.error);
    const { render, device } = await this.renderers.renderer(source.field, this.deviceChoice);
    if (controller.signal.aborted) throw controller.signal.reason;
    const frame = await renderOrbitFrame(render, orbit, size, mode, { mask: source.mask, minAccumulation: 0.5, signal: controller.signal });
    return { ...frame, device, snapshot: source.snapshot };
  }

  /** The world point under a click in the orbit view, or why there is none. */
  async liftOrbit(node: string, orbit: Orbit, size: number, x: number, y: number, minAccumulation: number): Promise<OrbitLift & { snapshot?: FieldSnapshotInfo }> {
    const source = this.orbitSource(node);
    if ('error' in source) return { ok: false, reason: source.error, pixel: { x: Math.floor(x), y: Math.floor(y) } };
    const { render } = await this.renderers.renderer(source.field, this.deviceChoice);
    return { ...(await liftOrbitClick(render, orbit, size, x, y, minAccumulation)), snapshot: source.snapshot };
  }

  private orbitSource(node: string): { field: RadianceFieldValue; views?: ViewsValue; mask?: MaskFieldValue; snapshot?: FieldSnapshotInfo } | { error: string } {
    const live = this.snapshots.get(node);
    if (live) {
      // While the node runs: its latest snapshot, over the views it trains on (no 3D mask: those were made over an older field).
      const inputs = [...Object.values(this.runningInputs.get(node) ?? {}), ...Object.values(this.captured.get(node)?.inputs ?? {})];
      const views = inputs.find((v) => kindOf(v) === 'Views') as ViewsValue | undefined;
      return { field: live.field, views, snapshot: live.info };
    }
    const c = this.captured.get(node);
    if (!c) return { error: `${node} has not run yet: run the graph, then open its 3D view` };
    const values = [...Object.values(c.outputs), ...Object.values(c.inputs)];
    const field = values.find((v) => kindOf(v) === 'RadianceField') as RadianceFieldValue | undefined;
    if (!field) return { error: `${node} has no radiance field (the 3D view shows NeRFTrainer's field, or a node that takes one)` };
    let views = values.find((v) => kindOf(v) === 'Views') as ViewsValue | undefined;
    let mask = values.find((v) => kindOf(v) === 'MaskField') as MaskFieldValue | undefined;
    // Elsewhere in the graph: the views the field was trained on, the latest 3D mask made over this field.
    let best = -1;
    for (const other of this.captured.values()) {
      const vals = [...Object.values(other.outputs), ...Object.values(other.inputs)];
      if (!vals.includes(field)) continue;
      views ??= vals.find((v) => kindOf(v) === 'Views') as ViewsValue | undefined;
      const m = vals.find((v) => kindOf(v) === 'MaskField') as MaskFieldValue | undefined;
      if (m && !values.includes(m) && other.seq > best && !values.some((v) => kindOf(v) === 'MaskField')) {
        best = other.seq;
        mask = m;
      }
    }
    return { field, views, mask };
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
