// Graph algorithms on adjacency lists of node indices. Iterative throughout:
// generated graphs have tens of thousands of nodes and long chains.

/** Kahn's algorithm; returns the order, or undefined when there is a cycle. */
export function topologicalOrder(children: ReadonlyArray<ReadonlyArray<number>>): number[] | undefined {
  const n = children.length;
  const indegree = new Int32Array(n);
  for (const list of children) for (const c of list) indegree[c]!++;
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) order.push(i);
  for (let head = 0; head < order.length; head++) {
    for (const c of children[order[head]!]!) if (--indegree[c]! === 0) order.push(c);
  }
  return order.length === n ? order : undefined;
}

/** Strongly connected components that contain a cycle (size > 1, or a self-loop), by Tarjan's algorithm. */
export function cyclicComponents(children: ReadonlyArray<ReadonlyArray<number>>): number[][] {
  const n = children.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const result: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: Array<[number, number]> = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, i] = frame;
      const list = children[v]!;
      if (i < list.length) {
        frame[1] = i + 1;
        const w = list[i]!;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]![0];
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === index[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component.push(w);
        } while (w !== v);
        if (component.length > 1 || list.includes(v)) result.push(component.reverse());
      }
    }
  }
  return result;
}

/** One concrete cycle inside a cyclic component, as a closed walk's nodes in order. */
export function cycleWithin(component: ReadonlyArray<number>, children: ReadonlyArray<ReadonlyArray<number>>): number[] {
  const members = new Set(component);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let v = component[0]!;
  while (!seenAt.has(v)) {
    seenAt.set(v, path.length);
    path.push(v);
    v = children[v]!.find((c) => members.has(c))!;
  }
  return path.slice(seenAt.get(v)!);
}

/** All nodes from which any of `targets` is reachable, targets included. */
export function ancestorsOf(targets: Iterable<number>, parents: ReadonlyArray<ReadonlyArray<number>>): Set<number> {
  const seen = new Set<number>();
  const stack = [...targets];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    for (const p of parents[v]!) stack.push(p);
  }
  return seen;
}

/** All nodes reachable from `sources`, sources included. */
export function descendantsOf(sources: Iterable<number>, children: ReadonlyArray<ReadonlyArray<number>>): Set<number> {
  return ancestorsOf(sources, children);
}
