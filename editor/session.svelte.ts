// The editor's controller: one canvas, one worker, one document. It turns
// user actions into canvas edits (each an undo step), keeps the document in
// the CLI's format through graph-sync, and feeds the worker's validation
// errors, run events and previews back onto the nodes. It decides nothing
// about types, validity or execution: the worker's engine does.

import * as Comlink from 'comlink';
import { AreaExtensions } from 'rete-area-plugin';
import type { SocketData } from 'rete-connection-plugin';
import { emptyGraph, type GraphEdgeJson, type GraphError, type GraphJson, type NodeDescription } from '../engine';
import { copyFragment, idForNewNode, pasteFragment, type Fragment } from './clipboard';
import { fromGraph, graphFingerprint, toGraph, type EditorModel, type EditorNode, type Position } from './graph-sync';
import { addPoint, findPromptNode, pointsOf, POINTS_PARAM, removePoint } from './prompt-points';
import { createCanvas, type Canvas, type MenuItem } from './rete/create-editor';
import type { NodeActions, PromptTarget } from './rete/node-actions';
import { NodeView, Wire } from './rete/scheme.svelte';
import { applyEvent, errorsByNode, type RunStates } from './run-status';
import { checkConnection, type ConnectionVerdict } from './socket-rules';
import type { DeviceChoice, EngineApi, FieldSnapshotInfo, GpuAdapterState, Orbit, OrbitFrame, OrbitInfo, OrbitMode, OutputFile, PreviewData, UiEvent } from './worker/protocol';

/** The LiftPrompts param the 3D view's clicks go to. */
export const WORLD_POINTS_PARAM = 'worldPoints';
export const LIFT_NODE_TYPE = 'LiftPrompts';

export interface WorldPointJson {
  xyz: [number, number, number];
  label: 0 | 1;
  object: number;
}

/** The world points a param value holds (anything else counts as none). */
export function worldPointsOf(value: unknown): WorldPointJson[] {
  if (!Array.isArray(value)) return [];
  return value.filter((p): p is WorldPointJson => typeof p === 'object' && p !== null && Array.isArray((p as WorldPointJson).xyz) && (p as WorldPointJson).xyz.length === 3);
}

export interface Notice {
  kind: 'info' | 'error';
  text: string;
  /** Grows with each notice so the UI can restart its fade-out. */
  seq: number;
}

/** Wait after an edit before validating, and before re-running. */
const VALIDATE_DELAY_MS = 150;
const RERUN_DELAY_MS = 400;

/** One undoable param change (Rete's history plugin holds it beside its own node and wire actions). */
class ParamAction {
  constructor(
    private readonly session: EditorSession,
    private readonly node: string,
    private readonly name: string,
    private readonly before: { value: unknown } | undefined,
    private readonly after: { value: unknown } | undefined,
  ) {}
  undo() {
    this.session.applyParam(this.node, this.name, this.before);
  }
  redo() {
    this.session.applyParam(this.node, this.name, this.after);
  }
}

function unknownType(type: string): NodeDescription {
  return { type, version: 0, category: 'Unknown', description: `unknown node type "${type}"`, inputs: {}, outputs: {}, params: {} };
}

export class EditorSession implements NodeActions {
  descriptions = $state<NodeDescription[]>([]);
  name = $state('Untitled');
  dirty = $state(false);
  running = $state(false);
  /** After the first Run, edits re-run the graph (debounced) while this is on. */
  autoRun = $state(true);
  hasRun = $state(false);
  notice = $state<Notice | undefined>(undefined);
  /** Validation errors that name no node on the canvas. */
  graphErrors = $state<GraphError[]>([]);
  lastRun = $state<{ status: string; ms: number } | undefined>(undefined);
  device = $state('');
  /** The device menu: auto keeps each node's own `device` param; cpu / webgpu set it for runs (the saved graph is not edited). */
  deviceChoice = $state<DeviceChoice>('auto');
  /** The worker's WebGPU adapter, once probed. */
  gpu = $state<GpuAdapterState | undefined>(undefined);
  /** The node whose orbit view is open. */
  orbitNode = $state<string | undefined>(undefined);
  /** Bumped when a run finishes, so an open orbit view reloads its field. */
  runEpoch = $state(0);
  /** The latest field snapshot of each node still running (NeRFTrainer while training); the field stays in the worker. */
  snapshots = $state.raw<Record<string, FieldSnapshotInfo>>({});
  /** Files the nodes wrote (MaskRenderer's mask.png, result.json, ...), kept in the worker. */
  outputFiles = $state<OutputFile[]>([]);
  /** Bumped on every wiring change, so prompt targets recompute. */
  private structure = $state(0);

  private readonly byType = new Map<string, NodeDescription>();
  private canvas!: Canvas;
  private meta: EditorModel['meta'] = fromGraph(emptyGraph()).meta;
  /** Edges the canvas cannot draw (bad endpoints, unknown ports): written back as they were read. */
  private keptEdges: GraphEdgeJson[] = [];
  private loading = false;
  private savedFingerprint = '';
  private clipboard?: Fragment;
  private runStates: RunStates = {};
  private validateTimer?: ReturnType<typeof setTimeout>;
  private rerunTimer?: ReturnType<typeof setTimeout>;
  /**
   * A 3D prompt was placed on a field still training: re-run when the run
   * ends instead of cancelling it (the field then comes from the cache).
   */
  private rerunAfterRun = false;
  private noticeSeq = 0;
  private runSeq = 0;

  constructor(private readonly api: Comlink.Remote<EngineApi>) {}

  async init(container: HTMLElement): Promise<void> {
    this.descriptions = await this.api.describe();
    for (const d of this.descriptions) this.byType.set(d.type, d);
    void this.api.device().then((d) => (this.device = d));
    void this.api.gpuAdapter().then((g) => (this.gpu = g));
    this.canvas = createCanvas(container, {
      check: (source, target) => this.check(source, target),
      refused: (reason) => this.say('error', `Connection refused: ${reason}`),
      trusted: () => this.loading,
      menu: (context) => this.menu(context),
    });
    this.canvas.editor.addPipe((context) => {
      if (['nodecreated', 'noderemoved', 'connectioncreated', 'connectionremoved'].includes(context.type)) {
        this.structure++;
        this.changed(true);
      }
      return context;
    });
    this.canvas.area.addPipe((context) => {
      if (context.type === 'nodetranslated') this.changed(false);
      return context;
    });
    await this.load(emptyGraph(), 'Untitled');
  }

  // ---- document ----

  /** Replaces the canvas with a graph (already read by the engine's loadGraph). */
  async load(graph: GraphJson, name?: string): Promise<void> {
    const { editor, area, history } = this.canvas;
    // A run of the old graph must not paint the new one.
    this.cancel();
    this.loading = true;
    try {
      for (const n of editor.getNodes()) this.revokePreview(n);
      await editor.clear();
      const model = fromGraph(graph);
      this.meta = model.meta;
      this.keptEdges = [...model.unparsedEdges];
      this.runStates = {};
      for (const node of model.nodes) await this.addView(node);
      for (const e of model.edges) {
        const source = editor.getNode(e.source);
        const target = editor.getNode(e.target);
        if (!source?.outputs[e.sourceOutput] || !target?.inputs[e.targetInput]) {
          this.keptEdges.push(e.sourceJson!);
          continue;
        }
        const wire = new Wire(source, e.sourceOutput, target, e.targetInput);
        wire.sourceJson = e.sourceJson;
        await editor.addConnection(wire);
      }
      history.clear();
      this.name = name ?? (typeof graph.name === 'string' ? graph.name : 'Untitled');
      this.savedFingerprint = graphFingerprint(this.toGraph());
      this.dirty = false;
      this.hasRun = false;
      this.lastRun = undefined;
      if (model.nodes.length > 0) await AreaExtensions.zoomAt(area, editor.getNodes());
    } finally {
      this.loading = false;
    }
    this.validateSoon();
  }

  /** Opens a graph file's text: the worker's loadGraph reads and migrates it. */
  async open(text: string, fileName: string): Promise<boolean> {
    const result = await this.api.load(text);
    if (!result.graph) {
      this.say('error', `Cannot open ${fileName}: ${result.errors.map((e) => e.message).join('; ')}`);
      return false;
    }
    await this.load(result.graph, fileName.replace(/\.json$/i, ''));
    if (result.upgraded.length > 0) this.say('info', `Upgraded: ${result.upgraded.join(', ')}`);
    else this.say('info', `Opened ${fileName}`);
    return true;
  }

  /** The document as the CLI reads it. */
  toGraph(): GraphJson {
    const { editor, area } = this.canvas;
    const nodes: EditorNode[] = editor.getNodes().map((n) => {
      const p = area.nodeViews.get(n.id)?.position ?? { x: 0, y: 0 };
      return { id: n.id, type: n.description.type, params: $state.snapshot(n.params) as Record<string, unknown>, position: { x: Math.round(p.x), y: Math.round(p.y) }, source: n.source };
    });
    const edges = editor.getConnections().map((c) => ({
      source: c.source,
      sourceOutput: c.sourceOutput,
      target: c.target,
      targetInput: c.targetInput,
      sourceJson: c.sourceJson,
    }));
    return toGraph({ meta: this.meta, nodes, edges, unparsedEdges: this.keptEdges });
  }

  /** The file text (the engine's saveGraph), and the document counts as saved. */
  async serialize(): Promise<string> {
    const graph = this.toGraph();
    const text = await this.api.serialize(graph);
    this.savedFingerprint = graphFingerprint(graph);
    this.dirty = false;
    return text;
  }

  // ---- editing ----

  async addNode(type: string, at?: Position): Promise<string | undefined> {
    if (!this.byType.has(type)) return undefined;
    const id = idForNewNode(type, this.canvas.editor.getNodes().map((n) => n.id));
    await this.addView({ id, type, params: {}, position: at ?? this.freeSpot() });
    this.canvas.selector.unselectAll();
    return id;
  }

  /** A node dropped at a point of the page (from the palette). */
  async addNodeAt(type: string, event: PointerEvent | DragEvent): Promise<string | undefined> {
    this.canvas.area.area.setPointerFrom(event as PointerEvent);
    return this.addNode(type, this.pointer());
  }

  setParam(node: string, name: string, value: unknown): void {
    const view = this.canvas.editor.getNode(node);
    if (!view) return;
    const before = Object.prototype.hasOwnProperty.call(view.params, name) ? { value: $state.snapshot(view.params[name]) } : undefined;
    // Values built from other params may hold Svelte state proxies: keep plain copies.
    const after = { value: $state.snapshot(value) };
    this.applyParam(node, name, after);
    // Each param edit is its own undo step, however quickly the next edit follows.
    const { history } = this.canvas;
    history.separate();
    history.add(new ParamAction(this, node, name, before, after));
    history.separate();
  }

  /** Sets (or, with undefined, removes) a param without recording history: history's own undo and redo call this. */
  applyParam(node: string, name: string, entry: { value: unknown } | undefined): void {
    const view = this.canvas.editor.getNode(node);
    if (!view) return;
    if (entry) view.params[name] = $state.snapshot(entry.value);
    else delete view.params[name];
    this.changed(true);
  }

  async pickFile(node: string, name: string, file: File): Promise<void> {
    const bytes = new Uint8Array(await file.arrayBuffer());
    await this.api.putFile(file.name, Comlink.transfer(bytes, [bytes.buffer]));
    this.setParam(node, name, file.name);
  }

  /** A folder (a dataset) for a path param: its files go to the worker as "<folder>/<relative path>". */
  async pickFolder(node: string, name: string, files: File[]): Promise<void> {
    const withPath = files.map((f) => ({ file: f, path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name }));
    const top = withPath[0]?.path.split('/')[0];
    if (!top) return;
    for (const { file, path } of withPath) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      await this.api.putFile(path, Comlink.transfer(bytes, [bytes.buffer]));
    }
    this.setParam(node, name, top);
    this.say('info', `Folder ${top}: ${files.length} files`);
  }

  async deleteSelected(): Promise<void> {
    const { editor } = this.canvas;
    const doomed = editor.getNodes().filter((n) => n.selected);
    for (const n of doomed) {
      for (const c of editor.getConnections().filter((c) => c.source === n.id || c.target === n.id)) await editor.removeConnection(c.id);
      this.revokePreview(n);
      await editor.removeNode(n.id);
    }
  }

  copySelected(): number {
    const model = this.toGraph();
    const selected = new Set(this.canvas.editor.getNodes().filter((n) => n.selected).map((n) => n.id));
    if (selected.size === 0) return 0;
    const { nodes, edges } = fromGraph(model);
    this.clipboard = copyFragment(nodes, edges, selected);
    return selected.size;
  }

  async paste(): Promise<void> {
    if (!this.clipboard) return;
    const { editor, selector } = this.canvas;
    const fragment = pasteFragment(this.clipboard, editor.getNodes().map((n) => n.id));
    await selector.unselectAll();
    for (const n of fragment.nodes) await this.addView({ ...n });
    for (const e of fragment.edges) {
      const source = editor.getNode(e.source);
      const target = editor.getNode(e.target);
      if (source && target) await editor.addConnection(new Wire(source, e.sourceOutput, target, e.targetInput));
    }
    // The copy is what the next paste shifts from.
    this.clipboard = fragment;
  }

  async undo(): Promise<void> {
    await this.canvas.history.undo();
  }

  async redo(): Promise<void> {
    await this.canvas.history.redo();
  }

  async arrange(): Promise<void> {
    const { arrange, area, editor } = this.canvas;
    await arrange.layout({ options: { 'elk.spacing.nodeNode': '60', 'elk.layered.spacing.nodeNodeBetweenLayers': '80' } });
    await AreaExtensions.zoomAt(area, editor.getNodes());
  }

  async zoomToFit(): Promise<void> {
    await AreaExtensions.zoomAt(this.canvas.area, this.canvas.editor.getNodes());
  }

  // ---- running ----

  async run(): Promise<void> {
    clearTimeout(this.rerunTimer);
    const seq = ++this.runSeq;
    this.hasRun = true;
    this.running = true;
    try {
      const summary = await this.api.run(this.toGraph(), Comlink.proxy((e: UiEvent) => this.onEvent(e)), { device: this.deviceChoice });
      if (summary.status === 'invalid') {
        this.showErrors(summary.errors);
        this.say('error', `Not run: the graph has ${summary.errors.length} problem${summary.errors.length === 1 ? '' : 's'} (shown on the nodes)`);
      }
    } catch (e) {
      this.say('error', `Run failed: ${(e as Error).message}`);
    } finally {
      if (seq === this.runSeq) {
        this.running = false;
        if (this.rerunAfterRun) {
          this.rerunAfterRun = false;
          if (this.hasRun && this.autoRun) this.rerunTimer = setTimeout(() => void this.run(), RERUN_DELAY_MS);
        }
      }
    }
  }

  cancel(): void {
    clearTimeout(this.rerunTimer);
    // Cancelling also drops a re-run held for a 3D prompt placed during training.
    this.rerunAfterRun = false;
    void this.api.cancel();
  }

  /** The device menu changed: re-run (soon) when edits re-run. */
  setDevice(choice: DeviceChoice): void {
    if (choice === this.deviceChoice) return;
    this.deviceChoice = choice;
    if (this.hasRun && this.autoRun) {
      clearTimeout(this.rerunTimer);
      this.rerunTimer = setTimeout(() => void this.run(), RERUN_DELAY_MS);
    }
  }

  deviceOverride(): string | undefined {
    return this.deviceChoice === 'auto' ? undefined : this.deviceChoice;
  }

  // ---- the orbit view ----

  openOrbit(node: string): void {
    this.orbitNode = node;
  }

  closeOrbit(): void {
    this.orbitNode = undefined;
  }

  orbitInfo(node: string): Promise<OrbitInfo> {
    return this.api.orbitInfo(node);
  }

  renderOrbit(node: string, orbit: Orbit, size: number, mode: OrbitMode): Promise<OrbitFrame & { device: string; snapshot?: FieldSnapshotInfo }> {
    return this.api.renderOrbit(node, orbit, size, mode);
  }

  /** The node's latest field snapshot while it runs (undefined once it ended). */
  liveSnapshot(node: string): FieldSnapshotInfo | undefined {
    return this.snapshots[node];
  }

  /** The LiftPrompts node the 3D view's clicks feed (nearest over wires), with its world points. */
  worldPointTarget(node: string): { node: string; points: WorldPointJson[]; minAccumulation: number } | undefined {
    void this.structure; // recompute when wiring changes
    const { editor } = this.canvas;
    const nodes = editor.getNodes().map((n) => ({ id: n.id, type: n.description.type }));
    const id = findPromptNode(nodes, editor.getConnections(), node, LIFT_NODE_TYPE);
    const view = id ? editor.getNode(id) : undefined;
    if (!id || !view) return undefined;
    const value = view.params[WORLD_POINTS_PARAM] ?? view.description.params[WORLD_POINTS_PARAM]?.default;
    const minAccumulation = Number(view.params.minAccumulation ?? view.description.params.minAccumulation?.default ?? 0.5);
    return { node: id, points: worldPointsOf($state.snapshot(value)), minAccumulation };
  }

  /**
   * A click at pixel (x, y) of the orbit view rendered at `size` pixels: the
   * worker lifts it to the world point on the field's surface, which is
   * appended to the LiftPrompts node's worldPoints (an undo step; re-runs
   * like any edit). Empty space is refused with the reason.
   */
  async addWorldPoint(node: string, orbit: Orbit, size: number, x: number, y: number, background: boolean, object = 1): Promise<boolean> {
    const target = this.worldPointTarget(node);
    if (!target) {
      this.say('error', `No ${LIFT_NODE_TYPE} node is wired to ${node}: add one (views and field from this pipeline) to record 3D prompts`);
      return false;
    }
    let lifted;
    try {
      lifted = await this.api.liftOrbit(node, orbit, size, x, y, target.minAccumulation);
    } catch (e) {
      this.say('error', `No 3D prompt added: ${(e as Error).message}`);
      return false;
    }
    if (!lifted.ok) {
      this.say('error', `No 3D prompt added: ${lifted.reason}`);
      return false;
    }
    const xyz = lifted.xyz.map((c) => Math.round(c * 1e4) / 1e4) as [number, number, number];
    // On a field still training: keep training; the edit re-runs once the run ends.
    const unfinished = lifted.snapshot && this.running;
    if (unfinished) this.rerunAfterRun = true;
    this.setParam(target.node, WORLD_POINTS_PARAM, [...target.points, { xyz, label: background ? 0 : 1, object }]);
    const added = `${background ? 'Background' : `Object ${object}`} point (${xyz.map((c) => c.toFixed(3)).join(', ')}) added to ${target.node}.${WORLD_POINTS_PARAM}`;
    this.say(
      'info',
      unfinished
        ? `${added}, placed on an unfinished field (step ${lifted.snapshot!.step}): training goes on, ${target.node} re-runs when it ends; check the point on the final field`
        : added,
    );
    return true;
  }

  removeWorldPoint(node: string, index: number): void {
    const target = this.worldPointTarget(node);
    if (!target) return;
    if (this.running && this.snapshots[node]) this.rerunAfterRun = true;
    this.setParam(target.node, WORLD_POINTS_PARAM, target.points.filter((_, i) => i !== index));
  }

  /** A file a node wrote during a run. */
  async readOutput(node: string, path: string): Promise<Uint8Array | undefined> {
    return this.api.readOutput(node, path);
  }

  // ---- NodeActions (called by node components) ----

  filesOf(node: string): string[] {
    return this.outputFiles.filter((f) => f.node === node).map((f) => f.path);
  }

  async download(node: string, path: string): Promise<void> {
    const bytes = await this.readOutput(node, path);
    if (!bytes) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    a.download = `${node}-${path.replace(/\//g, '-')}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  promptTarget(node: string): PromptTarget | undefined {
    void this.structure; // recompute when wiring changes
    const { editor } = this.canvas;
    const nodes = editor.getNodes().map((n) => ({ id: n.id, type: n.description.type }));
    const id = findPromptNode(nodes, editor.getConnections(), node);
    const view = id ? editor.getNode(id) : undefined;
    if (!id || !view) return undefined;
    const value = view.params[POINTS_PARAM] ?? view.description.params[POINTS_PARAM]?.default;
    return { node: id, points: pointsOf(value) };
  }

  addPoint(node: string, x: number, y: number, background: boolean): void {
    const target = this.promptTarget(node);
    if (!target) return;
    this.setParam(target.node, POINTS_PARAM, addPoint(target.points, x, y, background ? 0 : 1));
  }

  removePoint(node: string, index: number): void {
    const target = this.promptTarget(node);
    if (!target) return;
    this.setParam(target.node, POINTS_PARAM, removePoint(target.points, index));
  }

  resized(node: string, width: number, height: number): void {
    const view = this.canvas.editor.getNode(node);
    if (!view || (view.width === width && view.height === height)) return;
    // Not area.resize(): that pins the element's size, and a node grows with its preview.
    view.width = width;
    view.height = height;
    void this.canvas.area.emit({ type: 'noderesized', data: { id: node, size: { width, height } } });
  }

  // ---- internals ----

  private check(source: SocketData, target: SocketData): ConnectionVerdict {
    const { editor } = this.canvas;
    const from = editor.getNode(source.nodeId);
    const to = editor.getNode(target.nodeId);
    if (!from || !to) return { ok: false, reason: 'the node is gone' };
    return checkConnection(this.byType, { nodeType: from.description.type, port: source.key }, { nodeType: to.description.type, port: target.key });
  }

  private async addView(node: EditorNode): Promise<void> {
    const description = this.byType.get(node.type) ?? unknownType(node.type);
    const view = new NodeView(node.id, description, this, structuredClone(node.params), node.source);
    view.run = this.runStates[node.id] ?? { status: 'idle' };
    await this.canvas.editor.addNode(view);
    await this.canvas.area.translate(node.id, node.position);
  }

  /** Right of everything on the canvas, so a new node never lands on another. */
  private freeSpot(): Position {
    const { area, editor } = this.canvas;
    const nodes = editor.getNodes();
    if (nodes.length === 0) {
      const t = area.area.transform;
      return { x: (-t.x + 80) / t.k, y: (-t.y + 80) / t.k };
    }
    const box = AreaExtensions.getBoundingBox(area, nodes);
    return { x: Math.round(box.right + 60), y: Math.round(box.top) };
  }

  private menu(context: 'root' | NodeView) {
    if (context === 'root') {
      const categories = new Map<string, MenuItem[]>();
      for (const d of this.descriptions) {
        if (!categories.has(d.category)) categories.set(d.category, []);
        categories.get(d.category)!.push({ label: d.type, key: d.type, handler: () => void this.addNode(d.type, this.pointer()) });
      }
      return {
        searchBar: true,
        list: [...categories].map(([category, subitems]) => ({ label: category, key: category, handler: () => undefined, subitems })),
      };
    }
    return {
      searchBar: false,
      list: [
        {
          label: 'Delete',
          key: 'delete',
          handler: async () => {
            context.selected = true;
            await this.deleteSelected();
          },
        },
        { label: 'Copy', key: 'copy', handler: () => void this.copySelected() },
      ],
    };
  }

  private pointer(): Position {
    const p = this.canvas.area.area.pointer;
    return { x: p.x, y: p.y };
  }

  /** After any edit: refresh the unsaved flag, validate soon, and re-run soon when asked to. */
  private changed(content: boolean): void {
    if (this.loading) return;
    this.dirty = graphFingerprint(this.toGraph()) !== this.savedFingerprint;
    if (!content) return;
    this.validateSoon();
    // Held while a 3D prompt placed on a training field waits for the run to end (run() re-runs then).
    if (this.rerunAfterRun && this.running) return clearTimeout(this.rerunTimer);
    if (this.hasRun && this.autoRun) {
      clearTimeout(this.rerunTimer);
      this.rerunTimer = setTimeout(() => void this.run(), RERUN_DELAY_MS);
    }
  }

  private validateSoon(): void {
    clearTimeout(this.validateTimer);
    this.validateTimer = setTimeout(async () => {
      this.showErrors(await this.api.validate(this.toGraph()));
    }, VALIDATE_DELAY_MS);
  }

  private showErrors(errors: GraphError[]): void {
    const byNode = errorsByNode(errors);
    const ids = new Set<string>();
    for (const view of this.canvas.editor.getNodes()) {
      view.errors = byNode.get(view.id) ?? [];
      ids.add(view.id);
    }
    this.graphErrors = errors.filter((e) => !e.node || !ids.has(e.node));
  }

  private onEvent(event: UiEvent): void {
    if (event.type === 'preview') return this.showPreview(event.preview);
    if (event.type === 'field-snapshot') {
      const prev = this.snapshots[event.snapshot.node];
      if (!prev || prev.seq < event.snapshot.seq) this.snapshots = { ...this.snapshots, [event.snapshot.node]: event.snapshot };
      return;
    }
    if (event.type === 'node-log') return;
    // A node that ended (or a run that ended) has no snapshot any more: its final field, if any, replaces it.
    const ended = event.type === 'node-done' || event.type === 'node-error' || event.type === 'node-skipped' ? [event.node] : event.type === 'run-done' ? Object.keys(this.snapshots) : [];
    if (ended.some((id) => id in this.snapshots)) this.snapshots = Object.fromEntries(Object.entries(this.snapshots).filter(([id]) => !ended.includes(id)));
    this.runStates = applyEvent(this.runStates, event);
    const { editor } = this.canvas;
    const touched = event.type === 'run-start' ? event.nodes : event.type === 'run-done' ? Object.keys(this.runStates) : [event.node];
    for (const id of touched) {
      const view = editor.getNode(id);
      const state = this.runStates[id];
      if (view && state) view.run = state;
    }
    if (event.type === 'run-done') {
      this.lastRun = { status: event.status, ms: event.ms };
      this.runEpoch++;
      void this.api.outputs().then((files) => (this.outputFiles = files));
      if (event.status === 'failed') this.say('error', `Run failed: ${event.counts.failed} node${event.counts.failed === 1 ? '' : 's'} reported an error`);
    }
  }

  private showPreview(p: PreviewData): void {
    const view = this.canvas.editor.getNode(p.node);
    if (!view || (view.preview && view.preview.version > p.version)) return;
    this.revokePreview(view);
    const url = URL.createObjectURL(new Blob([p.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
    view.preview = { url, kind: p.kind, width: p.width, height: p.height, maskArea: p.maskArea, score: p.score, version: p.version };
  }

  private revokePreview(view: NodeView): void {
    if (view.preview) URL.revokeObjectURL(view.preview.url);
    view.preview = undefined;
  }

  say(kind: Notice['kind'], text: string): void {
    this.notice = { kind, text, seq: ++this.noticeSeq };
  }
}
