// A NodeContext for running a node directly in a test (outside the
// Executor): no abort, no progress, log lines collected into `logs`, input
// signatures `sig:<port>`, and a memo cache of its own.

import type { NodeContext } from '../../engine';

export function testNodeContext<H>(host: H, nodeId: string, logs: string[] = []): NodeContext<H> {
  const memo = new Map<string, Promise<unknown>>();
  return {
    nodeId,
    signal: new AbortController().signal,
    progress: () => {},
    log: (m) => logs.push(m),
    host,
    inputSignature: (port) => `sig:${port}`,
    memo: <T>(key: string, compute: () => Promise<T>) => {
      if (!memo.has(key)) memo.set(key, compute());
      return memo.get(key) as Promise<T>;
    },
  };
}
