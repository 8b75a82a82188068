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
  constructor(private readonly maxEntries = 10_000_000) {}

  get(signature: string): NodeOutputs | undefined {
    const value = this.entries.get(signature);
    if (value !== undefined) {
      this.entries.delete(signature);
      this.entries.set(signature, value);
    }
    return value;
  }

  set(signature: string, outputs: NodeOutputs): void {
    this.entries.delete(signature);
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
