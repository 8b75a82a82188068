// What crosses the UI <-> worker boundary (structured clone via comlink).
// The UI sends graph JSON and files; the worker answers with the engine's
// own descriptions, errors and events, plus previews it renders.

import type { EngineEvent, GraphError, GraphJson, LoadResult, NodeDescription, RunStatus } from '../../engine';
import type { Orbit } from '../orbit';
import type { DeviceChoice, GpuAdapterState } from './field-renderers';
import type { OrbitFrame, OrbitLift, OrbitMode } from './orbit-render';

export type { DeviceChoice, GpuAdapterState, Orbit, OrbitFrame, OrbitLift, OrbitMode };

export interface RunOptions {
  /** The device menu's choice: auto keeps each node's own `device` param; cpu / webgpu set it for this run. */
  device?: DeviceChoice;
}

/** What the orbit view of a node can show. */
export type OrbitInfo =
  | {
      ok: true;
      /** The starting orbit (from the views' cameras and bounds). */
      orbit: Orbit;
      /** Names of the objects of the 3D mask at hand (empty: no mask yet). */
      mask: string[];
      /** Training steps of the field shown. */
      steps: number;
      device: DeviceChoice;
      /** Set while the node still runs: the field shown is its latest snapshot, not its output. */
      snapshot?: FieldSnapshotInfo;
    }
  | { ok: false; reason: string };

/** A field snapshot a running node published (NeRFTrainer while training); the field stays in the worker. */
export interface FieldSnapshotInfo {
  node: string;
  port: string;
  /** Grows with every snapshot, so a newer one always wins. */
  seq: number;
  /** Training step of the snapshot. */
  step: number;
  /** The batch PSNR at that step (dB), when the node reported it. */
  psnr?: number;
}

export interface PreviewData {
  node: string;
  /** The output port the preview shows. */
  port: string;
  kind: 'Image' | 'Mask' | 'Heatmap';
  /** Pixel size of what is shown (the image's size for a mask over an image). */
  width: number;
  height: number;
  /** PNG bytes of the preview. */
  png: Uint8Array;
  /** Object pixels, for masks. */
  maskArea?: number;
  /** Predicted IoU of a mask, when the model gave one. */
  score?: number;
  /** Grows with every preview the worker sends, so a newer one always wins. */
  version: number;
}

export interface RunSummary {
  status: RunStatus | 'invalid';
  /** Validation errors when the graph could not run. */
  errors: GraphError[];
}

export interface OutputFile {
  node: string;
  path: string;
  size: number;
}

export type UiEvent = EngineEvent | { type: 'preview'; preview: PreviewData } | { type: 'field-snapshot'; snapshot: FieldSnapshotInfo };

export interface EngineApi {
  /** The palette: every node type the worker can run. */
  describe(): NodeDescription[];
  /** Which device runs models here ('webgpu' or 'wasm'), once known. */
  device(): Promise<string>;
  /** The worker's WebGPU adapter (navigator.gpu there), for the device menu. */
  gpuAdapter(): Promise<GpuAdapterState>;
  /** A file the user picked or dropped, readable by nodes under `name`. */
  putFile(name: string, bytes: Uint8Array): void;
  validate(graph: GraphJson): GraphError[];
  /** The engine's loadGraph with the worker's registry (node migrations included). */
  load(text: string): LoadResult;
  /** The engine's saveGraph with the worker's registry: the CLI's file, byte for byte. */
  serialize(graph: GraphJson): string;
  /** Runs the graph (a run already going is cancelled first); events stream to `onEvent`. */
  run(graph: GraphJson, onEvent: (event: UiEvent) => void, options?: RunOptions): Promise<RunSummary>;
  cancel(): void;
  /** Files nodes wrote during runs (kept in memory). */
  outputs(): OutputFile[];
  readOutput(node: string, path: string): Uint8Array | undefined;
  /** The orbit view of a node that ran and holds (or takes) a RadianceField. */
  orbitInfo(node: string): OrbitInfo;
  /** A frame of the orbit view; a newer call makes an older one still rendering reject with an AbortError. */
  renderOrbit(node: string, orbit: Orbit, size: number, mode: OrbitMode): Promise<OrbitFrame & { device: string; snapshot?: FieldSnapshotInfo }>;
  /** The world point under pixel (x, y) of the orbit camera at `size` pixels, or why not (`snapshot`: lifted on an unfinished field). */
  liftOrbit(node: string, orbit: Orbit, size: number, x: number, y: number, minAccumulation: number): Promise<OrbitLift & { snapshot?: FieldSnapshotInfo }>;
}

/** The worker's side of the API: every method may answer asynchronously (comlink makes all calls async anyway). */
export type Remoteable<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => R | Promise<Awaited<R>> : T[K] };
