// SAM over the views of a scene: one encoder run per view, cached in the
// executor under (upstream views signature, view name, encoder), so a new
// prompt re-runs only the decoder; and the decoder on a cached embedding.

import type { NodeContext } from '../../engine';
import type { PromptBox, PromptPoint, SamEmbeddingValue, View } from '../../engine/values';
import type { ModelRequest, SamnerfHost } from '../host';
import { decodeMask, encodeImage } from '../sam/run';

/** The log line each encoder run emits (tests and benchmarks count them). */
export const ENCODED_LOG = /^encoded (\S+) in (\d+) ms$/;

export async function viewEmbedding(ctx: NodeContext<SamnerfHost>, view: View, request: ModelRequest): Promise<SamEmbeddingValue> {
  const key = `${ctx.inputSignature('views')}|${view.name}|${request.id}|${request.path ?? ''}`;
  return ctx.memo(key, async () => {
    const session = await ctx.host.models.session(request, ctx.signal);
    const t0 = Date.now();
    const embedding = await encodeImage(session, view.image, request.path ?? request.id, ctx.signal);
    ctx.log(`encoded ${view.name} in ${Date.now() - t0} ms`);
    return embedding;
  });
}

export async function segmentView(
  ctx: NodeContext<SamnerfHost>,
  request: ModelRequest,
  embedding: SamEmbeddingValue,
  prompt: { points: readonly PromptPoint[]; box?: PromptBox },
): Promise<{ mask: Uint8Array; score?: number }> {
  const session = await ctx.host.models.session(request, ctx.signal);
  const mask = await decodeMask(session, embedding, { points: prompt.points, box: prompt.box }, ctx.signal);
  return { mask: mask.data, score: mask.score };
}

/** Every view of the splits named (comma-separated), plus any `extra` views, in dataset order. */
export function pickViews(views: readonly View[], splits: string, extra: readonly string[] = []): View[] {
  const wanted = new Set(splits.split(',').map((s) => s.trim()).filter(Boolean));
  const also = new Set(extra);
  return views.filter((v) => wanted.has(v.split) || also.has(v.name));
}
