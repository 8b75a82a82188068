// A node definition is data (ports, params, docs) plus a run function. The
// data part serialises to JSON, so the editor's palette and `samnerf nodes`
// are generated from the same source as validation.

import type { PreviewInfo } from './events';
import type { GraphNodeJson } from './graph';
import type { MigrationSequence } from './migrations';
import type { ParamSpec } from './params';
import type { PortType } from './types';

export interface InputSpec {
  type: PortType;
  description: string;
  optional?: boolean;
}

export interface OutputSpec {
  type: PortType;
  description: string;
}

export interface NodeContext<H = unknown> {
  /** The node's id in the graph (also the name of its output folder). */
  nodeId: string;
  signal: AbortSignal;
  /** Reports progress; the executor turns it into node-progress events. */
  progress(value: number, max: number, message?: string): void;
  log(message: string): void;
  /** Files, models, device and output folder, provided by the CLI or the editor's worker. */
  host: H;
  /**
   * The cache signature of what feeds an input port (undefined when it is not
   * connected): a key for per-item caches inside a node, e.g. per view.
   */
  inputSignature(port: string): string | undefined;
  /**
   * Caches a sub-result in the executor's cache under `key`, so nodes that
   * work per item (one SAM embedding per view) redo only new items when
   * their params change. Keys should derive from inputSignature().
   */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T>;
  /**
   * true when someone listens to previews (the editor's worker; never the
   * CLI): a node makes a preview only then, so publishing costs nothing
   * elsewhere. Absent on contexts made outside the Executor.
   */
  readonly previewing?: boolean;
  /**
   * Publishes an intermediate value of output `port` while the node runs
   * (e.g. a snapshot of a field during training), for live views. The value
   * must be the node's own copy, never changed afterwards. It is not an
   * output: never cached, never written, dropped when the node ends, and
   * ignored after the node finished, failed or was cancelled.
   */
  preview?(port: string, value: unknown, info?: PreviewInfo): void;
}

export type NodeInputs = Readonly<Record<string, unknown>>;
export type NodeParams = Readonly<Record<string, unknown>>;
export type NodeOutputs = Record<string, unknown>;

export interface NodeDefinition<H = any> {
  type: string;
  version: number;
  category: string;
  description: string;
  inputs: Record<string, InputSpec>;
  outputs: Record<string, OutputSpec>;
  params: Record<string, ParamSpec>;
  /** Upgrades graph entries written for older versions ("<type>/2", "<type>/3", ...). */
  migrations?: MigrationSequence<GraphNodeJson>;
  /**
   * Extra cache-signature material that params alone do not capture, e.g. a
   * file's size and modification time, so an edited photo is re-read.
   */
  cacheKey?(params: NodeParams, host: H): string | undefined | Promise<string | undefined>;
  /** false: run on every request (nodes whose effect is outside their outputs). */
  cache?: boolean;
  run(ctx: NodeContext<H>, inputs: NodeInputs, params: NodeParams): NodeOutputs | Promise<NodeOutputs>;
}

/** Identity with checks, so a malformed definition fails when it is declared, not when it first runs. */
export function defineNode<H, D extends NodeDefinition<H>>(definition: D): D {
  const { type, version } = definition;
  if (!/^[A-Z][A-Za-z0-9]*$/.test(type)) throw new Error(`node type "${type}" must be PascalCase letters and digits`);
  if (!Number.isInteger(version) || version < 1) throw new Error(`node ${type}: version must be a positive integer`);
  const expected = (definition.migrations?.migrations.length ?? 0) + 1;
  if (definition.migrations && expected !== version)
    throw new Error(`node ${type}: version ${version} but its migrations lead to version ${expected}`);
  for (const [name, spec] of Object.entries(definition.params)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`node ${type}: param name "${name}" is not an identifier`);
    if (spec.type === 'enum' && !spec.options.includes(spec.default))
      throw new Error(`node ${type}: default of param ${name} is not one of its options`);
  }
  return definition;
}

/** A param schema without its functions (distributes over the ParamSpec union). */
export type ParamDescription = ParamSpec extends infer P ? (P extends ParamSpec ? Omit<P, 'check'> : never) : never;

export interface NodeDescription {
  type: string;
  version: number;
  category: string;
  description: string;
  inputs: Record<string, InputSpec>;
  outputs: Record<string, OutputSpec>;
  params: Record<string, ParamDescription>;
}

/** The JSON-safe part of a definition (functions dropped). */
export function describeNode(definition: NodeDefinition): NodeDescription {
  const params: Record<string, ParamDescription> = {};
  for (const [name, spec] of Object.entries(definition.params)) {
    const { check: _check, ...rest } = spec as ParamSpec & { check?: unknown };
    params[name] = rest as ParamDescription;
  }
  return {
    type: definition.type,
    version: definition.version,
    category: definition.category,
    description: definition.description,
    inputs: definition.inputs,
    outputs: definition.outputs,
    params,
  };
}
