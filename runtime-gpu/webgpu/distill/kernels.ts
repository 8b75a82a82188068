// WGSL of the feature head (runtime-gpu/distill/head.ts) on WebGPU, generated
// per config: widths (E, H, C, K, P) and parameter offsets are constants.
//
// Buffers of a batch (B cells, R = B P^2 rays, S surface samples):
//   bPos [3 S] (the hash kernels' layout), bSW [2 S] (weight bits, ray),
//   bRay [4 R] (first sample, end, acc bits, 0), enc [S E], g [S H],
//   X [R H], Y [R C], T [B 9 C], m [B H], out / dOut / sq [B K],
//   dm [B H], dT [B 9 C], dY [R C], dX [R H], dg [S H], dEnc [S E].
//
// One thread per output element everywhere (no atomics, every sum in a fixed
// order). Weight gradients: partial sums over chunks of 256 rows (samples,
// rays or cells), one thread per (chunk, weight), then one thread per weight
// adds the chunks in order to the gradient, as kernels/mlp.ts does. Only the
// hash-table gradient is scattered (kernels/hash-encoding.ts's CAS loop).

import type { FeatureFieldConfig } from '../../../engine/values';
import type { FeatureLayout } from '../../distill/layout';
import { THREAD_INDEX, WORKGROUP } from '../compute';

/** Rows (samples, rays or cells) per partial sum of a weight gradient. */
export const ROW_CHUNK = 256;
/** Slots of the on-device loss ring (one per step). */
export const LOSS_SLOTS = 256;

const u = (n: number) => `${n}u`;

/** The per-step uniform: counts of the batch, chunks of the weight-gradient sums, the loss slot, 2 / (B K). */
export const DIMS_WORDS = 8;
const DIMS = `struct Dims { S: u32, R: u32, B: u32, chunksS: u32, chunksR: u32, chunksB: u32, slot: u32, scale: f32 }
@group(0) @binding(0) var<uniform> dims: Dims;`;

export interface HeadShape {
  E: number;
  H: number;
  C: number;
  K: number;
  P: number;
  P2: number;
  layout: FeatureLayout;
}

export function headShape(config: FeatureFieldConfig, layout: FeatureLayout): HeadShape {
  return { E: layout.encodingWidth, H: config.hidden, C: config.aggChannels, K: config.channels, P: config.patch, P2: config.patch * config.patch, layout };
}

/** Binding declarations from binding 1 on: [name, 'r' | 'rw', element type]. */
function decls(list: Array<[string, 'r' | 'rw', string]>): string {
  return list.map(([name, mode, type], i) => `@group(0) @binding(${i + 1}) var<storage, ${mode === 'r' ? 'read' : 'read_write'}> ${name}: array<${type}>;`).join('\n');
}

function kernel(h: HeadShape, bindings: Array<[string, 'r' | 'rw', string]>, body: string): string {
  return `${THREAD_INDEX}
${DIMS}
${decls(bindings)}
const P = ${h.P};
const P2 = ${u(h.P2)};
const INV: f32 = ${1 / h.P2};
// Patch position reached from p by tap k (dy = k / 3 - 1, dx = k % 3 - 1), or -1 outside the patch.
fn nb(p: u32, k: u32) -> i32 {
  let x = i32(p % ${u(h.P)}) + i32(k % 3u) - 1;
  let y = i32(p / ${u(h.P)}) + i32(k / 3u) - 1;
  if (x < 0 || y < 0 || x >= P || y >= P) { return -1; }
  return y * P + x;
}
// The patch position whose tap k reads q, or -1.
fn nbInv(q: u32, k: u32) -> i32 {
  let x = i32(q % ${u(h.P)}) - (i32(k % 3u) - 1);
  let y = i32(q / ${u(h.P)}) - (i32(k / 3u) - 1);
  if (x < 0 || y < 0 || x >= P || y >= P) { return -1; }
  return y * P + x;
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = threadIndex(gid, nwg);
  ${body}
}
`;
}

/** Per batch ray: its samples copied from the uploaded views (picks: global first ray, target row, first batch sample, 0). */
export function gatherWgsl(h: HeadShape): string {
  return kernel(h, [['picks', 'r', 'vec4<u32>'], ['gRay', 'r', 'vec2<u32>'], ['gPos', 'r', 'f32'], ['gW', 'r', 'f32'], ['bPos', 'rw', 'f32'], ['bSW', 'rw', 'u32'], ['bRay', 'rw', 'vec4<u32>']], `
  if (t >= dims.R) { return; }
  let c = t / P2;
  let pk = picks[c];
  let gr = pk.x + (t - c * P2);
  let a = gRay[gr].x;
  let b = gRay[gr + 1u].x;
  let start = pk.z + (a - gRay[pk.x].x);
  bRay[t] = vec4<u32>(start, start + (b - a), gRay[gr].y, 0u);
  for (var q = a; q < b; q++) {
    let d = start + (q - a);
    bPos[3u * d] = gPos[3u * q];
    bPos[3u * d + 1u] = gPos[3u * q + 1u];
    bPos[3u * d + 2u] = gPos[3u * q + 2u];
    bSW[2u * d] = bitcast<u32>(gW[q]);
    bSW[2u * d + 1u] = t;
  }`);
}

/** g[s, h] = relu(w1[h] . enc[s] + b1[h]). */
export function hiddenWgsl(h: HeadShape): string {
  const L = h.layout;
  return kernel(h, [['params', 'r', 'f32'], ['enc', 'r', 'f32'], ['g', 'rw', 'f32']], `
  if (t >= dims.S * ${u(h.H)}) { return; }
  let s = t / ${u(h.H)};
  let j = t - s * ${u(h.H)};
  var a = 0.0;
  for (var e = 0u; e < ${u(h.E)}; e++) { a += params[${u(L.w1)} + j * ${u(h.E)} + e] * enc[s * ${u(h.E)} + e]; }
  g[t] = max(a + params[${u(L.b1)} + j], 0.0);`);
}

/** X[r, h] = (1 - acc_r) bg[h] + sum over the ray's samples of (wh_s acc_r) g[s, h]. */
export function blendWgsl(h: HeadShape): string {
  return kernel(h, [['params', 'r', 'f32'], ['bRay', 'r', 'vec4<u32>'], ['bSW', 'r', 'u32'], ['g', 'r', 'f32'], ['X', 'rw', 'f32']], `
  if (t >= dims.R * ${u(h.H)}) { return; }
  let r = t / ${u(h.H)};
  let j = t - r * ${u(h.H)};
  let ray = bRay[r];
  let acc = bitcast<f32>(ray.z);
  var x = (1.0 - acc) * params[${u(h.layout.bg)} + j];
  for (var q = ray.x; q < ray.y; q++) { x += (bitcast<f32>(bSW[2u * q]) * acc) * g[q * ${u(h.H)} + j]; }
  X[t] = x;`);
}

/** Y[r, ch] = relu(conv1[ch] . im2col(X)[r] + c1b[ch]) (zero padding at the patch border). */
export function conv1Wgsl(h: HeadShape): string {
  const L = h.layout, H = h.H;
  return kernel(h, [['params', 'r', 'f32'], ['X', 'r', 'f32'], ['Y', 'rw', 'f32']], `
  if (t >= dims.R * ${u(h.C)}) { return; }
  let r = t / ${u(h.C)};
  let ch = t - r * ${u(h.C)};
  let c = r / P2;
  let p = r - c * P2;
  var a = 0.0;
  for (var k = 0u; k < 9u; k++) {
    let q = nb(p, k);
    if (q < 0) { continue; }
    let xo = (c * P2 + u32(q)) * ${u(H)};
    let wo = ${u(L.conv1)} + ch * ${u(9 * H)} + k * ${u(H)};
    for (var j = 0u; j < ${u(H)}; j++) { a += params[wo + j] * X[xo + j]; }
  }
  Y[t] = max(a + params[${u(L.c1b)} + ch], 0.0);`);
}

/** T[c, k, ch] = (1 / P^2) sum over patch positions p with a neighbour q = p + k of Y[q, ch]. */
export function tapMeanWgsl(h: HeadShape): string {
  const C = h.C;
  return kernel(h, [['Y', 'r', 'f32'], ['T', 'rw', 'f32']], `
  if (t >= dims.B * ${u(9 * C)}) { return; }
  let c = t / ${u(9 * C)};
  let kc = t - c * ${u(9 * C)};
  let k = kc / ${u(C)};
  let ch = kc - k * ${u(C)};
  var a = 0.0;
  for (var p = 0u; p < P2; p++) {
    let q = nb(p, k);
    if (q < 0) { continue; }
    a += INV * Y[(c * P2 + u32(q)) * ${u(C)} + ch];
  }
  T[t] = a;`);
}

/** m[c, h] = mean_p X[p, h] (+ conv2[h] . T[c] + c2b[h] with aggregation). */
export function cellWgsl(h: HeadShape): string {
  const L = h.layout, H = h.H, C = h.C;
  const agg = C > 0;
  return kernel(h, [...(agg ? [['params', 'r', 'f32'] as [string, 'r', string]] : []), ['X', 'r', 'f32'], ...(agg ? [['T', 'r', 'f32'] as [string, 'r', string]] : []), ['m', 'rw', 'f32']], `
  if (t >= dims.B * ${u(H)}) { return; }
  let c = t / ${u(H)};
  let j = t - c * ${u(H)};
  var a = 0.0;
  for (var p = 0u; p < P2; p++) { a += INV * X[(c * P2 + p) * ${u(H)} + j]; }
  ${agg ? `var b = 0.0;
  for (var i = 0u; i < ${u(9 * C)}; i++) { b += params[${u(L.conv2)} + j * ${u(9 * C)} + i] * T[c * ${u(9 * C)} + i]; }
  a = a + b + params[${u(L.c2b)} + j];` : ''}
  m[t] = a;`);
}

/** out[c, k] = wOut[k] . m[c] + bOut[k]. */
export function projectWgsl(h: HeadShape): string {
  const L = h.layout, H = h.H;
  return kernel(h, [['params', 'r', 'f32'], ['m', 'r', 'f32'], ['out', 'rw', 'f32']], `
  if (t >= dims.B * ${u(h.K)}) { return; }
  let c = t / ${u(h.K)};
  let k = t - c * ${u(h.K)};
  var a = 0.0;
  for (var j = 0u; j < ${u(H)}; j++) { a += params[${u(L.wOut)} + k * ${u(H)} + j] * m[c * ${u(H)} + j]; }
  out[t] = a + params[${u(L.bOut)} + k];`);
}

/** e = out - target (the pick's row of the uploaded targets); dOut = 2 e / (B K); sq = e^2. */
export function lossWgsl(h: HeadShape): string {
  return kernel(h, [['picks', 'r', 'vec4<u32>'], ['targets', 'r', 'f32'], ['out', 'r', 'f32'], ['dOut', 'rw', 'f32'], ['sq', 'rw', 'f32']], `
  if (t >= dims.B * ${u(h.K)}) { return; }
  let c = t / ${u(h.K)};
  let k = t - c * ${u(h.K)};
  let e = out[t] - targets[picks[c].y * ${u(h.K)} + k];
  dOut[t] = dims.scale * e;
  sq[t] = e * e;`);
}

/** losses[slot] = mean of sq over the batch: one workgroup, strided sums then a fixed-order tree (deterministic). */
export function lossReduceWgsl(h: HeadShape): string {
  return `${DIMS}
@group(0) @binding(1) var<storage, read> sq: array<f32>;
@group(0) @binding(2) var<storage, read_write> losses: array<f32>;
var<workgroup> part: array<f32, ${WORKGROUP}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) i: u32) {
  let n = dims.B * ${u(h.K)};
  var a = 0.0;
  for (var j = i; j < n; j += ${u(WORKGROUP)}) { a += sq[j]; }
  part[i] = a;
  workgroupBarrier();
  for (var w = ${u(WORKGROUP / 2)}; w > 0u; w = w >> 1u) {
    if (i < w) { part[i] = part[i] + part[i + w]; }
    workgroupBarrier();
  }
  if (i == 0u) { losses[dims.slot] = part[0] / f32(max(n, 1u)); }
}
`;
}

/** dm[c, h] = sum_k wOut[k, h] dOut[c, k]. */
export function dmWgsl(h: HeadShape): string {
  const L = h.layout, H = h.H, K = h.K;
  return kernel(h, [['params', 'r', 'f32'], ['dOut', 'r', 'f32'], ['dm', 'rw', 'f32']], `
  if (t >= dims.B * ${u(H)}) { return; }
  let c = t / ${u(H)};
  let j = t - c * ${u(H)};
  var a = 0.0;
  for (var k = 0u; k < ${u(K)}; k++) { a += params[${u(L.wOut)} + k * ${u(H)} + j] * dOut[c * ${u(K)} + k]; }
  dm[t] = a;`);
}

/** dT[c, i] = sum_h conv2[h, i] dm[c, h]. */
export function dTWgsl(h: HeadShape): string {
  const L = h.layout, H = h.H, C = h.C;
  return kernel(h, [['params', 'r', 'f32'], ['dm', 'r', 'f32'], ['dT', 'rw', 'f32']], `
  if (t >= dims.B * ${u(9 * C)}) { return; }
  let c = t / ${u(9 * C)};
  let i = t - c * ${u(9 * C)};
  var a = 0.0;
  for (var j = 0u; j < ${u(H)}; j++) { a += params[${u(L.conv2)} + j * ${u(9 * C)} + i] * dm[c * ${u(H)} + j]; }
  dT[t] = a;`);
}

/** dY[q, ch] = (1 / P^2) sum over taps k whose position p reads q of dT[c, k, ch]; 0 where the ReLU was off. */
export function dYWgsl(h: HeadShape): string {
  const C = h.C;
  return kernel(h, [['Y', 'r', 'f32'], ['dT', 'r', 'f32'], ['dY', 'rw', 'f32']], `
  if (t >= dims.R * ${u(C)}) { return; }
  let r = t / ${u(C)};
  let ch = t - r * ${u(C)};
  let c = r / P2;
  let q = r - c * P2;
  var a = 0.0;
  for (var k = 0u; k < 9u; k++) {
    if (nbInv(q, k) < 0) { continue; }
    a += INV * dT[(c * 9u + k) * ${u(C)} + ch];
  }
  dY[t] = select(0.0, a, Y[t] > 0.0);`);
}

/** dX[q, h] = dm[c, h] / P^2 (+ col2im of conv1^T dY with aggregation). */
export function dXWgsl(h: HeadShape): string {
  const L = h.layout, H = h.H, C = h.C;
  const agg = C > 0;
  return kernel(h, [...(agg ? [['params', 'r', 'f32'] as [string, 'r', string]] : []), ['dm', 'r', 'f32'], ...(agg ? [['dY', 'r', 'f32'] as [string, 'r', string]] : []), ['dX', 'rw', 'f32']], `
  if (t >= dims.R * ${u(H)}) { return; }
  let r = t / ${u(H)};
  let j = t - r * ${u(H)};
  let c = r / P2;
  let q = r - c * P2;
  var a = INV * dm[c * ${u(H)} + j];
  ${agg ? `for (var k = 0u; k < 9u; k++) {
    let p = nbInv(q, k);
    if (p < 0) { continue; }
    let yo = (c * P2 + u32(p)) * ${u(C)};
    for (var ch = 0u; ch < ${u(C)}; ch++) { a += params[${u(L.conv1)} + ch * ${u(9 * H)} + k * ${u(H)} + j] * dY[yo + ch]; }
  }` : ''}
  dX[t] = a;`);
}

/** dg[s, h] = (wh_s acc_r) dX[r, h] where g > 0. */
export function dgWgsl(h: HeadShape): string {
  const H = h.H;
  return kernel(h, [['bRay', 'r', 'vec4<u32>'], ['bSW', 'r', 'u32'], ['g', 'r', 'f32'], ['dX', 'r', 'f32'], ['dg', 'rw', 'f32']], `
  if (t >= dims.S * ${u(H)}) { return; }
  let s = t / ${u(H)};
  let j = t - s * ${u(H)};
  let r = bSW[2u * s + 1u];
  let w = bitcast<f32>(bSW[2u * s]) * bitcast<f32>(bRay[r].z);
  dg[t] = select(0.0, w * dX[r * ${u(H)} + j], g[t] > 0.0);`);
}

/** dEnc[s, e] = sum_h w1[h, e] dg[s, h]. */
export function dEncWgsl(h: HeadShape): string {
  const L = h.layout, H = h.H, E = h.E;
  return kernel(h, [['params', 'r', 'f32'], ['dg', 'r', 'f32'], ['dEnc', 'rw', 'f32']], `
  if (t >= dims.S * ${u(E)}) { return; }
  let s = t / ${u(E)};
  let e = t - s * ${u(E)};
  var a = 0.0;
  for (var j = 0u; j < ${u(H)}; j++) { a += params[${u(L.w1)} + j * ${u(E)} + e] * dg[s * ${u(H)} + j]; }
  dEnc[t] = a;`);
}

/**
 * One weight-gradient group: grad[offset + o cols + i] += sum_n dy(n, o) x(n, i)
 * for the rows x cols weights, then grad[offset + rows cols + o] += sum_n dy(n, o)
 * (the bias right after them in the layout; cols = 0: the bias alone).
 */
export interface GradGroup {
  name: string;
  /** The Dims field counting the rows n, and the one counting their chunks. */
  n: 'S' | 'R' | 'B';
  rows: number;
  cols: number;
  offset: number;
  /** Source bindings (read-only f32, or vec4<u32> for bRay). */
  sources: Array<[string, string]>;
  /** WGSL expressions in n, o (and n, i); may call helpers from `helpers`. */
  dy: string;
  x: string;
  helpers?: string;
}

export function gradGroups(h: HeadShape): GradGroup[] {
  const L = h.layout, H = h.H, C = h.C, E = h.E, K = h.K;
  const groups: GradGroup[] = [
    { name: 'wOut', n: 'B', rows: K, cols: H, offset: L.wOut, sources: [['dOut', 'f32'], ['m', 'f32']], dy: `dOut[n * ${u(K)} + o]`, x: `m[n * ${u(H)} + i]` },
  ];
  if (C > 0) {
    groups.push(
      { name: 'conv2', n: 'B', rows: H, cols: 9 * C, offset: L.conv2, sources: [['dm', 'f32'], ['T', 'f32']], dy: `dm[n * ${u(H)} + o]`, x: `T[n * ${u(9 * C)} + i]` },
      {
        name: 'conv1', n: 'R', rows: C, cols: 9 * H, offset: L.conv1, sources: [['dY', 'f32'], ['X', 'f32']], dy: `dY[n * ${u(C)} + o]`, x: 'xcol(n, i)',
        helpers: `fn xcol(n: u32, i: u32) -> f32 {
  let k = i / ${u(H)};
  let c = n / P2;
  let q = nb(n - c * P2, k);
  if (q < 0) { return 0.0; }
  return X[(c * P2 + u32(q)) * ${u(H)} + i - k * ${u(H)}];
}`,
      },
    );
  }
  groups.push(
    { name: 'w1', n: 'S', rows: H, cols: E, offset: L.w1, sources: [['dg', 'f32'], ['enc', 'f32']], dy: `dg[n * ${u(H)} + o]`, x: `enc[n * ${u(E)} + i]` },
    { name: 'bg', n: 'R', rows: H, cols: 0, offset: L.bg, sources: [['dX', 'f32'], ['bRay', 'vec4<u32>']], dy: `(1.0 - bitcast<f32>(bRay[n].z)) * dX[n * ${u(H)} + o]`, x: '0.0' },
  );
  return groups;
}

export const groupWidth = (g: GradGroup): number => g.rows * g.cols + g.rows;

/** partial[chunk * W + w] = the chunk's sum for weight (or bias) w. */
export function partialWgsl(h: HeadShape, g: GradGroup): string {
  const W = groupWidth(g), RC = g.rows * g.cols;
  const body = `
  let W = ${u(W)};
  if (t >= dims.chunks${g.n} * W) { return; }
  let chunk = t / W;
  let w = t - chunk * W;
  let n0 = chunk * ${u(ROW_CHUNK)};
  let n1 = min(n0 + ${u(ROW_CHUNK)}, dims.${g.n});
  var a = 0.0;
  ${RC > 0 ? `if (w < ${u(RC)}) {
    let o = w / ${u(g.cols)};
    let i = w - o * ${u(g.cols)};
    for (var n = n0; n < n1; n++) { a += ${g.dy} * ${g.x}; }
  } else {` : '{'}
    let o = w - ${u(RC)};
    for (var n = n0; n < n1; n++) { a += ${g.dy}; }
  }
  partial[t] = a;`;
  const code = kernel(h, [...g.sources.map(([name, type]) => [name, 'r', type] as [string, 'r', string]), ['partial', 'rw', 'f32']], body);
  return g.helpers ? code.replace('@compute', `${g.helpers}\n\n@compute`) : code;
}

/** grad[offset + w] += the chunks' sums in chunk order. */
export function reduceWgsl(h: HeadShape, g: GradGroup): string {
  const W = groupWidth(g);
  return kernel(h, [['partial', 'r', 'f32'], ['grad', 'rw', 'f32']], `
  if (t >= ${u(W)}) { return; }
  var a = 0.0;
  for (var k = 0u; k < dims.chunks${g.n}; k++) { a += partial[k * ${u(W)} + t]; }
  grad[${u(g.offset)} + t] += a;`);
}
