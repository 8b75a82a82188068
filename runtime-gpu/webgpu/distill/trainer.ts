// The feature distillation's training step on WebGPU (docs/gpu.md,
// "Feature distillation"): the WGSL counterpart of FeatureHead.forward /
// backward (runtime-gpu/distill/head.ts), the MSE against the targets, and
// Adam (sparse over the hash tables), with the same parameter layout.
//
// On the device for the whole run: parameters, gradient, Adam moments, and
// every prepared view's surface samples (positions, weights, per-ray
// offsets and accumulation) and targets, uploaded once by setViews(). Per
// step the host uploads only the picked cells (16 bytes each: first global
// ray, target row, first batch sample; drawn by FeatureDistillation from
// its RNG exactly as the CPU step draws them) and an 32-byte uniform; the
// device gathers the batch, runs forward, loss, backward and Adam in one
// command buffer, and writes the batch's loss into a ring of LOSS_SLOTS
// slots that the host reads when it wants (readLosses).

import type { FeatureFieldConfig } from '../../../engine/values';
import type { CellBatch } from '../../distill/head';
import type { FeatureLayout } from '../../distill/layout';
import { ADAM_DEFAULTS, type AdamConfig } from '../../nerf/adam';
import { Kernel, readFloat32, storageBuffer, submit, submitNoWait, Usage, WORKGROUP, writeBuffer, type Binding } from '../compute';
import type { GpuContext } from '../device';
import { AdamKernel } from '../kernels/adam';
import { HashEncodingKernels } from '../kernels/hash-encoding';
import {
  blendWgsl, cellWgsl, conv1Wgsl, dEncWgsl, dgWgsl, DIMS_WORDS, dmWgsl, dTWgsl, dXWgsl, dYWgsl, gatherWgsl, gradGroups, groupWidth,
  headShape, hiddenWgsl, LOSS_SLOTS, lossReduceWgsl, lossWgsl, partialWgsl, projectWgsl, reduceWgsl, ROW_CHUNK, tapMeanWgsl,
  type GradGroup, type HeadShape,
} from './kernels';

/** A prepared view as FeatureDistillation keeps it: the surface samples of its valid cells' patches (row-major cells, P x P rays each) and its targets [cell][K]. */
export interface GpuTrainingView {
  surface: { offsets: Uint32Array; positions: Float32Array; weights: Float32Array; acc: Float32Array };
  targets: Float32Array;
}

type Names =
  | 'gather' | 'hidden' | 'blend' | 'conv1' | 'tapMean' | 'cell' | 'project' | 'loss' | 'lossReduce'
  | 'dm' | 'dT' | 'dY' | 'dX' | 'dg' | 'dEnc';

type BatchBuffers = Record<'bPos' | 'bSW' | 'bRay' | 'enc' | 'g' | 'X' | 'Y' | 'T' | 'm' | 'out' | 'dOut' | 'sq' | 'dm' | 'dT' | 'dY' | 'dX' | 'dg' | 'dEnc' | 'partial', GPUBuffer>;

const chunks = (n: number) => Math.ceil(n / ROW_CHUNK);

export class GpuFeatureTrainer {
  readonly shape: HeadShape;
  readonly params: GPUBuffer;
  readonly grad: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  private readonly dims: GPUBuffer;
  private readonly losses: GPUBuffer;
  private picks: GPUBuffer;
  private pickCap = 0;
  private caps = { S: 0, R: 0, B: 0 };
  private batch?: BatchBuffers;
  private groups = new Map<string, GPUBindGroup>();
  // The uploaded views.
  private gRay?: GPUBuffer;
  private gPos?: GPUBuffer;
  private gW?: GPUBuffer;
  private targets?: GPUBuffer;
  private viewInfo: Array<{ rayBase: number; cellBase: number; offsets: Uint32Array; cells: number }> = [];
  /** Steps recorded; the loss of step i is in slot i % LOSS_SLOTS. */
  steps = 0;
  private unread = 0;

  private constructor(
    private readonly ctx: GpuContext,
    readonly config: FeatureFieldConfig,
    readonly layout: FeatureLayout,
    private readonly kernels: Record<Names, Kernel | null>,
    private readonly grads: Array<{ group: GradGroup; partial: Kernel; reduce: Kernel }>,
    private readonly hash: HashEncodingKernels,
    private readonly adam: AdamKernel,
  ) {
    this.shape = headShape(config, layout);
    const n = layout.count;
    this.params = storageBuffer(ctx, n * 4, 'feature-params');
    this.grad = storageBuffer(ctx, n * 4, 'feature-grad');
    this.m = storageBuffer(ctx, n * 4, 'feature-adam-m');
    this.v = storageBuffer(ctx, n * 4, 'feature-adam-v');
    this.dims = ctx.device.createBuffer({ label: 'feature-dims', size: DIMS_WORDS * 4, usage: Usage.UNIFORM | Usage.COPY_DST });
    this.losses = storageBuffer(ctx, LOSS_SLOTS * 4, 'feature-losses');
    this.picks = storageBuffer(ctx, 16, 'feature-picks');
  }

  /** Compiles the kernels for `config` and uploads the parameters (and Adam moments, else zeros). */
  static async create(
    ctx: GpuContext, config: FeatureFieldConfig, layout: FeatureLayout,
    init: { params: Float32Array; adam?: { m: Float32Array; v: Float32Array }; adamConfig?: AdamConfig },
  ): Promise<GpuFeatureTrainer> {
    if (init.params.length !== layout.count) throw new Error(`GpuFeatureTrainer: ${init.params.length} parameters, the config needs ${layout.count}`);
    const h = headShape(config, layout);
    const agg = h.C > 0;
    const make = (name: string, code: string) => Kernel.create(ctx, `feature-${name}`, code);
    const entries: Array<[Names, string | null]> = [
      ['gather', gatherWgsl(h)], ['hidden', hiddenWgsl(h)], ['blend', blendWgsl(h)],
      ['conv1', agg ? conv1Wgsl(h) : null], ['tapMean', agg ? tapMeanWgsl(h) : null], ['cell', cellWgsl(h)],
      ['project', projectWgsl(h)], ['loss', lossWgsl(h)], ['lossReduce', lossReduceWgsl(h)],
      ['dm', dmWgsl(h)], ['dT', agg ? dTWgsl(h) : null], ['dY', agg ? dYWgsl(h) : null], ['dX', dXWgsl(h)], ['dg', dgWgsl(h)], ['dEnc', dEncWgsl(h)],
    ];
    const groups = gradGroups(h);
    const [compiled, gradKernels, hash, adam] = await Promise.all([
      Promise.all(entries.map(([name, code]) => (code ? make(name, code) : Promise.resolve(null)))),
      Promise.all(groups.map(async (group) => ({
        group,
        partial: await make(`${group.name}-partial`, partialWgsl(h, group)),
        reduce: await make(`${group.name}-reduce`, reduceWgsl(h, group)),
      }))),
      HashEncodingKernels.create(ctx, layout),
      AdamKernel.create(ctx, init.adamConfig ?? ADAM_DEFAULTS),
    ]);
    const kernels = Object.fromEntries(entries.map(([name], i) => [name, compiled[i]!])) as Record<Names, Kernel | null>;
    const t = new GpuFeatureTrainer(ctx, config, layout, kernels, gradKernels, hash, adam);
    writeBuffer(ctx, t.params, init.params);
    if (init.adam) {
      writeBuffer(ctx, t.m, init.adam.m);
      writeBuffer(ctx, t.v, init.adam.v);
    }
    return t;
  }

  private buffer(data: ArrayBufferView, label: string): GPUBuffer {
    const limit = this.ctx.device.limits.maxStorageBufferBindingSize;
    if (data.byteLength > limit)
      throw new Error(`GpuFeatureTrainer: ${label} needs ${(data.byteLength / 2 ** 20).toFixed(0)} MiB, over this adapter's storage binding limit of ${(limit / 2 ** 20).toFixed(0)} MiB; use fewer or smaller views, or device cpu`);
    return storageBuffer(this.ctx, data, label);
  }

  /** Uploads every prepared view's surface samples and targets (once; replaces earlier views). */
  setViews(views: readonly GpuTrainingView[]): void {
    const { P2, K } = this.shape;
    let rays = 0, samples = 0, cells = 0;
    for (const v of views) {
      const n = v.targets.length / K;
      if (!Number.isInteger(n) || v.surface.acc.length !== n * P2 || v.surface.offsets.length !== n * P2 + 1)
        throw new Error(`GpuFeatureTrainer.setViews: a view has ${v.targets.length / K} target rows but ${v.surface.acc.length} rays (patch ${this.config.patch})`);
      rays += n * P2;
      samples += v.surface.offsets[n * P2]!;
      cells += n;
    }
    const gRay = new Uint32Array(2 * (rays + 1));
    const accBits = new Uint32Array(1), accF = new Float32Array(accBits.buffer);
    const gPos = new Float32Array(3 * samples), gW = new Float32Array(samples), targets = new Float32Array(cells * K);
    this.viewInfo = [];
    let r0 = 0, s0 = 0, c0 = 0;
    for (const v of views) {
      const { offsets, positions, weights, acc } = v.surface;
      const n = v.targets.length / K;
      this.viewInfo.push({ rayBase: r0, cellBase: c0, offsets, cells: n });
      for (let r = 0; r < n * P2; r++) {
        gRay[2 * (r0 + r)] = s0 + offsets[r]!;
        accF[0] = acc[r]!;
        gRay[2 * (r0 + r) + 1] = accBits[0]!;
      }
      const ns = offsets[n * P2]!;
      gPos.set(positions.subarray(0, 3 * ns), 3 * s0);
      gW.set(weights.subarray(0, ns), s0);
      targets.set(v.targets, c0 * K);
      r0 += n * P2;
      s0 += ns;
      c0 += n;
    }
    gRay[2 * rays] = samples;
    for (const b of [this.gRay, this.gPos, this.gW, this.targets]) b?.destroy();
    this.gRay = this.buffer(gRay, 'feature-views-rays');
    this.gPos = this.buffer(gPos, 'feature-views-positions');
    this.gW = this.buffer(gW, 'feature-views-weights');
    this.targets = this.buffer(targets, 'feature-views-targets');
    this.groups.clear();
  }

  /** Batch buffers for S samples, R rays, B cells (grown by half again; bind groups rebuilt). */
  private ensure(S: number, R: number, B: number): BatchBuffers {
    const { E, H, C, K } = this.shape;
    const c = this.caps;
    if (this.batch && S <= c.S && R <= c.R && B <= c.B) return this.batch;
    const grow = (need: number, cap: number) => (need <= cap ? cap : Math.max(need, Math.ceil(cap * 1.5), 16));
    this.caps = { S: grow(S, c.S), R: grow(R, c.R), B: grow(B, c.B) };
    const { S: s, R: r, B: b } = this.caps;
    if (this.batch) for (const buf of Object.values(this.batch)) buf.destroy();
    const f = (n: number, label: string) => storageBuffer(this.ctx, Math.max(1, n) * 4, `feature-${label}`);
    const partial = Math.max(...this.grads.map(({ group }) => chunks(group.n === 'S' ? s : group.n === 'R' ? r : b) * groupWidth(group)));
    this.batch = {
      bPos: f(3 * s, 'bPos'), bSW: f(2 * s, 'bSW'), bRay: f(4 * r, 'bRay'), enc: f(s * E, 'enc'), g: f(s * H, 'g'),
      X: f(r * H, 'X'), Y: f(r * C, 'Y'), T: f(b * 9 * C, 'T'), m: f(b * H, 'm'), out: f(b * K, 'out'), dOut: f(b * K, 'dOut'), sq: f(b * K, 'sq'),
      dm: f(b * H, 'dm'), dT: f(b * 9 * C, 'dT'), dY: f(r * C, 'dY'), dX: f(r * H, 'dX'), dg: f(s * H, 'dg'), dEnc: f(s * E, 'dEnc'), partial: f(partial, 'partial'),
    };
    this.groups.clear();
    return this.batch;
  }

  private bindings(name: Names): Binding[] {
    const b = this.batch!, agg = this.shape.C > 0;
    const views = () => {
      if (!this.gRay) throw new Error('GpuFeatureTrainer: setViews() first');
      return this.gRay;
    };
    switch (name) {
      case 'gather': return [this.picks, views(), this.gPos!, this.gW!, b.bPos, b.bSW, b.bRay];
      case 'hidden': return [this.params, b.enc, b.g];
      case 'blend': return [this.params, b.bRay, b.bSW, b.g, b.X];
      case 'conv1': return [this.params, b.X, b.Y];
      case 'tapMean': return [b.Y, b.T];
      case 'cell': return agg ? [this.params, b.X, b.T, b.m] : [b.X, b.m];
      case 'project': return [this.params, b.m, b.out];
      case 'loss': views(); return [this.picks, this.targets!, b.out, b.dOut, b.sq];
      case 'lossReduce': return [b.sq, this.losses];
      case 'dm': return [this.params, b.dOut, b.dm];
      case 'dT': return [this.params, b.dm, b.dT];
      case 'dY': return [b.Y, b.dT, b.dY];
      case 'dX': return agg ? [this.params, b.dm, b.dY, b.dX] : [b.dm, b.dX];
      case 'dg': return [b.bRay, b.bSW, b.g, b.dX, b.dg];
      case 'dEnc': return [this.params, b.dg, b.dEnc];
    }
  }

  private group(key: string, kernel: Kernel, bindings: () => Binding[]): GPUBindGroup {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = kernel.bind([this.dims, ...bindings()])));
    return g;
  }

  private run(encoder: GPUCommandEncoder, name: Names, threads: number): void {
    const k = this.kernels[name];
    if (!k) return;
    k.record(encoder, this.group(name, k, () => this.bindings(name)), threads);
  }

  private writeDims(S: number, R: number, B: number, slot: number): void {
    const d = new Uint32Array(DIMS_WORDS);
    d.set([S, R, B, chunks(S), chunks(R), chunks(B), slot]);
    new Float32Array(d.buffer)[7] = 2 / Math.max(1, B * this.shape.K);
    writeBuffer(this.ctx, this.dims, d);
  }

  private recordForward(encoder: GPUCommandEncoder, S: number, R: number, B: number): void {
    const { H, C, K } = this.shape, b = this.batch!;
    this.hash.forward(encoder, this.params, b.bPos, b.enc, S);
    this.run(encoder, 'hidden', S * H);
    this.run(encoder, 'blend', R * H);
    if (C > 0) {
      this.run(encoder, 'conv1', R * C);
      this.run(encoder, 'tapMean', B * 9 * C);
    }
    this.run(encoder, 'cell', B * H);
    this.run(encoder, 'project', B * K);
  }

  private recordBackward(encoder: GPUCommandEncoder, S: number, R: number, B: number): void {
    const { E, H, C } = this.shape, b = this.batch!;
    this.run(encoder, 'dm', B * H);
    if (C > 0) {
      this.run(encoder, 'dT', B * 9 * C);
      this.run(encoder, 'dY', R * C);
    }
    this.run(encoder, 'dX', R * H);
    this.run(encoder, 'dg', S * H);
    this.run(encoder, 'dEnc', S * E);
    this.hash.backward(encoder, this.grad, b.bPos, b.dEnc, S);
    const counts = { S, R, B };
    for (const { group, partial, reduce } of this.grads) {
      const W = groupWidth(group);
      const src = group.sources.map(([name]) => (name === 'bRay' ? b.bRay : b[name as keyof BatchBuffers]));
      partial.record(encoder, this.group(`${group.name}-partial`, partial, () => [...src, b.partial]), chunks(counts[group.n]) * W);
      reduce.record(encoder, this.group(`${group.name}-reduce`, reduce, () => [b.partial, this.grad]), W);
    }
  }

  /**
   * One training step on the picked (view, cell) pairs: gather, forward,
   * MSE against the targets, backward, Adam step `t` (1-based) at `lr`. Queued,
   * not awaited; the loss lands in the ring (readLosses). Returns the batch's sample count.
   */
  step(picks: ReadonlyArray<readonly [view: number, cell: number]>, lr: number, t: number): { samples: number } {
    const { P2 } = this.shape;
    const B = picks.length, R = B * P2;
    const words = new Uint32Array(4 * Math.max(1, B));
    let S = 0;
    picks.forEach(([v, c], i) => {
      const info = this.viewInfo[v];
      if (!info || !(c >= 0 && c < info.cells)) throw new Error(`GpuFeatureTrainer.step: pick ${i} (view ${v}, cell ${c}) is not an uploaded cell`);
      words[4 * i] = info.rayBase + c * P2;
      words[4 * i + 1] = info.cellBase + c;
      words[4 * i + 2] = S;
      S += info.offsets[(c + 1) * P2]! - info.offsets[c * P2]!;
    });
    this.ensure(S, R, B);
    if (words.byteLength > this.pickCap) {
      this.picks.destroy();
      this.pickCap = Math.max(words.byteLength, 2 * this.pickCap);
      this.picks = storageBuffer(this.ctx, this.pickCap, 'feature-picks');
      this.groups.clear();
    }
    writeBuffer(this.ctx, this.picks, words);
    this.writeDims(S, R, B, this.steps % LOSS_SLOTS);
    const encoder = this.ctx.device.createCommandEncoder({ label: 'feature-step' });
    this.run(encoder, 'gather', R);
    this.recordForward(encoder, S, R, B);
    this.run(encoder, 'loss', B * this.shape.K);
    this.run(encoder, 'lossReduce', WORKGROUP);
    this.recordBackward(encoder, S, R, B);
    this.adam.record(encoder, this.params, this.grad, this.m, this.v, this.layout.count, this.layout.hashCount, lr, t);
    submitNoWait(this.ctx, encoder);
    this.steps++;
    this.unread = Math.min(LOSS_SLOTS, this.unread + 1);
    return { samples: S };
  }

  /** The losses of the steps since the last read, oldest first (at most the last LOSS_SLOTS). */
  async readLosses(): Promise<Float32Array> {
    const n = this.unread;
    if (n === 0) return new Float32Array(0);
    const ring = await readFloat32(this.ctx, this.losses, LOSS_SLOTS);
    this.unread = 0;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ring[(this.steps - n + i) % LOSS_SLOTS]!;
    return out;
  }

  /**
   * Forward (and, with dOut, backward) of the head on a host batch, for the
   * parity tests: returns out [cells x K] and the gradient d(sum dOut . out)/d(params).
   * Uses the given params; the device's gradient is left zero.
   */
  async evaluate(params: Float32Array, batch: CellBatch, dOut?: Float32Array): Promise<{ out: Float32Array; grad?: Float32Array }> {
    const { P2, K } = this.shape;
    const B = batch.cells, R = B * P2, S = batch.samples;
    const b = this.ensure(S, R, B);
    const sw = new Uint32Array(2 * Math.max(1, S)), swF = new Float32Array(sw.buffer);
    const ray = new Uint32Array(4 * R), rayF = new Float32Array(ray.buffer);
    for (let r = 0; r < R; r++) rayF[4 * r + 2] = batch.acc[r]!;
    for (let s = 0; s < S; s++) {
      const r = batch.sampleRay[s]!;
      const prev = s > 0 ? batch.sampleRay[s - 1]! : -1;
      if (prev > r || r >= R) throw new Error('GpuFeatureTrainer.evaluate: samples must be sorted by ray, rays < cells * P^2');
      swF[2 * s] = batch.weights[s]!;
      sw[2 * s + 1] = r;
      if (prev !== r) ray[4 * r] = s;
      ray[4 * r + 1] = s + 1;
    }
    writeBuffer(this.ctx, this.params, params);
    writeBuffer(this.ctx, b.bPos, batch.positions.subarray(0, 3 * S));
    writeBuffer(this.ctx, b.bSW, sw);
    writeBuffer(this.ctx, b.bRay, ray);
    this.writeDims(S, R, B, 0);
    const encoder = this.ctx.device.createCommandEncoder({ label: 'feature-evaluate' });
    this.recordForward(encoder, S, R, B);
    if (dOut) {
      writeBuffer(this.ctx, b.dOut, dOut.subarray(0, B * K));
      encoder.clearBuffer(this.grad);
      this.recordBackward(encoder, S, R, B);
    }
    await submit(this.ctx, encoder);
    const out = await readFloat32(this.ctx, b.out, B * K);
    if (!dOut) return { out };
    const grad = await readFloat32(this.ctx, this.grad, this.layout.count);
    const clear = this.ctx.device.createCommandEncoder();
    clear.clearBuffer(this.grad);
    await submit(this.ctx, clear);
    return { out, grad };
  }

  readParams(): Promise<Float32Array> {
    return readFloat32(this.ctx, this.params, this.layout.count);
  }

  async readAdam(): Promise<{ m: Float32Array; v: Float32Array }> {
    return { m: await readFloat32(this.ctx, this.m, this.layout.count), v: await readFloat32(this.ctx, this.v, this.layout.count) };
  }

  destroy(): void {
    for (const buf of [this.params, this.grad, this.m, this.v, this.dims, this.losses, this.picks, this.gRay, this.gPos, this.gW, this.targets]) buf?.destroy();
    if (this.batch) for (const buf of Object.values(this.batch)) buf.destroy();
  }
}
