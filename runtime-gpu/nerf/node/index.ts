// The Node adapter of runtime-gpu/nerf: call once per process (the CLI host,
// bench/nerf.ts, tests) to give NeRF training tuned onnxruntime-node sessions.
// Everything here may import Node-only modules; nothing platform-neutral
// imports this file.

import { setNerfSessionFactory } from '../evaluators';
import { nodeCpuSessionFactory } from './ort-sessions';

export function registerNerfNode(): void {
  setNerfSessionFactory(nodeCpuSessionFactory(1));
}
