// Structured problems. Validation reports every problem at once; each names
// the node (and port or param) and says what to change.

export type GraphErrorCode =
  | 'malformed_json'
  | 'unsupported_version'
  | 'duplicate_node_id'
  | 'invalid_node_id'
  | 'unknown_node_type'
  | 'unknown_node'
  | 'unknown_port'
  | 'invalid_edge'
  | 'duplicate_input'
  | 'missing_input'
  | 'type_mismatch'
  | 'cycle'
  | 'invalid_param'
  | 'unknown_param';

export interface GraphError {
  code: GraphErrorCode;
  node?: string;
  port?: string;
  param?: string;
  /** Index of the offending edge in the document's edges array. */
  edge?: number;
  /** The nodes on a cycle, in order. */
  nodes?: string[];
  message: string;
}

/** Thrown by APIs that need a valid graph (e.g. running one). */
export class GraphInvalidError extends Error {
  constructor(readonly errors: GraphError[]) {
    super(`the graph is invalid:\n${errors.map((e) => `  - [${e.code}] ${e.message}`).join('\n')}`);
    this.name = 'GraphInvalidError';
  }
}

/**
 * What a node throws for a problem its user can fix: it names the param or
 * port at fault and the fix, and the executor adds the node id and type.
 */
export class NodeError extends Error {
  readonly param?: string;
  readonly port?: string;
  readonly fix?: string;
  constructor(message: string, details: { param?: string; port?: string; fix?: string; cause?: unknown } = {}) {
    super(details.fix ? `${message}; ${details.fix}` : message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'NodeError';
    this.param = details.param;
    this.port = details.port;
    this.fix = details.fix;
  }
}

export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: string }).name === 'AbortError';
}
