// ClipSeg's published export split in two (runtime-gpu/onnx/split.ts) for the
// distilled ClipSeg head: the visual "encoder" (pixel_values -> the three
// reduced activations) runs once per training view; the "decoder" (text +
// reduced activations -> logits) runs on rendered activations. Sessions are
// cached per model and cut, like the tokenizers.

import type { ModelRequest, SamnerfHost } from '../host';
import { resolveBackend, type InferenceSession } from '../../runtime-gpu/backend';
import { clipSegCutTensors, splitOnnxModel } from '../../runtime-gpu/onnx/split';
import { ClipTokenizer } from './tokenizer';

export interface ClipSegParts {
  encoder: InferenceSession;
  decoder: InferenceSession;
  /** The cut tensors: encoder outputs = decoder inputs, in reduces.0, 1, 2 order. */
  cut: string[];
}

const parts = new Map<string, Promise<ClipSegParts>>();

/** The model file could not be had (not installed, unreadable): the cause is the model provider's error. */
export class ClipSegModelMissing extends Error {
  override name = 'ClipSegModelMissing';
}

/** The split model's sessions; `cut` overrides the tensor names found by module scope. Throws the loader's or the split's error as is. */
export function clipSegParts(host: SamnerfHost, request: ModelRequest, cut?: readonly string[]): Promise<ClipSegParts> {
  const key = `${request.id}\u0000${request.path ?? ''}\u0000${(cut ?? []).join('\u0000')}`;
  let pending = parts.get(key);
  if (!pending) {
    pending = (async () => {
      let bytes: Uint8Array;
      try {
        bytes = await host.models.file(request, 'model');
      } catch (e) {
        throw new ClipSegModelMissing((e as Error).message, { cause: e });
      }
      const names = cut && cut.length > 0 ? [...cut] : clipSegCutTensors(bytes);
      const split = splitOnnxModel(bytes, names, { decoderMustNotNeed: ['pixel_values'] });
      const { backend, device } = await resolveBackend(host.device);
      const encoder = await backend.createSession(split.encoder, { device });
      const decoder = await backend.createSession(split.decoder, { device });
      return { encoder, decoder, cut: names };
    })();
    parts.set(key, pending);
    pending.catch(() => parts.delete(key));
  }
  return pending;
}

/** Forget the cached sessions (tests). */
export async function clearClipSegParts(): Promise<void> {
  const all = [...parts.values()];
  parts.clear();
  for (const p of all) {
    const r = await p.catch(() => null);
    if (r) {
      await r.encoder.release();
      await r.decoder.release();
    }
  }
}

const tokenizers = new Map<string, Promise<ClipTokenizer>>();

/** A parsed tokenizer by source (a tokenizer.json or CLIP's BPE merges), cached. */
export function clipSegTokenizer(key: string, load: () => Promise<Uint8Array>): Promise<ClipTokenizer> {
  let pending = tokenizers.get(key);
  if (!pending) {
    pending = load().then((bytes) => (bytes[0] === 0x7b ? ClipTokenizer.fromTokenizerJson(JSON.parse(new TextDecoder().decode(bytes))) : ClipTokenizer.fromBpeMerges(bytes)));
    tokenizers.set(key, pending);
    pending.catch(() => tokenizers.delete(key));
  }
  return pending;
}
