// SAM over the views of a scene: one encoder run per view, cached in the
// executor under (upstream views signature, view name, encoder), so a new
// prompt re-runs only the decoder; and the decoder on a cached embedding.

import type { NodeContext } from '../../engine';
import type { FeatureFieldValue, PromptBox, PromptPoint, SamEmbeddingValue, View } from '../../engine/values';
import { renderedEmbedding } from '../distill/embedding';
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

/**
 * The view's embedding rendered from a distilled feature field instead of
 * the encoder (docs/distill.md), cached like viewEmbedding under the
 * feature field's signature.
 */
export async function renderedViewEmbedding(ctx: NodeContext<SamnerfHost>, view: View, features: FeatureFieldValue): Promise<SamEmbeddingValue> {
  const key = `features|${ctx.inputSignature('features')}|${ctx.inputSignature('views')}|${view.name}`;
  return ctx.memo(key, async () => {
    const t0 = Date.now();
    const { render, ...embedding } = await renderedEmbedding(features, view.camera, { image: view.image, signal: ctx.signal });
    ctx.log(`rendered features of ${view.name} in ${Date.now() - t0} ms (${render.cells.blended} cells from the view bank, ${render.cells.field} from the field)`);
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

/**
 * The views of the splits named (comma-separated), in dataset order; with
 * `maxViews` > 0, at most that many, evenly spaced over them. The `extra`
 * views (e.g. the clicked ones) are always included.
 */
export function pickViews(views: readonly View[], splits: string, extra: readonly string[] = [], maxViews = 0): View[] {
  const wanted = new Set(splits.split(',').map((s) => s.trim()).filter(Boolean));
  const also = new Set(extra);
  let chosen = views.filter((v) => wanted.has(v.split));
  if (maxViews > 0 && chosen.length > maxViews) {
    const step = chosen.length / maxViews;
    chosen = Array.from({ length: maxViews }, (_, i) => chosen[Math.floor(i * step)]!);
  }
  const keep = new Set([...chosen.map((v) => v.name), ...also]);
  return views.filter((v) => keep.has(v.name));
}
