// Turns the engine's event stream into terminal output: live progress bars
// on a terminal, plain lines in logs and pipes, JSON lines with --json.

import cliProgress from 'cli-progress';
import type { EngineEvent } from '../engine';

export type ReporterMode = 'tty' | 'plain' | 'json';

export interface Reporter {
  handle(event: EngineEvent): void;
  close(): void;
}

export function chooseMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ReporterMode {
  if (json) return 'json';
  return stream.isTTY && !process.env.CI ? 'tty' : 'plain';
}

export function createReporter(mode: ReporterMode, write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Reporter {
  if (mode === 'json') return { handle: (e) => write(JSON.stringify(e)), close() {} };
  if (mode === 'tty') return new BarReporter();
  return new LineReporter(write);
}

function describeSkip(e: Extract<EngineEvent, { type: 'node-skipped' }>): string {
  return e.reason === 'cancelled' ? 'cancelled' : `skipped: upstream node ${e.upstream} failed`;
}

function summary(e: Extract<EngineEvent, { type: 'run-done' }>): string {
  const c = e.counts;
  return `run ${e.status} in ${(e.ms / 1000).toFixed(2)} s: ${c.done} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped`;
}

/** Plain lines; progress at most once a second per node so logs stay readable. */
class LineReporter implements Reporter {
  private readonly lastProgress = new Map<string, number>();
  constructor(private readonly write: (line: string) => void) {}

  handle(e: EngineEvent): void {
    switch (e.type) {
      case 'run-start':
        this.write(`running ${e.nodes.length} node(s)${e.target ? ` up to ${e.target}` : ''}`);
        break;
      case 'node-start':
        this.write(`start  ${e.node} (${e.nodeType})`);
        break;
      case 'node-progress': {
        const now = Date.now();
        if (e.value < e.max && now - (this.lastProgress.get(e.node) ?? 0) < 1000) break;
        this.lastProgress.set(e.node, now);
        this.write(`       ${e.node} ${e.value}/${e.max}${e.message ? ` ${e.message}` : ''}`);
        break;
      }
      case 'node-log':
        this.write(`       ${e.node}: ${e.message}`);
        break;
      case 'node-cached':
        this.write(`cached ${e.node} (${e.nodeType})`);
        break;
      case 'node-done':
        this.write(`done   ${e.node} (${e.nodeType}) ${e.ms.toFixed(0)} ms`);
        break;
      case 'node-error':
        this.write(`error  ${e.node} (${e.nodeType}): ${e.message}`);
        break;
      case 'node-skipped':
        this.write(`skip   ${e.node}: ${describeSkip(e)}`);
        break;
      case 'run-done':
        this.write(summary(e));
        break;
    }
  }

  close(): void {}
}

/** One live bar per running node; finished nodes print a line above the bars. */
class BarReporter implements Reporter {
  private readonly bars = new cliProgress.MultiBar(
    { format: ' {bar} {percentage}% | {node} {message}', hideCursor: true, clearOnComplete: true, stopOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  private readonly active = new Map<string, cliProgress.SingleBar>();

  handle(e: EngineEvent): void {
    const log = (line: string) => this.bars.log(line + '\n');
    switch (e.type) {
      case 'node-start':
        this.active.set(e.node, this.bars.create(1, 0, { node: `${e.node} (${e.nodeType})`, message: '' }));
        break;
      case 'node-progress': {
        const bar = this.active.get(e.node);
        if (!bar) break;
        bar.setTotal(Math.max(e.max, 1));
        bar.update(e.value, { message: e.message ?? '' });
        break;
      }
      case 'node-log':
        log(`  ${e.node}: ${e.message}`);
        break;
      case 'node-cached':
        log(`cached ${e.node} (${e.nodeType})`);
        break;
      case 'node-done':
        this.finish(e.node);
        log(`done   ${e.node} (${e.nodeType}) ${e.ms.toFixed(0)} ms`);
        break;
      case 'node-error':
        this.finish(e.node);
        log(`error  ${e.node} (${e.nodeType}): ${e.message}`);
        break;
      case 'node-skipped':
        this.finish(e.node);
        log(`skip   ${e.node}: ${describeSkip(e)}`);
        break;
      case 'run-done':
        this.bars.stop();
        process.stderr.write(summary(e) + '\n');
        break;
    }
  }

  private finish(node: string): void {
    const bar = this.active.get(node);
    if (!bar) return;
    this.bars.remove(bar);
    this.active.delete(node);
  }

  close(): void {
    this.bars.stop();
  }
}
