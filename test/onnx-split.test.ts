// ONNX graph surgery (runtime-gpu/onnx/split.ts) on a generated ClipSeg-shaped
// model: the encoder part gives the reduced activations, the decoder part on
// them gives the full model's logits, pruning drops the inputs each part
// does not need, untouched fields survive byte for byte, bad cuts are named.

import { InferenceSession, Tensor } from 'onnxruntime-node';
import protobuf from 'protobufjs/minimal.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipSegCutTensors, parseOnnxGraph, splitOnnxModel } from '../runtime-gpu/onnx/split';
import { Rng } from '../runtime-gpu/nerf/rng';
import { FAKE_CLIPSEG_CUT, fakeClipSegModel } from './helpers/clipseg-fake';

const { Writer } = protobuf;

const entry = (field: number, payload: Uint8Array) => protobuf.Writer.create().uint32((field << 3) | 2).bytes(payload).finish();
const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

/** The model with a metadata_props entry, an unknown ModelProto field, and value_info for reduces.1's output. */
function decorated(model: Uint8Array): { bytes: Uint8Array; valueInfo: Uint8Array; meta: Uint8Array; unknown: Uint8Array } {
  const g = parseOnnxGraph(model);
  // ValueInfoProto { name, type { tensor_type { elem_type 1, shape { dim { dim_param "batch" } dim { 485 } dim { 4 } } } } }
  const dim = (d: number | string) => entry(1, typeof d === 'number' ? Writer.create().uint32(8).int64(d).finish() : Writer.create().uint32(18).string(d).finish());
  const shape = concat([dim('batch'), dim(485), dim(4)]);
  const tensorType = concat([Writer.create().uint32(8).int32(1).finish(), entry(2, shape)]);
  const valueInfo = concat([Writer.create().uint32(10).string(FAKE_CLIPSEG_CUT[1]!).finish(), entry(2, entry(1, tensorType))]);
  const graph = concat([...g.graphFields.map((f) => f.raw), entry(13, valueInfo)]);
  const meta = entry(14, concat([Writer.create().uint32(10).string('source').finish(), Writer.create().uint32(18).string('fake clipseg').finish()]));
  const unknown = Writer.create().uint32((99 << 3) | 0).uint32(12345).finish();
  const bytes = concat([...g.modelFields.map((f) => (f.field === 7 ? entry(7, graph) : f.raw)), meta, unknown]);
  return { bytes, valueInfo, meta, unknown };
}

async function run(model: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await InferenceSession.create(model);
  try {
    return (await session.run(feeds)) as Record<string, Tensor>;
  } finally {
    await session.release();
  }
}

describe('splitOnnxModel on a ClipSeg-shaped graph', () => {
  const reference = fakeClipSegModel({ exposeCut: true });
  const model = decorated(fakeClipSegModel());
  const rng = new Rng(7);
  const n = 2, L = 5;
  const pixels = new Tensor('float32', Float32Array.from({ length: n * 3 * 352 * 352 }, () => rng.uniform(-2, 2)), [n, 3, 352, 352]);
  const ids = new Tensor('int64', BigInt64Array.from([49406n, 320n, 1929n, 49407n, 49407n, 49406n, 2368n, 9115n, 536n, 49407n]), [n, L]);
  const mask = new Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n, 0n, 1n, 1n, 1n, 1n, 1n]), [n, L]);
  let full: Record<string, Tensor>;
  beforeAll(async () => {
    full = await run(reference, { pixel_values: pixels, input_ids: ids, attention_mask: mask });
  });

  it('finds the cut tensors by module scope', () => {
    expect(clipSegCutTensors(model.bytes)).toEqual(FAKE_CLIPSEG_CUT);
  });

  it('encoder(pixels) = the cut tensors, decoder(cut tensors, text) = the full logits; each part keeps only the inputs it needs', async () => {
    const split = splitOnnxModel(model.bytes, FAKE_CLIPSEG_CUT, { decoderMustNotNeed: ['pixel_values'] });
    expect(split.encoderInputs).toEqual(['pixel_values']);
    expect(split.decoderInputs).toEqual(['input_ids', 'attention_mask', ...FAKE_CLIPSEG_CUT]);
    const enc = await InferenceSession.create(split.encoder);
    const dec = await InferenceSession.create(split.decoder);
    expect(enc.inputNames).toEqual(['pixel_values']);
    expect(enc.outputNames).toEqual(FAKE_CLIPSEG_CUT);
    expect(dec.inputNames).toEqual(['input_ids', 'attention_mask', ...FAKE_CLIPSEG_CUT]);
    expect(dec.outputNames).toEqual(['logits']);
    const cut = (await enc.run({ pixel_values: pixels })) as Record<string, Tensor>;
    for (const name of FAKE_CLIPSEG_CUT) {
      expect(cut[name]!.dims).toEqual([n, 485, 4]);
      expect(Array.from(cut[name]!.data as Float32Array)).toEqual(Array.from(full[name]!.data as Float32Array));
    }
    const out = (await dec.run({ input_ids: ids, attention_mask: mask, ...cut })) as Record<string, Tensor>;
    expect(out.logits!.dims).toEqual([n, 352, 352]);
    const a = out.logits!.data as Float32Array, b = full.logits!.data as Float32Array;
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
    }
    expect(maxAbs).toBeGreaterThan(0.1);
    expect(maxDiff).toBeLessThanOrEqual(1e-6 * maxAbs);
    // The logits depend on the text (else the test would not show that the decoder reads it).
    let textDiff = 0;
    for (let i = 0; i < 352 * 352; i++) textDiff = Math.max(textDiff, Math.abs(b[i]! - b[352 * 352 + i]!));
    expect(textDiff).toBeGreaterThan(1e-3);
    await enc.release();
    await dec.release();
    // Fewer nodes in each part than in the whole; the text branch is in the decoder only.
    const whole = parseOnnxGraph(model.bytes).nodes.length;
    expect(split.encoderNodes + split.decoderNodes).toBe(whole);
    const encNames = parseOnnxGraph(split.encoder).nodes.map((x) => x.name);
    expect(encNames.some((x) => x.includes('text_model'))).toBe(false);
    expect(parseOnnxGraph(split.decoder).nodes.some((x) => x.name.includes('patch_embedding'))).toBe(false);
    // Initializers were pruned with their nodes.
    expect(parseOnnxGraph(split.encoder).initializers).not.toContain('text.embedding');
    expect(parseOnnxGraph(split.decoder).initializers).not.toContain('patch.w');
  });

  it('copies untouched fields byte for byte and takes value types from value_info', () => {
    const split = splitOnnxModel(model.bytes, FAKE_CLIPSEG_CUT);
    const original = parseOnnxGraph(model.bytes);
    for (const part of [split.encoder, split.decoder]) {
      const g = parseOnnxGraph(part);
      const outside = (x: typeof g) => x.modelFields.filter((f) => f.field !== 7).map((f) => Buffer.from(f.raw).toString('hex'));
      expect(outside(g)).toEqual(outside(original));
      expect(outside(g).join('')).toContain(Buffer.from(model.meta).toString('hex'));
      expect(outside(g).join('')).toContain(Buffer.from(model.unknown).toString('hex'));
      // Graph name and the opset import survive.
      expect(g.graphFields.find((f) => f.field === 2)?.raw).toEqual(original.graphFields.find((f) => f.field === 2)?.raw);
      // Kept nodes are the original bytes.
      const raws = new Set(original.graphFields.filter((f) => f.field === 1).map((f) => Buffer.from(f.raw).toString('hex')));
      for (const f of g.graphFields.filter((x) => x.field === 1)) expect(raws.has(Buffer.from(f.raw).toString('hex'))).toBe(true);
    }
    // reduces.1 had value_info: the decoder's new input and the encoder's new output carry it; the others are float of unknown shape.
    const dec = parseOnnxGraph(split.decoder), enc = parseOnnxGraph(split.encoder);
    expect(Buffer.from(dec.valueInfo.get(FAKE_CLIPSEG_CUT[1]!)!)).toEqual(Buffer.from(model.valueInfo));
    expect(Buffer.from(enc.valueInfo.get(FAKE_CLIPSEG_CUT[1]!)!)).toEqual(Buffer.from(model.valueInfo));
    expect(dec.valueInfo.get(FAKE_CLIPSEG_CUT[0]!)!.length).toBeLessThan(model.valueInfo.length);
  });

  it('names bad cuts: unknown tensors, a decoder that still needs pixel_values, a model without the reduce scopes', () => {
    expect(() => splitOnnxModel(model.bytes, ['/decoder/reduces.7/Add_output_0'])).toThrow(/no node produces it.*reduces\.0\/Add_output_0/);
    // Cutting at two of the three reduces leaves layer 3's path to pixel_values in the decoder.
    expect(() => splitOnnxModel(model.bytes, FAKE_CLIPSEG_CUT.slice(0, 2), { decoderMustNotNeed: ['pixel_values'] })).toThrow(
      /still needs "pixel_values".*output "logits".*\/decoder\/reduces\.2\/MatMul.*layers\.3.*"pixel_values"/,
    );
    const renamed = fakeClipSegModel({ reducesScope: '/decoder/reduce' });
    expect(() => clipSegCutTensors(renamed)).toThrow(/no ClipSeg reduce node in scope "\/decoder\/reduces\.0\/".*decoder-scope nodes found.*\/decoder\/reduce\.0\/MatMul/);
    expect(() => parseOnnxGraph(new Uint8Array([1, 2, 3]))).toThrow();
  });
});
