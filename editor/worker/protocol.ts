// What crosses the UI <-> worker boundary (structured clone via comlink).
// The UI sends graph JSON and files; the worker answers with the engine's
// own descriptions, errors and events, plus previews it renders.

import type { EngineEvent, GraphError, GraphJson, LoadResult, NodeDescription, RunStatus } from '../../engine';

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

export type UiEvent = EngineEvent | { type: 'preview'; preview: PreviewData };

export interface EngineApi {
  /** The palette: every node type the worker can run. */
  describe(): NodeDescription[];
  /** Which device runs models here ('webgpu' or 'wasm'), once known. */
  device(): Promise<string>;
  /** A file the user picked or dropped, readable by nodes under `name`. */
  putFile(name: string, bytes: Uint8Array): void;
  validate(graph: GraphJson): GraphError[];
  /** The engine's loadGraph with the worker's registry (node migrations included). */
  load(text: string): LoadResult;
  /** The engine's saveGraph with the worker's registry: the CLI's file, byte for byte. */
  serialize(graph: GraphJson): string;
  /** Runs the graph (a run already going is cancelled first); events stream to `onEvent`. */
  run(graph: GraphJson, onEvent: (event: UiEvent) => void): Promise<RunSummary>;
  cancel(): void;
  /** Files nodes wrote during runs (kept in memory). */
  outputs(): OutputFile[];
  readOutput(node: string, path: string): Uint8Array | undefined;
}

/** The worker's side of the API: every method may answer asynchronously (comlink makes all calls async anyway). */
export type Remoteable<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => R | Promise<Awaited<R>> : T[K] };
