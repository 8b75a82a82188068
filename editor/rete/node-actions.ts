// What a node's component may ask of the editor. The session implements it;
// components never reach Rete or the worker themselves.

import type { PromptPointJson } from '../prompt-points';

export interface PromptTarget {
  /** The PromptToPoints node a click on this preview feeds. */
  node: string;
  points: PromptPointJson[];
}

export interface NodeActions {
  setParam(node: string, name: string, value: unknown): void;
  pickFile(node: string, name: string, file: File): void;
  /** A folder picked for a path param: every file goes to the worker under its relative path. */
  pickFolder(node: string, name: string, files: File[]): void;
  /** The device menu's choice when it overrides `device` params for runs (cpu / webgpu); undefined for auto. */
  deviceOverride(): string | undefined;
  /** Opens the orbit view (live 3D view) of a node holding a radiance field. */
  openOrbit(node: string): void;
  /** The node's latest field snapshot while it still runs (NeRFTrainer training), if any. */
  liveSnapshot(node: string): { step: number; psnr?: number } | undefined;
  /** The prompt node wired to this node's pipeline, with its points; undefined when there is none. */
  promptTarget(node: string): PromptTarget | undefined;
  /** A click on a preview, in image pixels; shift = background point. */
  addPoint(node: string, x: number, y: number, background: boolean): void;
  removePoint(node: string, index: number): void;
  resized(node: string, width: number, height: number): void;
  /** Files the node wrote in the last run, and their download. */
  filesOf(node: string): string[];
  download(node: string, path: string): void;
}
