// The pure part of execution: which planned nodes are ready, given which
// have finished. No I/O, no timing: the executor drives it.

import { ancestorsOf } from './topology';
import type { CompiledGraph } from './validate';

export class Scheduler {
  /** Planned nodes in topological order. */
  readonly plan: number[];
  private readonly waitingOn: Int32Array;
  private readonly planned: Uint8Array;
  private readonly settled: Uint8Array;
  private remaining: number;

  constructor(private readonly graph: CompiledGraph, targets?: number[]) {
    const n = graph.nodes.length;
    this.planned = new Uint8Array(n);
    if (targets === undefined) this.planned.fill(1);
    else for (const i of ancestorsOf(targets, graph.parents)) this.planned[i] = 1;
    this.plan = graph.order.filter((i) => this.planned[i] === 1);
    this.waitingOn = new Int32Array(n);
    for (const i of this.plan) this.waitingOn[i] = graph.parents[i]!.length;
    this.settled = new Uint8Array(n);
    this.remaining = this.plan.length;
  }

  /** Nodes with nothing to wait for. */
  initialReady(): number[] {
    return this.plan.filter((i) => this.waitingOn[i] === 0);
  }

  /** Marks a node finished; returns the nodes that became ready. */
  complete(index: number): number[] {
    this.settle(index);
    const ready: number[] = [];
    for (const c of this.graph.children[index]!) {
      if (this.planned[c] === 1 && --this.waitingOn[c]! === 0) ready.push(c);
    }
    return ready;
  }

  /** Marks a node failed; returns its planned descendants, which can no longer run. */
  fail(index: number): number[] {
    this.settle(index);
    const blocked: number[] = [];
    const stack = [...this.graph.children[index]!];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (this.planned[v] !== 1 || this.settled[v] === 1) continue;
      this.settle(v);
      blocked.push(v);
      stack.push(...this.graph.children[v]!);
    }
    return blocked;
  }

  /** Marks a never-started node as dropped (cancellation). */
  drop(index: number): void {
    this.settle(index);
  }

  isSettled(index: number): boolean {
    return this.settled[index] === 1;
  }

  get finished(): boolean {
    return this.remaining === 0;
  }

  private settle(index: number): void {
    if (this.settled[index] === 1) return;
    this.settled[index] = 1;
    this.remaining--;
  }
}
