// What a platform adapter may provide to the NeRF code, which itself stays
// platform-neutral: onnxruntime sessions with tuned options, and training
// shards on other threads (worker_threads in Node, Web Workers in a
// browser). node/index.ts installs the Node versions; without an adapter the
// NeRF trains on one thread with the backend registry's default sessions.

import type { TrainingSet } from './dataset';
import type { EvaluatorChoice } from './evaluators';
import type { SessionFactory } from './field-ort';
import type { Nerf } from './nerf';
import type { RemoteShard } from './shard';

export type ShardFactory = (nerf: Nerf, set: TrainingSet, count: number, evaluator: EvaluatorChoice) => Promise<RemoteShard[]>;

export interface NerfPlatform {
  sessionFactory?: SessionFactory;
  shardFactory?: ShardFactory;
  /** Cores the platform can train on (threads = 0 means this many). */
  cores?: number;
}

let platform: NerfPlatform = {};

export function setNerfPlatform(p: NerfPlatform): void {
  platform = { ...p };
}

export function nerfPlatform(): NerfPlatform {
  return platform;
}

/** The thread count for a `threads` param: 0 = the platform's cores (at most 4), 1 without a shard factory. */
export function resolveThreads(requested: number): number {
  if (!platform.shardFactory) return 1;
  if (requested > 0) return requested;
  return Math.max(1, Math.min(4, platform.cores ?? 1));
}
