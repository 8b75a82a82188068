// A training worker thread (see shard-pool.ts): builds its evaluator and a
// TrainShard over the shared buffers, then runs the ray ranges it is sent.

import { parentPort, workerData } from 'node:worker_threads';
import { paramLayout } from '../config';
import { createFieldEvaluator } from '../evaluators';
import { OccupancyGrid } from '../occupancy';
import { TrainShard } from '../shard';
import { registerNerfNode } from './index';
import type { ShardWorkerData } from './shard-pool';

const data = workerData as ShardWorkerData;
const port = parentPort!;

try {
  registerNerfNode();
  const { config } = data;
  const { evaluator } = await createFieldEvaluator(config, paramLayout(config), data.evaluator);
  const grid = new OccupancyGrid(config.occupancy, { density: new Float32Array(0), occupied: data.occupied, observed: data.observed }, { wrap: true });
  const shard = new TrainShard(config, evaluator, { views: data.views, compositeBackground: data.compositeBackground, pixels: 0 }, data.raysPerBatch, data.sampleBudget);
  port.on('message', async (m: { id: number; begin: number; end: number; lossScale: number }) => {
    try {
      const stats = await shard.run(data.params, grid, data.plan, m.begin, m.end, m.lossScale, data.grad);
      port.postMessage({ id: m.id, stats });
    } catch (e) {
      port.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) });
    }
  });
  port.postMessage({ ready: true, evaluator: evaluator.name });
} catch (e) {
  port.postMessage({ ready: false, error: (e as Error).stack ?? String(e) });
}
