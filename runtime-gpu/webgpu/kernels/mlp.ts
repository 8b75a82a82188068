// The field's two MLPs on WebGPU (no biases, ReLU, the layout of
// paramLayout): the WGSL counterpart of field-cpu.ts's MLP part.
//
//   h   = relu(D1 enc)            d = D2 h          sigma = exp(clamp(d0, -15, 15))
//   cin = [d, SH(dir)]            c_k = relu(C_k c_{k-1})      rgb = sigmoid(C_out c_last)
//
// Forward: one thread per sample, activations in registers, weights read
// from the parameter buffer (every thread of a workgroup reads the same
// weight at once). The WGSL is generated per config (widths and offsets are
// constants, so the private arrays have fixed sizes).
//
// Backward, three dispatches:
//   1. per sample: recompute the forward from the stored hash encoding, then
//      the input gradients layer by layer; write dEnc (for the hash
//      backward) and, per layer, the output gradient dY and input X to a
//      scratch buffer;
//   2. weight gradients dW = sum_s dY_s X_s^T over chunks of 256 samples,
//      one thread per (chunk, weight), into a partial-sum buffer;
//   3. one thread per weight sums the chunks in order and adds to grad.
// No atomics: the sums are deterministic; they differ from the CPU's
// blocked order by float rounding only.

import type { FieldConfig, ParamLayout } from '../../nerf/config';
import { shCoefficients } from '../../nerf/config';
import { MAX_LOG_DENSITY } from '../../nerf/field-kernels';
import { countArgs, countMax, Kernel, storageBuffer, THREAD_INDEX, Usage, WORKGROUP, type Binding, type Count } from '../compute';
import type { GpuContext } from '../device';

/** Samples per partial sum of the weight gradients. */
export const WEIGHT_CHUNK = 256;

interface LayerInfo {
  /** Parameter offset of the [rows x cols] matrix. */
  offset: number;
  rows: number;
  cols: number;
  /** WGSL names of the layer's output gradient and input. */
  dY: string;
  X: string;
  /** Offsets of dY and X in a sample's scratch row. */
  aDY: number;
  aX: number;
}

export interface MlpShape {
  E: number;
  HD: number;
  G: number;
  NSH: number;
  CIN: number;
  HC: number;
  hidden: number;
  layers: LayerInfo[];
  /** Floats per sample in the backward scratch. */
  scratch: number;
  /** The weights: parameters [hashCount, count). */
  weightBegin: number;
  weightCount: number;
}

export function mlpShape(config: FieldConfig, layout: ParamLayout): MlpShape {
  const E = layout.encodingWidth, HD = config.mlp.densityHidden, G = 1 + config.mlp.geoFeatures;
  const NSH = shCoefficients(config.mlp.shDegree), CIN = layout.colorInput, HC = config.mlp.colorHidden;
  const hidden = layout.color.length - 1;
  const specs: Omit<LayerInfo, 'aDY' | 'aX'>[] = [
    { ...layout.density1, dY: 'dh', X: 'enc' },
    { ...layout.density2, dY: 'dd', X: 'h' },
    ...layout.color.map((s, k) => ({ ...s, dY: k === hidden ? 'dy' : `dc${k}`, X: k === 0 ? 'cin' : `c${k - 1}` })),
  ];
  let a = 0;
  const layers = specs.map((s) => {
    const l = { ...s, aDY: a, aX: a + s.rows };
    a += s.rows + s.cols;
    return l;
  });
  return { E, HD, G, NSH, CIN, HC, hidden, layers, scratch: a, weightBegin: layout.hashCount, weightCount: layout.count - layout.hashCount };
}

const u = (n: number) => `${n}u`;

// The weights are read from a uniform copy made at the start of every
// forward or backward dispatch from the parameter buffer (measured on
// SwiftShader: 7x faster than reading them from the storage buffer; on GPUs
// uniform reads go through the constant cache). Loops over private arrays,
// not unrolled code: unrolling made SwiftShader's shader compilation take
// a minute.
let weightBase = 0;

/** out[o] = (relu)(sum_k W[o][k] in[k]). */
function matvec(out: string, rows: number, input: string, cols: number, offset: number, relu: boolean): string {
  return `
  for (var o = 0u; o < ${u(rows)}; o++) {
    var a = 0.0;
    for (var k = 0u; k < ${u(cols)}; k++) { a += w(${u(offset - weightBase)} + o * ${u(cols)} + k) * ${input}[k]; }
    ${out}[o] = ${relu ? 'max(a, 0.0)' : 'a'};
  }`;
}

/** out[i] = sum_o W[o][i] dY[o] for i < n, zeroed where the ReLU output mask[i] <= 0. */
function matTvec(out: string, n: number, dY: string, rows: number, cols: number, offset: number, mask?: string): string {
  return `
  for (var i = 0u; i < ${u(n)}; i++) {
    var a = 0.0;
    for (var o = 0u; o < ${u(rows)}; o++) { a += w(${u(offset - weightBase)} + o * ${u(cols)} + i) * ${dY}[o]; }
    ${out}[i] = ${mask ? `select(0.0, a, ${mask}[i] > 0.0)` : 'a'};
  }`;
}

function forwardBody(c: MlpShape, layout: ParamLayout, colour: boolean): string {
  let code = `
  var enc: array<f32, ${c.E}>;
  for (var k = 0u; k < ${u(c.E)}; k++) { enc[k] = encIn[s * ${u(c.E)} + k]; }
  var h: array<f32, ${c.HD}>;${matvec('h', c.HD, 'enc', c.E, layout.density1.offset, true)}
  var d: array<f32, ${c.G}>;${matvec('d', c.G, 'h', c.HD, layout.density2.offset, false)}`;
  if (!colour) return code;
  code += `
  var cin: array<f32, ${c.CIN}>;
  for (var k = 0u; k < ${u(c.G)}; k++) { cin[k] = d[k]; }
  for (var k = 0u; k < ${u(c.NSH)}; k++) { cin[${u(c.G)} + k] = sh[s * ${u(c.NSH)} + k]; }`;
  let input = 'cin', width = c.CIN;
  for (let k = 0; k < c.hidden; k++) {
    code += `
  var c${k}: array<f32, ${c.HC}>;${matvec(`c${k}`, c.HC, input, width, layout.color[k]!.offset, true)}`;
    input = `c${k}`;
    width = c.HC;
  }
  code += `
  var y: array<f32, 3>;${matvec('y', 3, input, width, layout.color[c.hidden]!.offset, false)}`;
  return code;
}

const HEADER = `${THREAD_INDEX}
struct Args { count: u32, chunks: u32, p0: u32, p1: u32 }
fn densityActivation(x: f32) -> f32 { return exp(clamp(x, -${MAX_LOG_DENSITY}.0, ${MAX_LOG_DENSITY}.0)); }
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
`;

/** Query (sigma and rgb) or density only, from the stored hash encoding. */
/**
 * The four per-sample MLP kernels (forward and backward, looped and
 * unrolled) share their prologue: the arguments, the weights as a uniform
 * copy with the w() accessor, the encodings; one thread per sample.
 */
function perSampleKernel(c: MlpShape, bindings: string, body: string): string {
  return `${HEADER}
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<uniform> wu: array<vec4<f32>, ${Math.ceil(c.weightCount / 4)}>;
fn w(i: u32) -> f32 { return wu[i >> 2u][i & 3u]; }
@group(0) @binding(2) var<storage, read> encIn: array<f32>;
${bindings}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = threadIndex(gid, nwg);
  if (s >= args.count) { return; }
  ${body}
}
`;
}

function forwardBindings(colour: boolean): string {
  return colour
    ? `@group(0) @binding(3) var<storage, read> sh: array<f32>;
@group(0) @binding(4) var<storage, read_write> sigma: array<f32>;
@group(0) @binding(5) var<storage, read_write> rgb: array<f32>;`
    : `@group(0) @binding(3) var<storage, read_write> sigma: array<f32>;`;
}

const BACKWARD_BINDINGS = `@group(0) @binding(3) var<storage, read> sh: array<f32>;
@group(0) @binding(4) var<storage, read> dSigma: array<f32>;
@group(0) @binding(5) var<storage, read> dRgb: array<f32>;
@group(0) @binding(6) var<storage, read_write> dEnc: array<f32>;
@group(0) @binding(7) var<storage, read_write> act: array<f32>;`;

export function mlpForwardWgsl(config: FieldConfig, layout: ParamLayout, colour: boolean): string {
  const c = mlpShape(config, layout);
  weightBase = c.weightBegin;
  return perSampleKernel(
    c,
    forwardBindings(colour),
    `${forwardBody(c, layout, colour)}
  sigma[s] = densityActivation(d[0]);
  ${colour ? 'for (var k = 0u; k < 3u; k++) { rgb[3u * s + k] = sigmoid(y[k]); }' : ''}`,
  );
}

/** Per sample: input gradients, dEnc, and each layer's dY and X into the scratch rows. */
export function mlpBackwardWgsl(config: FieldConfig, layout: ParamLayout): string {
  const c = mlpShape(config, layout);
  weightBase = c.weightBegin;
  const store = (l: LayerInfo) => `
  for (var k = 0u; k < ${u(l.rows)}; k++) { act[row + ${u(l.aDY)} + k] = ${l.dY}[k]; }
  for (var k = 0u; k < ${u(l.cols)}; k++) { act[row + ${u(l.aX)} + k] = ${l.X}[k]; }`;
  let code = `
  var dy: array<f32, 3>;
  for (var k = 0u; k < 3u; k++) { let v = sigmoid(y[k]); dy[k] = dRgb[3u * s + k] * v * (1.0 - v); }
  let row = s * ${u(c.scratch)};`;
  const L = c.layers;
  for (let k = c.hidden; k >= 0; k--) {
    const layer = L[2 + k]!;
    code += store(layer);
    if (k > 0) {
      code += `
  var dc${k - 1}: array<f32, ${c.HC}>;${matTvec(`dc${k - 1}`, c.HC, layer.dY, layer.rows, layer.cols, layer.offset, `c${k - 1}`)}`;
    } else {
      // Only the first G inputs of the first colour layer need a gradient (the SH part is constant).
      code += `
  var dd: array<f32, ${c.G}>;${matTvec('dd', c.G, layer.dY, layer.rows, layer.cols, layer.offset)}
  dd[0] += dSigma[s] * densityActivation(d[0]);`;
    }
  }
  code += store(L[1]!);
  code += `
  var dh: array<f32, ${c.HD}>;${matTvec('dh', c.HD, 'dd', c.G, c.HD, layout.density2.offset, 'h')}`;
  code += store(L[0]!);
  code += `
  var de: array<f32, ${c.E}>;${matTvec('de', c.E, 'dh', c.HD, c.E, layout.density1.offset)}
  for (var k = 0u; k < ${u(c.E)}; k++) { dEnc[s * ${u(c.E)} + k] = de[k]; }`;
  return perSampleKernel(c, BACKWARD_BINDINGS, `${forwardBody(c, layout, true)}
  ${code}`);
}

// Unrolled variants (MlpKernels option `unroll`).
const weight = (i: number) => `wu[${u((i - weightBase) >> 2)}][${(i - weightBase) & 3}]`;
const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

// The generated code is straight-line: every activation is a scalar `let`/`var`
// and every weight index a constant. Loops over private arrays compiled to
// memory with a bounds check per access (17x slower on SwiftShader, and
// register-hungry on real GPUs); unrolled scalars stay in registers.

/** out[o] = (relu)(sum_k W[o][k] in[k]), W at `offset`, [out.length x input.length]. */
function matvecUnrolled(out: string[], input: string[], offset: number, relu: boolean): string {
  const cols = input.length;
  return out
    .map((name, o) => {
      const sum = input.map((x, k) => `${weight(offset + o * cols + k)} * ${x}`).join(' + ');
      return `\n  var ${name} = ${relu ? `max(${sum}, 0.0)` : sum};`;
    })
    .join('');
}

/** out[i] = sum_o W[o][i] dY[o] (W [dY.length x cols] at `offset`), zeroed where the ReLU output mask[i] <= 0. */
function matTvecUnrolled(out: string[], dY: string[], cols: number, offset: number, mask?: string[]): string {
  return out
    .map((name, i) => {
      const sum = dY.map((g, o) => `${weight(offset + o * cols + i)} * ${g}`).join(' + ');
      return `\n  var ${name} = ${mask ? `select(0.0, ${sum}, ${mask[i]} > 0.0)` : sum};`;
    })
    .join('');
}

interface Activations {
  enc: string[];
  h: string[];
  d: string[];
  cin: string[];
  c: string[][];
  y: string[];
}

function activations(c: MlpShape): Activations {
  const d = names('d', c.G);
  return {
    enc: names('e', c.E),
    h: names('h', c.HD),
    d,
    cin: [...d, ...names('q', c.NSH)],
    c: Array.from({ length: c.hidden }, (_, k) => names(`c${k}_`, c.HC)),
    y: names('y', 3),
  };
}

function forwardBodyUnrolled(c: MlpShape, layout: ParamLayout, colour: boolean): string {
  const a = activations(c);
  let code = a.enc.map((e, k) => `\n  let ${e} = encIn[s * ${u(c.E)} + ${u(k)}];`).join('');
  code += matvecUnrolled(a.h, a.enc, layout.density1.offset, true);
  code += matvecUnrolled(a.d, a.h, layout.density2.offset, false);
  if (!colour) return code;
  code += a.cin.slice(c.G).map((q, k) => `\n  let ${q} = sh[s * ${u(c.NSH)} + ${u(k)}];`).join('');
  let input = a.cin;
  for (let k = 0; k < c.hidden; k++) {
    code += matvecUnrolled(a.c[k]!, input, layout.color[k]!.offset, true);
    input = a.c[k]!;
  }
  code += matvecUnrolled(a.y, input, layout.color[c.hidden]!.offset, false);
  return code;
}


/** Query (sigma and rgb) or density only, from the stored hash encoding. */
export function mlpForwardWgslUnrolled(config: FieldConfig, layout: ParamLayout, colour: boolean): string {
  const c = mlpShape(config, layout);
  weightBase = c.weightBegin;
  return perSampleKernel(
    c,
    forwardBindings(colour),
    `${forwardBodyUnrolled(c, layout, colour)}
  sigma[s] = densityActivation(d0);
  ${colour ? 'rgb[3u * s] = sigmoid(y0);\n  rgb[3u * s + 1u] = sigmoid(y1);\n  rgb[3u * s + 2u] = sigmoid(y2);' : ''}`,
  );
}

/** Per sample: input gradients, dEnc, and each layer's dY and X into the scratch rows. */
export function mlpBackwardWgslUnrolled(config: FieldConfig, layout: ParamLayout): string {
  const c = mlpShape(config, layout);
  weightBase = c.weightBegin;
  const a = activations(c);
  const gy = names('gy', 3), gd = names('gd', c.G), gh = names('gh', c.HD), ge = names('ge', c.E);
  const gc = Array.from({ length: c.hidden }, (_, k) => names(`gc${k}_`, c.HC));
  const store = (l: LayerInfo, dY: string[], X: string[]) =>
    dY.map((g, k) => `\n  act[row + ${u(l.aDY + k)}] = ${g};`).join('') + X.map((x, k) => `\n  act[row + ${u(l.aX + k)}] = ${x};`).join('');
  let code = gy.map((g, k) => `\n  let v${k} = sigmoid(y${k});\n  let ${g} = dRgb[3u * s + ${u(k)}] * v${k} * (1.0 - v${k});`).join('');
  code += `\n  let row = s * ${u(c.scratch)};`;
  const L = c.layers;
  let dY = gy;
  for (let k = c.hidden; k >= 0; k--) {
    const layer = L[2 + k]!;
    const X = k === 0 ? a.cin : a.c[k - 1]!;
    code += store(layer, dY, X);
    if (k > 0) {
      code += matTvecUnrolled(gc[k - 1]!, dY, layer.cols, layer.offset, a.c[k - 1]!);
      dY = gc[k - 1]!;
    } else {
      // Only the first G inputs of the first colour layer need a gradient (the SH part is constant).
      code += matTvecUnrolled(gd, dY, layer.cols, layer.offset);
      code += `\n  gd0 += dSigma[s] * densityActivation(d0);`;
    }
  }
  code += store(L[1]!, gd, a.h);
  code += matTvecUnrolled(gh, gd, c.HD, layout.density2.offset, a.h);
  code += store(L[0]!, gh, a.enc);
  code += matTvecUnrolled(ge, gh, c.E, layout.density1.offset);
  code += ge.map((g, k) => `\n  dEnc[s * ${u(c.E)} + ${u(k)}] = ${g};`).join('');
  return perSampleKernel(c, BACKWARD_BINDINGS, `${forwardBodyUnrolled(c, layout, true)}
  ${code}`);
}

/** partial[chunk * W + w] = sum over the chunk's samples of dY[o] X[i] for weight w = (layer, o, i). */
export function mlpWeightGradWgsl(config: FieldConfig, layout: ParamLayout): string {
  const c = mlpShape(config, layout);
  let select = '';
  for (const l of c.layers) {
    const begin = l.offset - c.weightBegin;
    select += `
  if (w >= ${u(begin)} && w < ${u(begin + l.rows * l.cols)}) { let r = w - ${u(begin)}; aDY = ${u(l.aDY)} + r / ${u(l.cols)}; aX = ${u(l.aX)} + r % ${u(l.cols)}; }`;
  }
  return `${HEADER}
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = threadIndex(gid, nwg);
  if (t >= args.chunks * ${u(c.weightCount)}) { return; }
  let chunk = t / ${u(c.weightCount)};
  let w = t - chunk * ${u(c.weightCount)};
  var aDY = 0u;
  var aX = 0u;${select}
  let s0 = chunk * ${u(WEIGHT_CHUNK)};
  let s1 = min(s0 + ${u(WEIGHT_CHUNK)}, args.count);
  var a = 0.0;
  for (var s = s0; s < s1; s++) {
    let row = s * ${u(c.scratch)};
    a += act[row + aDY] * act[row + aX];
  }
  partial[t] = a;
}
`;
}

/** grad[weightBegin + w] += sum over chunks of partial[chunk * W + w], in chunk order. */
export function mlpReduceWgsl(config: FieldConfig, layout: ParamLayout): string {
  const c = mlpShape(config, layout);
  return `${HEADER}
@group(0) @binding(0) var<uniform> args: Args;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = threadIndex(gid, nwg);
  if (w >= ${u(c.weightCount)}) { return; }
  var a = 0.0;
  for (var k = 0u; k < args.chunks; k++) { a += partial[k * ${u(c.weightCount)} + w]; }
  grad[${u(c.weightBegin)} + w] += a;
}
`;
}

/** The MLP pipelines for one config, with scratch buffers grown on demand. */
export class MlpKernels {
  readonly shape: MlpShape;
  private act?: GPUBuffer;
  private partial?: GPUBuffer;
  /** The uniform copy of the weights the forward and backward kernels read. */
  private readonly weights: GPUBuffer;

  private constructor(
    private readonly ctx: GpuContext,
    readonly config: FieldConfig,
    readonly layout: ParamLayout,
    private readonly query: Kernel,
    private readonly density: Kernel,
    private readonly back: Kernel,
    private readonly weightGrad: Kernel,
    private readonly reduce: Kernel,
  ) {
    this.shape = mlpShape(config, layout);
    this.weights = ctx.device.createBuffer({ label: 'mlp-weights', size: Math.ceil(this.shape.weightCount / 4) * 16, usage: Usage.UNIFORM | Usage.COPY_DST });
  }

  /** Copies the current weights from the parameter buffer (recorded: the copy sees earlier Adam steps). */
  private syncWeights(encoder: GPUCommandEncoder, params: GPUBuffer): GPUBuffer {
    encoder.copyBufferToBuffer(params, this.shape.weightBegin * 4, this.weights, 0, this.shape.weightCount * 4);
    return this.weights;
  }

  /**
   * `unroll`: straight-line WGSL (scalars in registers, constant weight
   * indices) instead of loops over private arrays. Measured on SwiftShader
   * (2-vCPU machine under load): query 6.5x and backward ~2x faster, but
   * shader compilation about 20x slower (over a minute for the default
   * field's backward); the default unrolls on hardware adapters only.
   */
  static async create(ctx: GpuContext, config: FieldConfig, layout: ParamLayout, options: { unroll?: boolean } = {}): Promise<MlpKernels> {
    const unroll = options.unroll ?? !ctx.adapter.software;
    const forward = unroll ? mlpForwardWgslUnrolled : mlpForwardWgsl, backward = unroll ? mlpBackwardWgslUnrolled : mlpBackwardWgsl;
    const [query, density, back, weightGrad, reduce] = await Promise.all([
      Kernel.create(ctx, 'mlp-query', forward(config, layout, true)),
      Kernel.create(ctx, 'mlp-density', forward(config, layout, false)),
      Kernel.create(ctx, 'mlp-backward', backward(config, layout)),
      Kernel.create(ctx, 'mlp-weight-grad', mlpWeightGradWgsl(config, layout)),
      Kernel.create(ctx, 'mlp-reduce', mlpReduceWgsl(config, layout)),
    ]);
    return new MlpKernels(ctx, config, layout, query, density, back, weightGrad, reduce);
  }

  /** Arguments: the count, and the weight-gradient chunks of its maximum (chunks past the count sum nothing). */
  private args(encoder: GPUCommandEncoder, count: Count): GPUBuffer {
    return countArgs(this.ctx, encoder, count, new Uint32Array([0, Math.ceil(countMax(count) / WEIGHT_CHUNK), 0, 0]), 'mlp-args');
  }

  /** sigma[s], rgb[3 s..] from the hash encoding enc[s * E..] and the SH encoding sh[s * 16..]. */
  recordQuery(encoder: GPUCommandEncoder, params: GPUBuffer, enc: Binding, sh: Binding, sigma: Binding, rgb: Binding, count: Count): void {
    this.query.record(encoder, this.query.bind([this.args(encoder, count), this.syncWeights(encoder, params), enc, sh, sigma, rgb]), countMax(count));
  }

  recordDensity(encoder: GPUCommandEncoder, params: GPUBuffer, enc: Binding, sigma: Binding, count: Count): void {
    this.density.record(encoder, this.density.bind([this.args(encoder, count), this.syncWeights(encoder, params), enc, sigma]), countMax(count));
  }

  /**
   * grad[weights] += d(sum dSigma sigma + dRgb . rgb)/dW, and dEnc = the gradient
   * with respect to the hash encoding (for HashEncodingKernels.backward).
   */
  recordBackward(
    encoder: GPUCommandEncoder, params: GPUBuffer, enc: Binding, sh: Binding,
    dSigma: Binding, dRgb: Binding, dEnc: Binding, grad: Binding, count: Count,
  ): void {
    const max = countMax(count);
    if (max <= 0) return;
    const { scratch, weightCount } = this.shape;
    const chunks = Math.ceil(max / WEIGHT_CHUNK);
    const actBytes = max * scratch * 4, partialBytes = chunks * weightCount * 4;
    if (!this.act || this.act.size < actBytes) {
      this.act?.destroy();
      this.act = storageBuffer(this.ctx, Math.ceil(actBytes * 1.25), 'mlp-scratch');
    }
    if (!this.partial || this.partial.size < partialBytes) {
      this.partial?.destroy();
      this.partial = storageBuffer(this.ctx, Math.ceil(partialBytes * 1.25), 'mlp-partials');
    }
    const args = this.args(encoder, count);
    this.back.record(encoder, this.back.bind([args, this.syncWeights(encoder, params), enc, sh, dSigma, dRgb, dEnc, this.act]), max);
    this.weightGrad.record(encoder, this.weightGrad.bind([args, this.act, this.partial]), chunks * weightCount);
    this.reduce.record(encoder, this.reduce.bind([args, this.partial, grad]), weightCount);
  }

  dispose(): void {
    this.act?.destroy();
    this.partial?.destroy();
    this.weights.destroy();
  }
}
