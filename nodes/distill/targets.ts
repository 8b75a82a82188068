// Distillation targets: the SAM encoder's embedding of each training view,
// cached per view in the executor (upstream views signature, view name,
// encoder), so retraining with other params does not encode again.

import type { NodeContext } from '../../engine';
import type { SamEmbeddingValue, View } from '../../engine/values';
import type { ModelRequest, SamnerfHost } from '../host';
import { encodeImage } from '../sam/run';

/** The log line each encoder run emits (tests count them). */
export const TARGET_ENCODED_LOG = /^encoded target (\S+) in (\d+) ms$/;

export async function targetEmbedding(ctx: NodeContext<SamnerfHost>, view: View, request: ModelRequest): Promise<SamEmbeddingValue> {
  const key = `${ctx.inputSignature('views')}|${view.name}|${request.id}|${request.path ?? ''}`;
  return ctx.memo(key, async () => {
    const session = await ctx.host.models.session(request, ctx.signal);
    const t0 = Date.now();
    const embedding = await encodeImage(session, view.image, request.path ?? request.id, ctx.signal);
    ctx.log(`encoded target ${view.name} in ${Date.now() - t0} ms`);
    return embedding;
  });
}
