// One typed event stream drives every face of a run: CLI progress bars,
// `--json` lines and the editor's node badges.

export type RunStatus = 'done' | 'failed' | 'cancelled';

export type EngineEvent =
  | { type: 'run-start'; runId: number; nodes: string[]; target?: string }
  | { type: 'node-start'; runId: number; node: string; nodeType: string }
  | { type: 'node-progress'; runId: number; node: string; value: number; max: number; message?: string }
  | { type: 'node-log'; runId: number; node: string; message: string }
  | { type: 'node-cached'; runId: number; node: string; nodeType: string }
  | { type: 'node-done'; runId: number; node: string; nodeType: string; ms: number }
  | { type: 'node-error'; runId: number; node: string; nodeType: string; message: string; param?: string; port?: string }
  | { type: 'node-skipped'; runId: number; node: string; reason: 'upstream-failed' | 'cancelled'; upstream?: string }
  | {
      type: 'run-done';
      runId: number;
      status: RunStatus;
      ms: number;
      counts: { done: number; cached: number; failed: number; skipped: number };
    };

export type EngineEventType = EngineEvent['type'];
export type EventListener = (event: EngineEvent) => void;

/** A minimal emitter: adapters subscribe, the executor publishes. */
export class EventStream {
  private readonly listeners = new Set<EventListener>();

  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
