// A FieldEvaluator with the hash encoding in TypeScript (hash-encoding.ts)
// and the MLPs in onnxruntime (mlp-graphs.ts), through samnerf's backend
// registry (onnxruntime-node under the CLI, onnxruntime-web in the browser),
// so this file stays platform-neutral. The CPU reference remains the
// definition; tests check that both agree.

import { resolveBackend, type Device, type InferenceSession } from '../backend';
import { tensor, type TensorData } from '../tensor';
import type { FieldConfig, ParamLayout } from './config';
import { shCoefficients } from './config';
import type { FieldEvaluator } from './field-kernels';
import { hashEncodeBackward, hashEncodeForward } from './hash-encoding';
import { buildMlpGraphs } from './mlp-graphs';

/** Creates inference sessions from model bytes on one device. */
export interface SessionFactory {
  device: Device;
  create(model: Uint8Array): Promise<InferenceSession>;
}

/** Samples per onnxruntime call: large enough to amortise the call, small enough to keep activations in cache. */
const CHUNK = 16384;

export class OrtFieldEvaluator implements FieldEvaluator {
  readonly name: string;
  private readonly E: number;
  private readonly nSh: number;
  private readonly enc: Float32Array;
  private readonly weightNames: string[];
  private readonly weightCopy: Float32Array;

  private constructor(
    readonly config: FieldConfig,
    readonly layout: ParamLayout,
    private readonly sessions: { forward: InferenceSession; density: InferenceSession; backward: InferenceSession },
    weightNames: string[],
    device: Device,
  ) {
    this.name = `onnxruntime-${device}`;
    this.E = layout.encodingWidth;
    this.nSh = shCoefficients(config.mlp.shDegree);
    this.enc = new Float32Array(CHUNK * this.E);
    this.weightNames = weightNames;
    this.weightCopy = new Float32Array(layout.count - layout.density1.offset);
  }

  /**
   * Sessions come from `factory` when given (e.g. the Node adapter's single-
   * threaded, non-spinning sessions), else from the registered backend for `device`.
   */
  static async create(config: FieldConfig, layout: ParamLayout, options: { device?: Device | 'auto'; factory?: SessionFactory } = {}): Promise<OrtFieldEvaluator> {
    if (config.hash.featuresPerLevel !== 2) throw new Error('the hash encoding supports 2 features per level');
    let factory = options.factory;
    let device: Device;
    if (factory) device = factory.device;
    else {
      const resolved = await resolveBackend(options.device ?? 'cpu');
      device = resolved.device;
      factory = { device, create: (model) => resolved.backend.createSession(model, { device }) };
    }
    const graphs = buildMlpGraphs(config, layout);
    const create = factory.create;
    const [forward, density, backward] = await Promise.all([create(graphs.forward), create(graphs.density), create(graphs.backward)]);
    return new OrtFieldEvaluator(config, layout, { forward, density, backward }, graphs.weightNames, device);
  }

  /**
   * The MLP weights as feeds. They are copied out of the parameter buffer
   * (a few thousand floats): onnxruntime-node refuses views of a
   * SharedArrayBuffer, which the parameters are when shards share them.
   */
  private weights(params: Float32Array, count = this.weightNames.length): Record<string, TensorData> {
    const slots = [this.layout.density1, this.layout.density2, ...this.layout.color];
    const feeds: Record<string, TensorData> = {};
    const first = slots[0]!.offset;
    this.weightCopy.set(params.subarray(first, this.layout.count));
    for (let i = 0; i < count; i++) {
      const s = slots[i]!;
      feeds[this.weightNames[i]!] = tensor('float32', this.weightCopy.subarray(s.offset - first, s.offset - first + s.rows * s.cols), [s.rows, s.cols]);
    }
    return feeds;
  }

  async query(
    params: Float32Array, positions: Float32Array, sh: Float32Array, count: number,
    sigma: Float32Array, rgb: Float32Array, encOut?: Float32Array,
  ): Promise<void> {
    const { E, nSh } = this;
    const weights = this.weights(params);
    for (let base = 0; base < count; base += CHUNK) {
      const n = Math.min(CHUNK, count - base);
      const enc = encOut ? encOut.subarray(base * E, (base + n) * E) : this.enc.subarray(0, n * E);
      hashEncodeForward(params, this.layout.levels, positions.subarray(3 * base, 3 * (base + n)), n, enc, E);
      const out = await this.sessions.forward.run({
        ...weights,
        enc: tensor('float32', enc, [n, E]),
        sh: tensor('float32', sh.subarray(nSh * base, nSh * (base + n)), [n, nSh]),
      });
      sigma.set(out.sigma!.data as Float32Array, base);
      rgb.set(out.rgb!.data as Float32Array, 3 * base);
    }
  }

  async density(params: Float32Array, positions: Float32Array, count: number, sigma: Float32Array): Promise<void> {
    const E = this.E;
    const weights = this.weights(params, 2);
    for (let base = 0; base < count; base += CHUNK) {
      const n = Math.min(CHUNK, count - base);
      hashEncodeForward(params, this.layout.levels, positions.subarray(3 * base, 3 * (base + n)), n, this.enc, E);
      const out = await this.sessions.density.run({ ...weights, enc: tensor('float32', this.enc.subarray(0, n * E), [n, E]) });
      sigma.set(out.sigma!.data as Float32Array, base);
    }
  }

  async backward(
    params: Float32Array, positions: Float32Array, sh: Float32Array, count: number,
    dSigma: Float32Array, dRgb: Float32Array, grad: Float32Array, encIn?: Float32Array,
  ): Promise<void> {
    const { E, nSh, layout } = this;
    const weights = this.weights(params);
    const slots = [layout.density1, layout.density2, ...layout.color];
    for (let base = 0; base < count; base += CHUNK) {
      const n = Math.min(CHUNK, count - base);
      const pos = positions.subarray(3 * base, 3 * (base + n));
      let enc: Float32Array;
      if (encIn) enc = encIn.subarray(base * E, (base + n) * E);
      else {
        enc = this.enc.subarray(0, n * E);
        hashEncodeForward(params, layout.levels, pos, n, enc, E);
      }
      const out = await this.sessions.backward.run({
        ...weights,
        enc: tensor('float32', enc, [n, E]),
        sh: tensor('float32', sh.subarray(nSh * base, nSh * (base + n)), [n, nSh]),
        dSigma: tensor('float32', dSigma.subarray(base, base + n), [n, 1]),
        dRgb: tensor('float32', dRgb.subarray(3 * base, 3 * (base + n)), [n, 3]),
      });
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i]!;
        const g = out[`d${this.weightNames[i]}`]!.data as Float32Array;
        for (let j = 0; j < g.length; j++) grad[s.offset + j] += g[j]!;
      }
      hashEncodeBackward(grad, layout.levels, pos, n, out.dEnc!.data as Float32Array, E);
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s) => s.release()));
  }
}
