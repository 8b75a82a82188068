// Buffers, compute pipelines, dispatch and readback on a GpuContext.
// Platform-neutral (no DOM or Node imports; the usage flags are spelled out
// as numbers so nothing depends on the GPUBufferUsage global being installed).

import type { GpuContext } from './device';

export const Usage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
const MAP_MODE_READ = 0x0001;

/** Threads per workgroup of the 1-D kernels (every kernel here uses it). */
export const WORKGROUP = 64;

/** A storage buffer (also copy source and destination), zeroed or holding `data`. */
export function storageBuffer(ctx: GpuContext, sizeOrData: number | ArrayBufferView, label: string): GPUBuffer {
  const bytes = typeof sizeOrData === 'number' ? sizeOrData : sizeOrData.byteLength;
  // Bindings must be non-empty and 4-byte aligned.
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  const buffer = ctx.device.createBuffer({ label, size, usage: Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST });
  if (typeof sizeOrData !== 'number') writeBuffer(ctx, buffer, sizeOrData);
  return buffer;
}

const transients = new WeakMap<GpuContext, GPUBuffer[]>();

/**
 * A uniform buffer holding `data`. It is transient: the next submit() destroys
 * it once the work is queued (the per-dispatch arguments of the kernels).
 */
export function uniformBuffer(ctx: GpuContext, data: ArrayBufferView, label: string): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = ctx.device.createBuffer({ label, size, usage: Usage.UNIFORM | Usage.COPY_DST });
  writeBuffer(ctx, buffer, data);
  let list = transients.get(ctx);
  if (!list) transients.set(ctx, (list = []));
  list.push(buffer);
  return buffer;
}

/** A count known only on the device: the u32 at `offset` bytes of `buffer`, at most `max`. */
export interface DeviceCount {
  buffer: GPUBuffer;
  offset?: number;
  max: number;
}
export type Count = number | DeviceCount;

export const countMax = (c: Count): number => (typeof c === 'number' ? c : c.max);

/**
 * The uniform arguments of a dispatch whose first u32 is a count: `words`
 * with words[0] = the count when it is known here, else the count copied
 * from the device at this point of the encoder (dispatches then cover `max`
 * threads and the kernels stop at the count).
 */
export function countArgs(ctx: GpuContext, encoder: GPUCommandEncoder, count: Count, words: Uint32Array, label: string): GPUBuffer {
  words[0] = countMax(count);
  const buffer = uniformBuffer(ctx, words, label);
  if (typeof count !== 'number') encoder.copyBufferToBuffer(count.buffer, count.offset ?? 0, buffer, 0, 4);
  return buffer;
}

export function writeBuffer(ctx: GpuContext, buffer: GPUBuffer, data: ArrayBufferView, offsetBytes = 0): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    ctx.device.queue.writeBuffer(buffer, offsetBytes, bytes);
  } else {
    const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    padded.set(bytes);
    ctx.device.queue.writeBuffer(buffer, offsetBytes, padded);
  }
}

/** Copies `bytes` from `buffer` (at `offset`) to a staging buffer and maps it: the only way data comes back. */
export async function readBuffer(ctx: GpuContext, buffer: GPUBuffer, bytes = buffer.size, offset = 0): Promise<ArrayBuffer> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = ctx.device.createBuffer({ label: `${buffer.label}:readback`, size, usage: Usage.MAP_READ | Usage.COPY_DST });
  const encoder = ctx.device.createCommandEncoder({ label: 'readback' });
  encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
  ctx.device.queue.submit([encoder.finish()]);
  await Promise.race([staging.mapAsync(MAP_MODE_READ), ctx.lost]);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function readFloat32(ctx: GpuContext, buffer: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(ctx, buffer, count * 4, offset * 4));
}

export async function readUint32(ctx: GpuContext, buffer: GPUBuffer, count: number, offset = 0): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(ctx, buffer, count * 4, offset * 4));
}

/** Workgroup counts for `threads` threads of a 1-D kernel, folded into y past the 65535 limit. */
export function grid1D(threads: number, workgroup = WORKGROUP): [number, number] {
  const groups = Math.max(1, Math.ceil(threads / workgroup));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

/** The WGSL for a 1-D thread index from a grid1D dispatch. */
export const THREAD_INDEX = /* wgsl */ `
fn threadIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * ${WORKGROUP}u;
}`;

export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

/** One compute pipeline (entry point `main`, bindings 0..n-1 in group 0, layout inferred). */
export class Kernel {
  private constructor(
    readonly label: string,
    readonly pipeline: GPUComputePipeline,
    private readonly ctx: GpuContext,
  ) {}

  /** Compiles `code`; a WGSL error is thrown with its line and the offending source line. */
  static async create(ctx: GpuContext, label: string, code: string): Promise<Kernel> {
    // In an error scope: a WGSL error is reported here, not as an uncaptured error that would poison ctx.lost.
    ctx.device.pushErrorScope('validation');
    const module = ctx.device.createShaderModule({ label, code });
    const info = await module.getCompilationInfo();
    const moduleError = await ctx.device.popErrorScope();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      const lines = code.split('\n');
      const text = errors.map((m) => `${label}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}\n  ${lines[m.lineNum - 1]?.trim() ?? ''}`).join('\n');
      throw new Error(`WGSL compilation failed:\n${text}`);
    }
    if (moduleError) throw new Error(`WGSL module ${label}: ${moduleError.message}`);
    ctx.device.pushErrorScope('validation');
    const pipeline = await ctx.device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
    const error = await ctx.device.popErrorScope();
    if (error) throw new Error(`compute pipeline ${label}: ${error.message}`);
    return new Kernel(label, pipeline, ctx);
  }

  bind(bindings: readonly Binding[]): GPUBindGroup {
    return this.ctx.device.createBindGroup({
      label: this.label,
      layout: this.pipeline.getBindGroupLayout(0),
      entries: bindings.map((b, i) => ({ binding: i, resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } })),
    });
  }

  /** Records one dispatch of `threads` threads (grid1D) in its own compute pass. */
  record(encoder: GPUCommandEncoder, group: GPUBindGroup, threads: number): void {
    if (threads <= 0) return;
    const pass = encoder.beginComputePass({ label: this.label });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, group);
    const [x, y] = grid1D(threads);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }
}

/** Submits the encoder's work and waits for the queue (rejects on a device error). */
export async function submit(ctx: GpuContext, encoder: GPUCommandEncoder): Promise<void> {
  submitNoWait(ctx, encoder);
  await Promise.race([ctx.device.queue.onSubmittedWorkDone(), ctx.lost]);
}

/** Queues the encoder's work; the transient argument buffers recorded so far are released. */
export function submitNoWait(ctx: GpuContext, encoder: GPUCommandEncoder): void {
  ctx.device.queue.submit([encoder.finish()]);
  const list = transients.get(ctx);
  if (list) {
    for (const b of list) b.destroy();
    list.length = 0;
  }
}

/** Runs `fn` inside validation and out-of-memory error scopes; throws the first error with `what`. */
export async function checked<T>(ctx: GpuContext, what: string, fn: () => T | Promise<T>): Promise<T> {
  ctx.device.pushErrorScope('out-of-memory');
  ctx.device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const validation = await ctx.device.popErrorScope();
    const oom = await ctx.device.popErrorScope();
    if (validation) throw new Error(`${what}: WebGPU validation error: ${validation.message}`);
    if (oom) throw new Error(`${what}: out of GPU memory: ${oom.message}`);
  }
  return result;
}
