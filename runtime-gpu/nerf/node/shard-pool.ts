// Node adapter: training shards on worker_threads. Each worker runs the same
// TrainShard code as the main thread on its share of every step's rays, with
// its own onnxruntime session, reading parameters, occupancy and the ray
// plan from shared memory and accumulating into its own shared gradient
// buffer, which the main thread sums in a fixed order (deterministic for a
// given number of threads). The browser would do the same with Web Workers.

import { Worker } from 'node:worker_threads';
import type { View } from '../../../engine/values';
import type { TrainingSet } from '../dataset';
import type { EvaluatorChoice } from '../evaluators';
import type { Nerf } from '../nerf';
import type { RemoteShard, ShardStats } from '../shard';

export interface ShardWorkerData {
  config: Nerf['config'];
  views: View[];
  compositeBackground?: [number, number, number];
  params: Float32Array;
  occupied: Uint8Array;
  plan: Nerf['plan'];
  grad: Float32Array;
  observed: Float32Array;
  raysPerBatch: number;
  sampleBudget: number;
  evaluator: EvaluatorChoice;
}

type Reply = { id: number; stats?: ShardStats; error?: string } | { ready: true; evaluator: string } | { ready: false; error: string };

class WorkerShard implements RemoteShard {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(s: ShardStats): void; reject(e: Error): void }>();
  private failure?: Error;

  constructor(
    private readonly worker: Worker,
    readonly grad: Float32Array,
    readonly observed: Float32Array,
  ) {
    worker.on('message', (m: Reply) => {
      if (!('id' in m)) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(`training worker: ${m.error}`));
      else p?.resolve(m.stats!);
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`training worker exited with code ${code}`)));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  run(begin: number, end: number, lossScale: number): Promise<ShardStats> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, begin, end, lossScale });
    });
  }

  async dispose(): Promise<void> {
    this.failure ??= new Error('training worker disposed');
    await this.worker.terminate();
  }
}

/** Starts `count` worker shards for a shared Nerf and attaches them. */
export async function attachWorkerShards(nerf: Nerf, set: TrainingSet, count: number, evaluator: EvaluatorChoice = 'auto'): Promise<RemoteShard[]> {
  if (!nerf.shared) throw new Error('attachWorkerShards: create the Nerf with { shared: true }');
  const shards: RemoteShard[] = [];
  try {
    for (let k = 0; k < count; k++) {
      const grad = new Float32Array(new SharedArrayBuffer(4 * nerf.layout.count));
      const observed = new Float32Array(new SharedArrayBuffer(4 * nerf.grid.cells));
      const data: ShardWorkerData = {
        config: nerf.config,
        views: [...set.views],
        compositeBackground: set.compositeBackground,
        params: nerf.params,
        occupied: nerf.grid.occupied,
        plan: nerf.plan,
        grad,
        observed,
        raysPerBatch: nerf.raysPerBatch,
        sampleBudget: nerf.sampleBudget,
        evaluator,
      };
      const worker = new Worker(new URL('./shard-worker.mjs', import.meta.url), { workerData: data });
      const ready = await new Promise<Reply>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      if (!('ready' in ready) || !ready.ready) {
        await worker.terminate();
        throw new Error(`a training worker failed to start: ${'error' in ready ? ready.error : 'no reply'}`);
      }
      shards.push(new WorkerShard(worker, grad, observed));
    }
  } catch (e) {
    await Promise.all(shards.map((s) => s.dispose()));
    throw e;
  }
  nerf.attachShards(shards);
  return shards;
}
