// ClipSegEncoder: text prompts + a photo -> relevance heat maps, through the
// published ONNX export of ClipSeg (inputs input_ids, attention_mask,
// pixel_values [B,3,352,352]; output logits). Several prompts run as one
// batch; the output heat map is their per-pixel maximum.

import { defineNode, NodeError, type NodeContext } from '../engine';
import type { HeatmapValue, ImageValue } from '../engine/values';
import { clipSegFeeds } from './clipseg/feeds';
import { logitsToHeatmaps } from './clipseg/postprocess';
import { clipSegPixelValues, IMAGENET_MEAN, IMAGENET_STD } from './clipseg/preprocess';
import { ClipTokenizer } from './clipseg/tokenizer';
import type { SamnerfHost } from './host';
import { modelParams } from './params';

/** Parsed tokenizers by source: parsing 48,894 merges takes a noticeable fraction of a second. */
const tokenizers = new Map<string, Promise<ClipTokenizer>>();

function loadTokenizer(key: string, load: () => Promise<Uint8Array>): Promise<ClipTokenizer> {
  let pending = tokenizers.get(key);
  if (!pending) {
    pending = load().then((bytes) => {
      const looksLikeJson = bytes[0] === 0x7b; // '{'
      return looksLikeJson ? ClipTokenizer.fromTokenizerJson(JSON.parse(new TextDecoder().decode(bytes))) : ClipTokenizer.fromBpeMerges(bytes);
    });
    tokenizers.set(key, pending);
    pending.catch(() => tokenizers.delete(key));
  }
  return pending;
}

export function splitPrompts(text: string): string[] {
  return text.split(/[;\n]/).map((t) => t.trim()).filter((t) => t.length > 0);
}

export const ClipSegEncoder = defineNode({
  type: 'ClipSegEncoder',
  version: 1,
  category: 'Language',
  description: 'ClipSeg: heat map of where a text prompt is in the photo (several prompts separated by ";")',
  inputs: { image: { type: 'Image', description: 'the photo' } },
  outputs: { heatmap: { type: 'Heatmap', description: 'sigmoid relevance in [0, 1] at the photo size (maximum over prompts)' } },
  params: {
    prompt: { type: 'string', default: '', description: 'what to find, e.g. "the truck\'s window"; separate several with ";"' },
    normalization: { type: 'enum', options: ['imagenet', 'half'], default: 'imagenet', description: 'pixel mean/std: ImageNet (CIDAS weights) or 0.5/0.5 (some early exports)' },
    vocabPath: { type: 'path', mode: 'file', default: '', extensions: ['.json', '.gz', '.txt'], description: "tokenizer: a tokenizer.json or CLIP's bpe_simple_vocab_16e6.txt.gz (default: the model's own tokenizer.json)" },
    ...modelParams('clipseg-rd64-refined', 'ClipSeg'),
  },
  async run(ctx: NodeContext<SamnerfHost>, inputs, params) {
    const image = inputs.image as ImageValue;
    const prompts = splitPrompts(params.prompt as string);
    if (prompts.length === 0) throw new NodeError('no text prompt', { param: 'prompt', fix: 'describe the object, e.g. "a red truck"' });
    const request = { id: params.model as string, path: (params.modelPath as string) || undefined };
    ctx.progress(0, 3, 'loading model');
    const session = await ctx.host.models.session(request, ctx.signal);
    const vocabPath = params.vocabPath as string;
    const tokenizer = await loadTokenizer(vocabPath || `${request.id}:${request.path ?? ''}`, () =>
      vocabPath ? ctx.host.files.readFile(vocabPath) : ctx.host.models.file(request, 'tokenizer'),
    );
    let tokens;
    try {
      tokens = tokenizer.encodeBatch(prompts);
    } catch (e) {
      throw new NodeError((e as Error).message, { param: 'prompt' });
    }
    ctx.progress(1, 3, 'preprocessing');
    const half = params.normalization === 'half';
    const pixels = clipSegPixelValues(image, half ? { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } : { mean: IMAGENET_MEAN, std: IMAGENET_STD });
    ctx.progress(2, 3, `running ClipSeg on ${session.device}`);
    const outputs = await session.run(clipSegFeeds(session.inputNames, tokens, pixels, prompts.length), { signal: ctx.signal });
    const logits = outputs.logits ?? outputs[session.outputNames[0]!];
    if (!logits || logits.type !== 'float32') throw new NodeError(`the model gave no float32 "logits" output (outputs: ${session.outputNames.join(', ')})`, { param: 'modelPath' });
    const maps = logitsToHeatmaps(logits.data as Float32Array, logits.dims, image.width, image.height, prompts);
    const combined = new Float32Array(image.width * image.height);
    for (const map of maps) for (let i = 0; i < combined.length; i++) combined[i] = Math.max(combined[i]!, map.data[i]!);
    ctx.progress(3, 3);
    const heatmap: HeatmapValue = { kind: 'Heatmap', width: image.width, height: image.height, data: combined, label: prompts.join('; ') };
    return { heatmap };
  },
});
