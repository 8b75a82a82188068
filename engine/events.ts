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

/**
 * An intermediate value of a node's output, published while the node runs
 * (NeRFTrainer's field during training) for live views. Previews travel on
 * their own stream, not as EngineEvents: they may be large, so reporters
 * that print every event (the CLI's --json) never see them; they are never
 * cached, never a node output and never written to disk.
 */
export interface NodePreview {
  runId: number;
  node: string;
  nodeType: string;
  /** The output port the value previews (one of the node's outputs). */
  port: string;
  value: unknown;
  /** What the preview is, for captions: e.g. the training step and PSNR of a field snapshot. */
  info: PreviewInfo;
  /** Grows with every preview of the executor, so a newer one always wins. */
  seq: number;
}

export interface PreviewInfo {
  step?: number;
  psnr?: number;
  message?: string;
}

export type PreviewListener = (preview: NodePreview) => void;

/** The previews' emitter; `listening` lets nodes skip the work of making a preview nobody reads. */
export class PreviewStream {
  private readonly listeners = new Set<PreviewListener>();

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  on(listener: PreviewListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A listener that throws loses that preview; the node publishing it never fails for it. */
  emit(preview: NodePreview): void {
    for (const listener of this.listeners) {
      try {
        listener(preview);
      } catch {
        // A preview is a convenience for a live view.
      }
    }
  }
}
