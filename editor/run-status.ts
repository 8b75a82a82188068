// Engine events -> what each node's badge shows. A pure reducer: the worker
// forwards the executor's events unchanged and the UI folds them here.

import type { EngineEvent, GraphError } from '../engine';

export type NodeStatus = 'idle' | 'queued' | 'running' | 'cached' | 'done' | 'error';

export interface NodeRunState {
  status: NodeStatus;
  /** Fraction 0..1 while running, when the node reports progress. */
  progress?: number;
  /** Error text, progress message or why the node was skipped. */
  message?: string;
  ms?: number;
}

export type RunStates = Readonly<Record<string, NodeRunState>>;

export function applyEvent(states: RunStates, event: EngineEvent): RunStates {
  const set = (node: string, s: NodeRunState): RunStates => ({ ...states, [node]: s });
  switch (event.type) {
    case 'run-start': {
      const next: Record<string, NodeRunState> = { ...states };
      for (const id of event.nodes) next[id] = { status: 'queued' };
      return next;
    }
    case 'node-start':
      return set(event.node, { status: 'running', progress: 0 });
    case 'node-progress':
      return set(event.node, {
        status: 'running',
        progress: event.max > 0 ? Math.min(1, Math.max(0, event.value / event.max)) : undefined,
        message: event.message,
      });
    case 'node-log':
      return states;
    case 'node-cached':
      return set(event.node, { status: 'cached' });
    case 'node-done':
      return set(event.node, { status: 'done', ms: event.ms });
    case 'node-error':
      return set(event.node, { status: 'error', message: event.message });
    case 'node-skipped':
      return set(event.node, {
        status: 'idle',
        message: event.reason === 'cancelled' ? 'cancelled' : `skipped: ${event.upstream ?? 'an upstream node'} failed`,
      });
    case 'run-done': {
      // Anything the run never settled (it should not happen) goes back to idle.
      let next = states;
      for (const [id, s] of Object.entries(states)) {
        if (s.status === 'queued' || s.status === 'running') next = { ...next, [id]: { status: 'idle', message: event.status } };
      }
      return next;
    }
  }
}

/** Validation errors grouped by the node they name; errors naming no node go under ''. */
export function errorsByNode(errors: readonly GraphError[]): Map<string, GraphError[]> {
  const byNode = new Map<string, GraphError[]>();
  for (const e of errors) {
    const keys = e.code === 'cycle' && e.nodes ? e.nodes : [e.node ?? ''];
    for (const k of keys) {
      if (!byNode.has(k)) byNode.set(k, []);
      byNode.get(k)!.push(e);
    }
  }
  return byNode;
}
