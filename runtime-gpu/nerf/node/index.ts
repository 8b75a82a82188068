// The Node adapter of runtime-gpu/nerf: call once per process (the CLI host,
// bench/nerf.ts, tests) to give NeRF training tuned onnxruntime-node sessions
// (one intra-op thread, no spinning) and worker-thread shards on every core.
// Everything here may import Node-only modules; nothing platform-neutral
// imports this file.

import { availableParallelism } from 'node:os';
import { setNerfPlatform } from '../platform';
import { nodeCpuSessionFactory } from './ort-sessions';
import { attachWorkerShards } from './shard-pool';

export function registerNerfNode(): void {
  setNerfPlatform({
    sessionFactory: nodeCpuSessionFactory(1),
    shardFactory: (nerf, set, count, evaluator) => attachWorkerShards(nerf, set, count, evaluator),
    cores: availableParallelism(),
  });
}
