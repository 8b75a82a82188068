// The ClipSeg head (runtime-gpu/distill/clipseg.ts) with a generated
// ClipSeg-shaped model split by runtime-gpu/onnx/split.ts: targets are the
// encoder part's reduced activations of the training views, the rendered
// tokens go through the decoder part, and the heat map of a training view
// is compared with the full model's on the photo.

import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeatureFieldValue } from '../../engine/values';
import { clipSegPixelValues } from '../../nodes/clipseg/preprocess';
import { decodeFeatureCheckpoint, encodeFeatureCheckpoint } from '../../runtime-gpu/distill/checkpoint';
import { ClipSegDistillation, ClipSegHeadRenderer, clipSegCells, clipSegGrid, clipSegHeadConfig, clipSegTokens, nearestViewByDirection, type ClipSegDims, type ClipSegTarget } from '../../runtime-gpu/distill/clipseg';
import { FeatureDistillation } from '../../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../../runtime-gpu/distill/layout';
import { learningRate } from '../../runtime-gpu/nerf/adam';
import { splitOnnxModel } from '../../runtime-gpu/onnx/split';
import { FAKE_CLIPSEG_CUT, fakeClipSegModel } from '../helpers/clipseg-fake';
import { generatedScene, sdfRadianceField } from './scene';

const scene = generatedScene({ views: 9, size: 64, seed: 3 });
const field = sdfRadianceField(scene.layout, 48);
const train = scene.views.views.filter((v) => v.split === 'train').slice(0, 4);
const dims: ClipSegDims = { side: 22, inputSize: 352, reduce: 4, layers: 3 };
const model = fakeClipSegModel({ reduce: 4 });
const text = { ids: BigInt64Array.from([49406n, 320n, 1929n, 49407n]), mask: BigInt64Array.from([1n, 1n, 1n, 1n]) };

let encoder: InferenceSession, decoder: InferenceSession, full: InferenceSession;
let targets: ClipSegTarget[];

async function heat(tokens: Float32Array[]): Promise<Float32Array> {
  const feeds: Record<string, Tensor> = { input_ids: new Tensor('int64', text.ids, [1, 4]), attention_mask: new Tensor('int64', text.mask, [1, 4]) };
  FAKE_CLIPSEG_CUT.forEach((name, i) => (feeds[name] = new Tensor('float32', tokens[i]!, [1, 485, 4])));
  const logits = (await decoder.run(feeds)).logits!.data as Float32Array;
  return logits.map((x) => 1 / (1 + Math.exp(-x)));
}

const mae = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + Math.abs(x - b[i]!), 0) / a.length;

function headConfig() {
  return clipSegHeadConfig(featureFieldConfig({ patch: 2, aggChannels: 8, hidden: 16, levels: 8, log2TableSize: 14 }), dims);
}

describe('ClipSeg head: distillation of the reduced activations', () => {
  beforeAll(async () => {
    const split = splitOnnxModel(model, FAKE_CLIPSEG_CUT, { decoderMustNotNeed: ['pixel_values'] });
    encoder = await InferenceSession.create(split.encoder);
    decoder = await InferenceSession.create(split.decoder);
    full = await InferenceSession.create(model);
    targets = [];
    for (const v of train) {
      const px = clipSegPixelValues(v.image);
      const out = await encoder.run({ pixel_values: new Tensor('float32', px.data, px.dims) });
      targets.push({ name: v.name, camera: v.camera, tokens: FAKE_CLIPSEG_CUT.map((n) => out[n]!.data as Float32Array) });
    }
  }, 60_000);

  it('maps tokens to cells and back; the grid is the squashed 352 input', () => {
    const { cells, cls } = clipSegCells(targets[0]!.tokens, dims);
    const back = clipSegTokens(cells, cls, dims);
    back.forEach((t, i) => expect(Array.from(t)).toEqual(Array.from(targets[0]!.tokens[i]!)));
    expect(clipSegGrid(640, 480, dims)).toEqual({ width: 640, height: 480, resizedWidth: 352, resizedHeight: 352, cols: 22, rows: 22 });
    expect(() => clipSegGrid(64, 64, { side: 22, inputSize: 224 })).toThrow(/16-pixel cells/);
    expect(() => clipSegCells(targets[0]!.tokens.slice(0, 2), dims)).toThrow(/expected 3 reduced activations/);
  });

  it('the loss falls, a training view renders a heat map closer to the full model than the per-cell prior, and the checkpoint round-trips', async () => {
    const d = new ClipSegDistillation(headConfig(), field, 1, dims);
    await d.prepare(targets);
    const steps = 600, first: number[] = [], last: number[] = [];
    for (let s = 1; s <= steps; s++) {
      const { loss } = d.step(learningRate(1e-2, s / steps), 48);
      if (s <= 10) first.push(loss);
      if (s > steps - 10) last.push(loss);
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(last)).toBeLessThan(0.6 * mean(first));
    const sam = new FeatureDistillation(featureFieldConfig({ patch: 1, aggChannels: 0, hidden: 8, levels: 4, log2TableSize: 12 }), field, 2);
    const value: FeatureFieldValue = {
      ...sam.toValue('synthetic', { steps: 0, seconds: 0, seed: 2, views: [], finalLoss: 0 }),
      clipseg: d.toValue({ id: 'fake-clipseg' }, FAKE_CLIPSEG_CUT, { steps, seconds: 0, seed: 1, views: train.map((v) => v.name), finalLoss: mean(last) }),
    };
    const renderer = new ClipSegHeadRenderer(value);
    let better = 0;
    const report: string[] = [];
    for (const [v, view] of train.entries()) {
      const r = await renderer.render(view.camera);
      expect(r.clsView).toBe(v); // a training camera's nearest view is itself
      const px = clipSegPixelValues(view.image);
      const ref = (await full.run({ pixel_values: new Tensor('float32', px.data, px.dims), input_ids: new Tensor('int64', text.ids, [1, 4]), attention_mask: new Tensor('int64', text.mask, [1, 4]) })).logits!.data as Float32Array;
      const target = ref.map((x) => 1 / (1 + Math.exp(-x)));
      const rendered = await heat(r.tokens);
      // Baseline: the per-cell prior (mean tokens over the training views) with the same CLS.
      const prior = await heat(clipSegTokens(value.clipseg!.prior!, clipSegCells(targets[v]!.tokens, dims).cls, dims));
      const e = mae(rendered, target), b = mae(prior, target);
      report.push(`${view.name}: rendered ${e.toFixed(4)} prior ${b.toFixed(4)}`);
      if (e < 0.6 * b) better++;
    }
    // Held-out views: CLS of the nearest training view; measured 0.081 / 0.082 vs prior 0.101 / 0.117 (4 training views).
    const held: string[] = [];
    for (const view of scene.views.views.filter((x) => x.split === 'test')) {
      const r = await renderer.render(view.camera);
      const px = clipSegPixelValues(view.image);
      const ref = (await full.run({ pixel_values: new Tensor('float32', px.data, px.dims), input_ids: new Tensor('int64', text.ids, [1, 4]), attention_mask: new Tensor('int64', text.mask, [1, 4]) })).logits!.data as Float32Array;
      const target = ref.map((x) => 1 / (1 + Math.exp(-x)));
      const prior = await heat(clipSegTokens(value.clipseg!.prior!, value.clipseg!.cls.tokens.subarray(r.clsView * 12, (r.clsView + 1) * 12), dims));
      // The photo's own CLS with the rendered cells: how much the nearest view's CLS costs.
      const own = (await encoder.run({ pixel_values: new Tensor('float32', px.data, px.dims) })) as Record<string, Tensor>;
      const ownCls = clipSegCells(FAKE_CLIPSEG_CUT.map((n) => own[n]!.data as Float32Array), dims).cls;
      const withOwn = await heat(clipSegTokens(r.cells, ownCls, dims));
      const heldErr = mae(await heat(r.tokens), target);
      expect(heldErr).toBeLessThan(0.95 * mae(prior, target));
      held.push(`${view.name}: rendered ${heldErr.toFixed(4)} (own CLS ${mae(withOwn, target).toFixed(4)}) prior ${mae(prior, target).toFixed(4)}`);
    }
    console.log(`held out: ${held.join('; ')}`);
    console.log(`ClipSeg head heat-map MAE vs the full model: ${report.join("; ")}; loss ${mean(first).toExponential(2)} -> ${mean(last).toExponential(2)}`);
    expect(better).toBe(train.length);
    // Checkpoint: format 2 with the head, identical tokens after the round trip.
    const bytes = encodeFeatureCheckpoint(value);
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(2);
    const back = decodeFeatureCheckpoint(bytes);
    expect(back.clipseg?.cut).toEqual(FAKE_CLIPSEG_CUT);
    expect(back.clipseg?.model).toEqual({ id: 'fake-clipseg' });
    const a = await renderer.render(train[1]!.camera);
    const b = await new ClipSegHeadRenderer(back).render(train[1]!.camera);
    a.tokens.forEach((t, i) => expect(Buffer.from(b.tokens[i]!.buffer).equals(Buffer.from(t.buffer))).toBe(true));
    // Without a head: format 1 (older builds read it), and the renderer says what is missing.
    const plain = encodeFeatureCheckpoint({ ...value, clipseg: null });
    expect(new DataView(plain.buffer).getUint32(4, true)).toBe(1);
    expect(decodeFeatureCheckpoint(plain).clipseg).toBeNull();
    expect(() => new ClipSegHeadRenderer(decodeFeatureCheckpoint(plain))).toThrow(/no ClipSeg head/);
  }, 120_000);

  it('takes the CLS tokens of the training view nearest in viewing direction', () => {
    const cams = train.map((v) => v.camera);
    const other = scene.views.views.find((v) => v.split === 'test')!.camera;
    const i = nearestViewByDirection(cams, other);
    const dir = (m: readonly number[]) => [-m[2]!, -m[6]!, -m[10]!];
    const cos = cams.map((c) => {
      const a = dir(c.cameraToWorld), b = dir(other.cameraToWorld);
      return (a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!) / (Math.hypot(...a) * Math.hypot(...b));
    });
    expect(cos[i]).toBe(Math.max(...cos));
  });
});
