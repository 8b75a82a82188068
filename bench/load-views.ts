// The benches' dataset loading: through the ImageLoader node, as a graph
// would load it (any supported format), with the train and test splits.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../cli/node-host';
import { Executor, validateGraph } from '../engine';
import type { ViewsValue } from '../engine/values';
import { createNodeRegistry } from '../nodes';

export async function loadViews(path: string): Promise<ViewsValue> {
  const registry = createNodeRegistry();
  const v = validateGraph({ format: 'samnerf.graph', version: 1, nodes: [{ id: 'data', type: 'ImageLoader', params: { path, splits: 'train,test' } }], edges: [] }, registry);
  if (!v.compiled) throw new Error(v.errors.map((e) => e.message).join('\n'));
  const result = await new Executor({ host: await createNodeHost({ out: mkdtempSync(join(tmpdir(), 'samnerf-bench-')), device: 'cpu' }) }).run(v.compiled);
  if (result.status !== 'done') throw new Error([...result.failures.values()].map((f) => f.message).join('\n'));
  return result.outputs.get('data')!.views as ViewsValue;
}
