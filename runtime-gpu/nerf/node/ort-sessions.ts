// Node-only adapter: onnxruntime-node sessions tuned for the NeRF's small
// matrix products: one intra-op thread and no spin-waiting (measured on the
// 2-core machine: two spinning threads run the MLP graphs 1.5-2x slower
// than one when the other core is busy, which it is once the hash encoding
// runs beside it). The platform-neutral evaluator takes any SessionFactory.

import * as ort from 'onnxruntime-node';
import { wrapOrtSession } from '../../backends/ort-session';
import type { SessionFactory } from '../field-ort';

export function nodeCpuSessionFactory(threads = 1): SessionFactory {
  return {
    device: 'cpu',
    async create(model: Uint8Array) {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
      return wrapOrtSession(session, ort.Tensor, 'cpu');
    },
  };
}
