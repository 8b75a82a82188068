// Node outputs by signature. Values are stored by reference (never copied):
// they are frozen and shared by every consumer.

import type { NodeOutputs } from './definition';

export interface OutputCache {
  get(signature: string): NodeOutputs | undefined;
  set(signature: string, outputs: NodeOutputs): void;
  delete(signature: string): void;
  clear(): void;
  readonly size: number;
}

/** Least-recently-used eviction by entry count (Map iteration order is insertion order). */
export class MemoryCache implements OutputCache {
  private readonly entries = new Map<string, NodeOutputs>();
  constructor(private readonly maxEntries = Infinity) {}

  get(signature: string): NodeOutputs | undefined {
    const value = this.entries.get(signature);
    // Re-inserting keeps recency order; only worth its cost when eviction can happen.
    if (value !== undefined && this.maxEntries !== Infinity) {
      this.entries.delete(signature);
      this.entries.set(signature, value);
    }
    return value;
  }

  set(signature: string, outputs: NodeOutputs): void {
    if (this.maxEntries !== Infinity) this.entries.delete(signature);
    this.entries.set(signature, outputs);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(signature: string): void {
    this.entries.delete(signature);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
