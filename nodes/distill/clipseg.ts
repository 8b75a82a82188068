// The distilled ClipSeg head's node-side parts (docs/distill.md, "ClipSeg
// head"): loading the split model with errors that name the param and the
// fix, the per-view targets (the encoder part's reduced activations, cached
// in the executor like the SAM targets), and the heat maps of rendered
// activations through the decoder part.

import { NodeError, type NodeContext } from '../../engine';
import type { Camera, FeatureFieldValue, HeatmapValue, View } from '../../engine/values';
import { CLIPSEG_DIMS, ClipSegHeadRenderer, type ClipSegDims, type ClipSegTarget } from '../../runtime-gpu/distill/clipseg';
import { float32, int64, type TensorData } from '../../runtime-gpu/tensor';
import { clipSegParts, ClipSegModelMissing, type ClipSegParts } from '../clipseg/split-model';
import { logitsToHeatmaps } from '../clipseg/postprocess';
import { clipSegPixelValues, CLIPSEG_INPUT_SIZE } from '../clipseg/preprocess';
import type { TokenBatch } from '../clipseg/tokenizer';
import type { ModelRequest, SamnerfHost } from '../host';
import { perField } from './per-field';

export const CLIPSEG_PULL = 'npx samnerf models pull clipseg-rd64-refined';

/** The split ClipSeg sessions, or a NodeError naming `node`, the param and the fix. */
export async function loadClipSegParts(
  ctx: NodeContext<SamnerfHost>,
  node: string,
  request: ModelRequest,
  cut: readonly string[] | undefined,
  params: { model: string; cut: string },
): Promise<ClipSegParts> {
  try {
    return await clipSegParts(ctx.host, request, cut);
  } catch (e) {
    const msg = (e as Error).message;
    if (e instanceof ClipSegModelMissing)
      throw new NodeError(`${node}: the ClipSeg model "${request.path ?? request.id}" (param ${params.model}) cannot be loaded: ${msg}`, {
        param: params.model,
        fix: `install it with \`${CLIPSEG_PULL}\` (or clear ${params.model} to skip the ClipSeg head)`,
        cause: e,
      });
    throw new NodeError(`${node}: cannot split the ClipSeg model "${request.path ?? request.id}" into its visual part and its decoder: ${msg}`, {
      param: params.cut,
      fix: `set ${params.cut} to the three reduced-activation tensor names (outputs of the decoder's reduces.0, 1, 2), separated by commas`,
      cause: e,
    });
  }
}

/** The cut override of a comma/semicolon-separated param (undefined when empty). */
export function parseCut(text: string): string[] | undefined {
  const names = text.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean);
  return names.length > 0 ? names : undefined;
}

/** ClipSeg's reduced activations of a training view (the encoder part on the photo), cached per view in the executor. */
export async function clipSegTarget(ctx: NodeContext<SamnerfHost>, view: View, request: ModelRequest, parts: ClipSegParts): Promise<ClipSegTarget & { tokenCount: number }> {
  const key = `${ctx.inputSignature('views')}|${view.name}|clipseg|${request.id}|${request.path ?? ''}|${parts.cut.join(',')}`;
  const tokens = await ctx.memo(key, async () => {
    const t0 = Date.now();
    const px = clipSegPixelValues(view.image);
    const out = await parts.encoder.run({ pixel_values: float32(px.data, px.dims) }, { signal: ctx.signal });
    const arrays = parts.cut.map((name) => {
      const t = out[name];
      if (!t || t.type !== 'float32') throw new NodeError(`the ClipSeg encoder part gave no float32 "${name}" (outputs: ${Object.keys(out).join(', ')})`, { param: 'clipsegCut' });
      if (t.dims.length !== 3 || t.dims[0] !== 1) throw new NodeError(`the ClipSeg reduced activation "${name}" has dims [${t.dims.join(', ')}], expected [1, 1 + tokens, channels]`, { param: 'clipsegCut' });
      return { data: (t.data as Float32Array).slice(), dims: [...t.dims] };
    });
    ctx.log(`ClipSeg target ${view.name} in ${Date.now() - t0} ms`);
    return arrays;
  });
  return { name: view.name, camera: view.camera, tokens: tokens.map((t) => t.data), tokenCount: tokens[0]!.dims[1]! };
}

/** The head's dims from a target's reduced activations ([1, 1 + side^2, reduce] each). */
export function clipSegDimsOf(target: ClipSegTarget & { tokenCount: number }): ClipSegDims {
  const count = target.tokens[0]!.length;
  const tokens = target.tokenCount;
  const side = Math.round(Math.sqrt(tokens - 1));
  if (side * side !== tokens - 1) throw new NodeError(`ClipSeg's reduced activations have ${tokens} tokens: not 1 CLS + a square grid`, { param: 'clipsegCut' });
  const dims: ClipSegDims = { side, inputSize: CLIPSEG_INPUT_SIZE, reduce: count / tokens, layers: target.tokens.length };
  if (dims.inputSize !== 16 * side) throw new NodeError(`ClipSeg's token grid is ${side} x ${side} for a ${CLIPSEG_INPUT_SIZE} input: not 16-pixel patches (expected ${CLIPSEG_DIMS.side})`, { param: 'clipsegCut' });
  return dims;
}

/** One ClipSeg head renderer per field value. */
export const clipSegRenderer = perField((field) => new ClipSegHeadRenderer(field));

/** Heat maps of `prompts` for `camera` from the field's ClipSeg head (rendered activations through the decoder part), one per prompt. */
export async function renderClipSegHeatmaps(
  field: FeatureFieldValue,
  camera: Camera,
  parts: ClipSegParts,
  tokens: TokenBatch,
  prompts: readonly string[],
  signal?: AbortSignal,
): Promise<{ maps: HeatmapValue[]; clsView: number; ms: { surface: number; head: number; decoder: number } }> {
  const head = field.clipseg!;
  const r = await clipSegRenderer(field).render(camera, { signal });
  const n = prompts.length, T = head.side * head.side + 1;
  const known = new Set(['input_ids', 'attention_mask', ...parts.cut]);
  const unknown = parts.decoder.inputNames.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new Error(`the ClipSeg decoder part needs inputs this node cannot give: ${unknown.join(', ')} (it has ${parts.decoder.inputNames.join(', ')})`);
  const feeds: Record<string, TensorData> = { input_ids: int64(tokens.inputIds, tokens.dims) };
  if (parts.decoder.inputNames.includes('attention_mask')) feeds.attention_mask = int64(tokens.attentionMask, tokens.dims);
  parts.cut.forEach((name, i) => {
    const one = r.tokens[i]!;
    const data = new Float32Array(n * one.length);
    for (let k = 0; k < n; k++) data.set(one, k * one.length);
    feeds[name] = float32(data, [n, T, head.reduce]);
  });
  const t0 = performance.now();
  const out = await parts.decoder.run(feeds, { signal });
  const logits = out.logits ?? out[parts.decoder.outputNames[0]!];
  if (!logits || logits.type !== 'float32') throw new Error(`the ClipSeg decoder part gave no float32 logits (outputs: ${parts.decoder.outputNames.join(', ')})`);
  const maps = logitsToHeatmaps(logits.data as Float32Array, logits.dims, camera.width, camera.height, prompts);
  return { maps, clsView: r.clsView, ms: { ...r.ms, decoder: performance.now() - t0 } };
}
