// A radiance field trained and rendered on WebGPU, with the surface of
// runtime-gpu/nerf/nerf.ts's Nerf (trainStep, updateOccupancy,
// renderCamera, toValue) and the same parameter layout, initialisation,
// RNG stream and learning-rate handling, so a GPU and a CPU run from one
// seed draw the same rays and start from the same parameters.
//
// On the device for the whole run: parameters, gradients, Adam moments, the
// occupancy bytes and the running maximum of observed densities, the
// training views (RGBA8 and their cameras, uploaded once by
// setTrainingSet), and every per-sample buffer. One training step is one
// command buffer: rays formed from the step's plan, march (count, scan,
// write: compacted samples), hash encoding, MLPs, occupancy observation,
// compositing, loss, the backward passes, then Adam; the only readback is
// 32 bytes of loss statistics.
//
// On the host: drawing the step's ray plan with the seeded RNG (view,
// pixel, jitter, background: 24 bytes per ray), in Nerf.trainStep's order,
// so a GPU and a CPU run from one seed draw the same rays (views too large
// for one storage binding: the rays themselves are formed on the host by
// pixelRay and uploaded); and the occupancy grid's bookkeeping every 16 steps (the CPU
// OccupancyGrid: candidate points, decay, threshold), with the densities
// evaluated on the device and the occupied bytes uploaded back. Box mode
// (object captures) and contract mode (forward-facing and unbounded
// captures: the mip-NeRF 360 contraction and the growing step of the CPU).

import type { Camera, RadianceFieldValue } from '../../engine/values';
import { ADAM_DEFAULTS } from '../nerf/adam';
import { carveFromAlpha } from '../nerf/carve';
import { resumeState, type Checkpoint } from '../nerf/checkpoint';
import { paramLayout, shCoefficients, type FieldConfig, type ParamLayout } from '../nerf/config';
import type { TrainingSet } from '../nerf/dataset';
import { marchStep } from '../nerf/marcher';
import { initParams, type NerfOptions, type RenderOutput, type StepStats } from '../nerf/nerf';
import { OccupancyGrid } from '../nerf/occupancy';
import { pixelRay } from '../nerf/rays';
import { Rng } from '../nerf/rng';
import { shEncode } from '../nerf/sh';
import { readBuffer, readFloat32, storageBuffer, submit, submitNoWait, Usage, writeBuffer } from './compute';
import type { GpuContext } from './device';
import { AdamKernel } from './kernels/adam';
import { HashEncodingKernels } from './kernels/hash-encoding';
import { LOSS_STATS, MarchKernels, RAY_IN, TOTALS, type MarchSettings } from './kernels/march';
import { MlpKernels } from './kernels/mlp';
import { packViews, PLAN, RayGenKernel } from './kernels/rays';
import { RAY_OUT, SAMPLE_OUT, VolumeKernels } from './kernels/volume';

/** Rays per render dispatch (software adapters / GPUs), and the samples its buffers hold per ray on average (rays past that re-run). */
const RENDER_RAYS_SOFTWARE = 2048;
const RENDER_RAYS_GPU = 16384;
const RENDER_SAMPLES_PER_RAY = 64;
/** Points per occupancy-density dispatch. */
const DENSITY_CHUNK = 1 << 17;

/** What a GpuNerf starts from instead of the seed's initialisation (a field value, or a checkpoint with its training state). */
export interface FieldState {
  params: Float32Array;
  occupancy?: { density: Float32Array; occupied: Uint8Array };
  adam?: { m: Float32Array; v: Float32Array; step: number };
  rngState?: number[];
}

/** Contract mode: march steps from near to far (RayBatch.emitWave's step, clamp(t * cone, dt, 10^4 dt)). */
export function contractSteps(config: FieldConfig, dt: number): number {
  const { near, far, coneAngle } = config.render;
  const maxStep = dt * 1e4;
  let t = near, n = 0;
  while (t < far) {
    const step = Math.min(maxStep, Math.max(dt, t * coneAngle));
    t += step;
    if (++n > 1 << 20) throw new Error(`contract mode: more than ${1 << 20} march steps from near ${near} to far ${far}: lower far or raise marchSteps`);
  }
  return n;
}

type Kernels = { hash: HashEncodingKernels; mlp: MlpKernels; volume: VolumeKernels; march: MarchKernels; adam: AdamKernel; rayGen: RayGenKernel };

export interface GpuNerfOptions extends NerfOptions {
  /** Unrolled MLP kernels (default: on hardware adapters; see MlpKernels.create). */
  unroll?: boolean;
  /** Rays per render dispatch (default 16384 on GPUs, 2048 on software adapters; buffers hold 64 samples per ray). */
  renderRays?: number;
  /**
   * Form the training rays on the device from the uploaded views (default
   * true; views too large for one storage binding use the host path:
   * rays formed by pixelRay and uploaded every step).
   */
  deviceRays?: boolean;
}

// Compiled pipelines per context and field shape: compilation is slow (seconds on SwiftShader), fields are many.
const kernelCache = new WeakMap<GpuContext, Map<string, Promise<Kernels>>>();

function compiledKernels(ctx: GpuContext, config: FieldConfig, unroll?: boolean): Promise<Kernels> {
  let cache = kernelCache.get(ctx);
  if (!cache) kernelCache.set(ctx, (cache = new Map()));
  const key = JSON.stringify([config.hash, config.mlp, unroll ?? null]);
  let kernels = cache.get(key);
  if (!kernels) {
    const layout = paramLayout(config);
    kernels = (async () => {
      const [hash, mlp, volume, march, adam, rayGen] = await Promise.all([
        HashEncodingKernels.create(ctx, layout),
        MlpKernels.create(ctx, config, layout, { unroll }),
        VolumeKernels.create(ctx),
        MarchKernels.create(ctx),
        AdamKernel.create(ctx, ADAM_DEFAULTS),
        RayGenKernel.create(ctx),
      ]);
      return { hash, mlp, volume, march, adam, rayGen };
    })();
    kernels.catch(() => cache.delete(key));
    cache.set(key, kernels);
  }
  return kernels;
}

interface SampleBuffers {
  capacity: number;
  positions: GPUBuffer;
  stepT: GPUBuffer;
  sh: GPUBuffer;
  enc: GPUBuffer;
  sigma: GPUBuffer;
  rgb: GPUBuffer;
  sampleOut: GPUBuffer;
  dSigma: GPUBuffer;
  dRgb: GPUBuffer;
  dEnc: GPUBuffer;
}

interface RayBuffers {
  capacity: number;
  rays: GPUBuffer;
  raySh: GPUBuffer;
  background: GPUBuffer;
  target: GPUBuffer;
  counts: GPUBuffer;
  rayRange: GPUBuffer;
  dropped: GPUBuffer;
  rayOut: GPUBuffer;
  dColor: GPUBuffer;
}

/** Host-side ray arrays for one batch. */
interface HostRays {
  rays: Float32Array;
  sh: Float32Array;
  background: Float32Array;
  target: Float32Array;
  zFactor: Float32Array;
}

export class GpuNerf {
  readonly layout: ParamLayout;
  readonly rng: Rng;
  /** The occupancy grid's host copy (densities, occupied bytes, hull), updated by updateOccupancy. */
  readonly grid: OccupancyGrid;
  readonly stepSize: number;
  readonly raysPerBatch: number;
  readonly sampleBudget: number;
  adamStep = 0;
  private samplesPerRay = 64;
  private set?: TrainingSet;
  private readonly nSh: number;
  private readonly march: MarchSettings;
  /** Rendered images march with render.renderMarchSteps (as Nerf.renderCamera); training with marchSteps. */
  private readonly renderMarch: MarchSettings;
  readonly renderStepSize: number;
  private readonly ray = new Float64Array(6);
  private readonly host: HostRays;
  private readonly params: GPUBuffer;
  private readonly grad: GPUBuffer;
  private readonly adamM: GPUBuffer;
  private readonly adamV: GPUBuffer;
  private readonly occupied: GPUBuffer;
  private readonly observed: GPUBuffer;
  private readonly totals: GPUBuffer;
  private readonly stats: GPUBuffer;
  private readonly statsReadback: GPUBuffer;
  private readonly samples: SampleBuffers;
  private readonly rayBuffers: RayBuffers;
  private densityBuffers?: { positions: GPUBuffer; enc: GPUBuffer; sigma: GPUBuffer };
  private readonly renderRays: number;
  private readonly preferDeviceRays: boolean;
  /** The training views on the device (setTrainingSet), when the rays are formed there. */
  private views?: { table: GPUBuffer; pixels: GPUBuffer; plan: GPUBuffer; planHost: Uint32Array };

  private constructor(
    readonly ctx: GpuContext,
    readonly config: FieldConfig,
    options: GpuNerfOptions,
    private readonly kernels: Kernels,
    from?: FieldState,
  ) {
    if (config.scene.mode !== 'box' && config.scene.mode !== 'contract') throw new Error(`the WebGPU runtime has no '${config.scene.mode}' scene mapping: use device cpu`);
    if (config.hash.featuresPerLevel !== 2) throw new Error('the WebGPU hash encoding supports 2 features per level');
    this.layout = paramLayout(config);
    this.rng = new Rng(options.seed);
    if (from && from.params.length !== this.layout.count)
      throw new Error(`the parameters have ${from.params.length} values but the config needs ${this.layout.count}`);
    const initial = from ? from.params : initParams(this.layout, this.rng);
    if (from?.rngState) this.rng.setState(from.rngState);
    this.grid = new OccupancyGrid(config.occupancy, from?.occupancy);
    this.stepSize = marchStep(config);
    this.raysPerBatch = options.raysPerBatch ?? 4096;
    this.sampleBudget = options.sampleBudget ?? this.raysPerBatch * 48;
    this.nSh = shCoefficients(config.mlp.shDegree);
    // Box mode: a ray inside the unit cube crosses at most marchSteps lattice steps (the diagonal), plus one jump per empty cell.
    // Contract mode: every step from near to far (a later start takes no more steps).
    const contract = config.scene.mode === 'contract';
    this.march = {
      gridResolution: this.grid.resolution,
      dt: this.stepSize,
      maxIterations: contract ? contractSteps(config, this.stepSize) + 8 : config.render.marchSteps + 4 * this.grid.resolution + 8,
      nSh: this.nSh,
      contract: contract ? { cone: config.render.coneAngle } : undefined,
    };
    this.renderStepSize = marchStep(config, 'render');
    const renderSteps = config.render.renderMarchSteps ?? config.render.marchSteps;
    this.renderMarch = {
      ...this.march,
      dt: this.renderStepSize,
      maxIterations: contract ? contractSteps(config, this.renderStepSize) + 8 : renderSteps + 4 * this.grid.resolution + 8,
    };
    const { count } = this.layout;
    const f = (n: number, label: string) => storageBuffer(ctx, n * 4, label);
    this.params = storageBuffer(ctx, initial, 'params');
    this.grad = f(count, 'grad');
    if (from?.adam && (from.adam.m.length !== count || from.adam.v.length !== count))
      throw new Error(`the Adam moments have ${from.adam.m.length} / ${from.adam.v.length} values but the config needs ${count}`);
    this.adamM = from?.adam ? storageBuffer(ctx, from.adam.m, 'adam-m') : f(count, 'adam-m');
    this.adamV = from?.adam ? storageBuffer(ctx, from.adam.v, 'adam-v') : f(count, 'adam-v');
    if (from?.adam) this.adamStep = from.adam.step;
    this.occupied = f(this.grid.cells, 'occupied');
    this.observed = f(this.grid.cells, 'observed');
    this.totals = f(TOTALS, 'totals');
    this.stats = f(LOSS_STATS, 'loss-stats');
    this.statsReadback = ctx.device.createBuffer({ label: 'stats-readback', size: 4 * (LOSS_STATS + TOTALS), usage: Usage.MAP_READ | Usage.COPY_DST });
    this.renderRays = options.renderRays ?? (ctx.adapter.software ? RENDER_RAYS_SOFTWARE : RENDER_RAYS_GPU);
    this.preferDeviceRays = options.deviceRays ?? true;
    const rays = Math.max(this.raysPerBatch, this.renderRays);
    const capacity = Math.max(this.sampleBudget, this.renderRays * RENDER_SAMPLES_PER_RAY);
    const E = this.layout.encodingWidth;
    this.samples = {
      capacity,
      positions: f(3 * capacity, 'positions'),
      stepT: f(2 * capacity, 'step-t'),
      sh: f(this.nSh * capacity, 'sample-sh'),
      enc: f(E * capacity, 'enc'),
      sigma: f(capacity, 'sigma'),
      rgb: f(3 * capacity, 'rgb'),
      sampleOut: f(SAMPLE_OUT * capacity, 'sample-out'),
      dSigma: f(capacity, 'dsigma'),
      dRgb: f(3 * capacity, 'drgb'),
      dEnc: f(E * capacity, 'denc'),
    };
    this.rayBuffers = {
      capacity: rays,
      rays: f(RAY_IN * rays, 'rays'),
      raySh: f(this.nSh * rays, 'ray-sh'),
      background: f(3 * rays, 'background'),
      target: f(3 * rays, 'target'),
      counts: f(rays, 'counts'),
      rayRange: f(2 * rays, 'ray-range'),
      dropped: f(rays, 'dropped'),
      rayOut: f(RAY_OUT * rays, 'ray-out'),
      dColor: f(3 * rays, 'dcolor'),
    };
    this.host = {
      rays: new Float32Array(RAY_IN * rays),
      sh: new Float32Array(this.nSh * rays),
      background: new Float32Array(3 * rays),
      target: new Float32Array(3 * rays),
      zFactor: new Float32Array(rays),
    };
    this.uploadOccupied();
  }

  static async create(
    ctx: GpuContext, config: FieldConfig, options: GpuNerfOptions,
    from?: FieldState,
  ): Promise<GpuNerf> {
    return new GpuNerf(ctx, config, options, await compiledKernels(ctx, config, options.unroll), from);
  }

  /** A GpuNerf from a checkpoint (of either device): training resumes where it stopped when the checkpoint has its state, as Nerf.fromCheckpoint. */
  static async fromCheckpoint(ctx: GpuContext, ckpt: Checkpoint, options: GpuNerfOptions): Promise<GpuNerf> {
    const { field, training } = ckpt;
    const nerf = await GpuNerf.create(ctx, field.config, options, resumeState(ckpt));
    if (ckpt.hull) nerf.grid.hull = ckpt.hull.slice();
    if (training) nerf.samplesPerRay = training.samplesPerRay;
    return nerf;
  }

  /** Everything a checkpoint needs to resume this training exactly (parameters and Adam moments read back), as Nerf.toCheckpoint. */
  async toCheckpoint(
    bounds: RadianceFieldValue['bounds'],
    provenance: RadianceFieldValue['provenance'],
    training?: { step: number; seconds: number; fingerprint: string },
  ): Promise<Checkpoint> {
    const field = await this.toValue(bounds, provenance);
    return {
      field,
      hull: this.grid.hull?.slice(),
      training: training && {
        ...training,
        adamStep: this.adamStep,
        rngState: this.rng.getState(),
        samplesPerRay: this.samplesPerRay,
        adamM: await readFloat32(this.ctx, this.adamM, this.layout.count),
        adamV: await readFloat32(this.ctx, this.adamV, this.layout.count),
      },
    };
  }

  /** A GpuNerf that renders a field value (no training state). */
  static fromValue(ctx: GpuContext, field: RadianceFieldValue): Promise<GpuNerf> {
    return GpuNerf.create(ctx, field.config, { seed: field.provenance.seed }, { params: field.params, occupancy: field.occupancy });
  }

  private uploadOccupied(): void {
    const occ = new Uint32Array(this.grid.cells);
    for (let i = 0; i < occ.length; i++) occ[i] = this.grid.occupied[i]!;
    writeBuffer(this.ctx, this.occupied, occ);
  }

  /** Whether the training rays are formed on the device (setTrainingSet uploaded the views). */
  get deviceRays(): boolean {
    return !!this.views;
  }

  /**
   * Sets the views trained on (carving the visual hull as the CPU does) and
   * uploads them once, packed RGBA8 with their cameras, when the rays can be
   * formed on the device (the pixels fit one binding).
   */
  setTrainingSet(set: TrainingSet, options: { carve?: boolean } = {}): void {
    this.set = set;
    if (this.views) {
      this.views.table.destroy();
      this.views.pixels.destroy();
      this.views.plan.destroy();
      this.views = undefined;
    }
    if (this.preferDeviceRays && set.pixels * 4 <= this.ctx.device.limits.maxStorageBufferBindingSize) {
      const { table, pixels } = packViews(set.views);
      this.views = {
        table: storageBuffer(this.ctx, table, 'view-table'),
        pixels: storageBuffer(this.ctx, pixels, 'view-pixels'),
        plan: storageBuffer(this.ctx, PLAN * 4 * this.rayBuffers.capacity, 'ray-plan'),
        planHost: new Uint32Array(PLAN * this.rayBuffers.capacity),
      };
    }
    if ((options.carve ?? true) && !this.grid.hull && set.views.some((v) => v.alpha)) {
      this.grid.hull = carveFromAlpha(this.grid, this.config.scene, set.views);
      this.uploadOccupied();
    }
  }

  /** The ray of RayBatch.addRay into host slot r: box mode in normalised coordinates clipped to the cube; contract mode divided by halfSize. */
  private setRay(r: number, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, jitter: number, step = this.stepSize): void {
    const { scene, render } = this.config;
    const [cx, cy, cz] = scene.center;
    const box = scene.mode === 'box';
    const s = box ? 1 / (2 * scene.halfSize) : 1 / scene.halfSize;
    const off = box ? 0.5 : 0;
    const o = [(ox - cx) * s + off, (oy - cy) * s + off, (oz - cz) * s + off];
    const d = [dx * s, dy * s, dz * s];
    let t0 = render.near, t1 = render.far;
    for (let a = 0; a < 3 && box; a++) {
      if (Math.abs(d[a]!) < 1e-12) {
        if (o[a]! < 0 || o[a]! > 1) t1 = -1;
        continue;
      }
      let ta = (0 - o[a]!) / d[a]!, tb = (1 - o[a]!) / d[a]!;
      if (ta > tb) [ta, tb] = [tb, ta];
      if (ta > t0) t0 = ta;
      if (tb < t1) t1 = tb;
    }
    const start = t0 + jitter * step;
    const h = this.host.rays, b = RAY_IN * r;
    h[b] = o[0]!;
    h[b + 1] = o[1]!;
    h[b + 2] = o[2]!;
    h[b + 3] = d[0]!;
    h[b + 4] = d[1]!;
    h[b + 5] = d[2]!;
    // As RayBatch: positions are normalised (o + t d with d scaled), t and the step stay in world units.
    h[b + 6] = start;
    h[b + 7] = start < t1 ? t1 : start;
    shEncode(dx, dy, dz, this.host.sh, this.nSh * r, this.config.mlp.shDegree);
  }

  private uploadRays(n: number): void {
    const { host, rayBuffers: b } = this;
    writeBuffer(this.ctx, b.rays, host.rays.subarray(0, RAY_IN * n));
    writeBuffer(this.ctx, b.raySh, host.sh.subarray(0, this.nSh * n));
    writeBuffer(this.ctx, b.background, host.background.subarray(0, 3 * n));
    writeBuffer(this.ctx, b.target, host.target.subarray(0, 3 * n));
  }

  private volumeBuffers() {
    const { samples: s, rayBuffers: r } = this;
    return {
      rayRange: r.rayRange, sigma: s.sigma, rgb: s.rgb, stepT: s.stepT,
      background: r.background, rayOut: r.rayOut, sampleOut: s.sampleOut,
    };
  }

  /** Records march, hash encoding, MLP query and compositing of n uploaded rays. */
  private recordForward(encoder: GPUCommandEncoder, n: number, capacity: number, observe: boolean, march = this.march): void {
    const { samples: s, rayBuffers: r, kernels: k } = this;
    k.march.record(encoder, {
      rays: r.rays, occupied: this.occupied, raySh: r.raySh, counts: r.counts, rayRange: r.rayRange,
      dropped: r.dropped, totals: this.totals, positions: s.positions, stepT: s.stepT, sh: s.sh,
    }, n, capacity, march);
    const live = { buffer: this.totals, max: capacity };
    k.hash.forward(encoder, this.params, s.positions, s.enc, live);
    k.mlp.recordQuery(encoder, this.params, s.enc, s.sh, s.sigma, s.rgb, live);
    if (observe) k.march.recordObserve(encoder, this.totals, s.positions, s.sigma, this.observed, this.grid.resolution, capacity);
    k.volume.recordForward(encoder, this.volumeBuffers(), n, this.config.render.minTransmittance);
  }

  /** One optimisation step on a fresh random batch of rays (the same draws as Nerf.trainStep). */
  async trainStep(lr: number): Promise<StepStats> {
    const set = this.set;
    if (!set) throw new Error('trainStep: call setTrainingSet first');
    const { rng, host } = this;
    const nRays = Math.min(this.raysPerBatch, Math.max(64, Math.floor(this.sampleBudget / Math.max(1, this.samplesPerRay))));
    const views = set.views;
    const compositeBg = set.compositeBackground;
    const fixedBg = this.config.render.background;
    const ray = this.ray;
    const dev = this.views;
    const planF = dev && new Float32Array(dev.planHost.buffer);
    for (let i = 0; i < nRays; i++) {
      // The draws of Nerf.trainStep, in its order.
      const v = rng.int(views.length);
      const view = views[v]!;
      const { width, height } = view.image;
      const u = rng.int(width);
      const p = rng.int(height) * width + u;
      const jitter = rng.next();
      const withAlpha = !!compositeBg && !!view.alpha;
      for (let c = 0; c < 3; c++) host.background[3 * i + c] = withAlpha ? rng.next() : fixedBg[c]!;
      if (dev) {
        const o = PLAN * i;
        dev.planHost[o] = v;
        dev.planHost[o + 1] = p;
        planF![o + 2] = jitter;
        planF![o + 3] = host.background[3 * i]!;
        planF![o + 4] = host.background[3 * i + 1]!;
        planF![o + 5] = host.background[3 * i + 2]!;
        continue;
      }
      pixelRay(view.camera, p % width, Math.floor(p / width), ray);
      this.setRay(i, ray[0]!, ray[1]!, ray[2]!, ray[3]!, ray[4]!, ray[5]!, jitter);
      const d = view.image.data;
      let tr = d[3 * p]! / 255, tg = d[3 * p + 1]! / 255, tb = d[3 * p + 2]! / 255;
      if (withAlpha) {
        const t = 1 - view.alpha![p]! / 255;
        tr += t * (host.background[3 * i]! - compositeBg[0]);
        tg += t * (host.background[3 * i + 1]! - compositeBg[1]);
        tb += t * (host.background[3 * i + 2]! - compositeBg[2]);
      }
      host.target[3 * i] = tr;
      host.target[3 * i + 1] = tg;
      host.target[3 * i + 2] = tb;
    }
    if (dev) writeBuffer(this.ctx, dev.plan, dev.planHost.subarray(0, PLAN * nRays));
    else this.uploadRays(nRays);
    const { samples: s, rayBuffers: r, kernels: k } = this;
    const capacity = this.sampleBudget;
    const encoder = this.ctx.device.createCommandEncoder({ label: 'train-step' });
    if (dev) {
      const { scene, render } = this.config;
      k.rayGen.record(encoder, {
        plan: dev.plan, viewTable: dev.table, pixels: dev.pixels, rays: r.rays, raySh: r.raySh, background: r.background, target: r.target,
      }, nRays, { mode: scene.mode === 'contract' ? 'contract' : 'box', center: scene.center, halfSize: scene.halfSize, near: render.near, far: render.far, step: this.stepSize, compositeBackground: compositeBg });
    }
    this.recordForward(encoder, nRays, capacity, true);
    k.march.recordLoss(encoder, r.rayOut, r.target, r.dropped, r.dColor, this.stats, nRays, 2 / (3 * nRays));
    k.volume.recordBackward(encoder, this.volumeBuffers(), r.dColor, s.dSigma, s.dRgb, nRays);
    const live = { buffer: this.totals, max: capacity };
    k.mlp.recordBackward(encoder, this.params, s.enc, s.sh, s.dSigma, s.dRgb, s.dEnc, this.grad, live);
    k.hash.backward(encoder, this.grad, s.positions, s.dEnc, live);
    this.adamStep++;
    k.adam.record(encoder, this.params, this.grad, this.adamM, this.adamV, this.layout.count, this.layout.hashCount, lr, this.adamStep);
    encoder.copyBufferToBuffer(this.stats, 0, this.statsReadback, 0, 4 * LOSS_STATS);
    encoder.copyBufferToBuffer(this.totals, 0, this.statsReadback, 4 * LOSS_STATS, 4 * TOTALS);
    submitNoWait(this.ctx, encoder);
    await Promise.race([this.statsReadback.mapAsync(1), this.ctx.lost]);
    const bytes = this.statsReadback.getMappedRange().slice(0);
    this.statsReadback.unmap();
    const stats = new Float32Array(bytes, 0, LOSS_STATS), totals = new Uint32Array(bytes, 4 * LOSS_STATS, TOTALS);
    const sse = stats[0]!, used = Math.round(stats[1]!), samples = Math.round(stats[2]!);
    const kept = totals[1]!;
    const perRay = kept / Math.max(1, used);
    this.samplesPerRay = used < nRays ? perRay : 0.7 * this.samplesPerRay + 0.3 * perRay;
    return { loss: used > 0 ? sse / (3 * used) : 0, rays: used, samples, evaluated: totals[0]! };
  }

  /** Densities at `count` normalised positions (device evaluation, read back). */
  async density(positions: Float32Array, count: number): Promise<Float32Array> {
    const out = new Float32Array(count);
    const E = this.layout.encodingWidth;
    this.densityBuffers ??= {
      positions: storageBuffer(this.ctx, 3 * DENSITY_CHUNK * 4, 'density-positions'),
      enc: storageBuffer(this.ctx, E * DENSITY_CHUNK * 4, 'density-enc'),
      sigma: storageBuffer(this.ctx, DENSITY_CHUNK * 4, 'density-sigma'),
    };
    const b = this.densityBuffers;
    for (let i0 = 0; i0 < count; i0 += DENSITY_CHUNK) {
      const n = Math.min(DENSITY_CHUNK, count - i0);
      writeBuffer(this.ctx, b.positions, positions.subarray(3 * i0, 3 * (i0 + n)));
      const encoder = this.ctx.device.createCommandEncoder({ label: 'density' });
      this.kernels.hash.forward(encoder, this.params, b.positions, b.enc, n);
      this.kernels.mlp.recordDensity(encoder, this.params, b.enc, b.sigma, n);
      await submit(this.ctx, encoder);
      out.set(await readFloat32(this.ctx, b.sigma, n), i0);
    }
    return out;
  }

  /** The occupancy update of Nerf.updateOccupancy: same points, densities from the device, observations from training. */
  async updateOccupancy(budget: number | boolean = 65536): Promise<void> {
    const points = budget === true ? 1 << 22 : budget === false ? 65536 : budget;
    const { cells, positions } = this.grid.samplePoints(this.rng, points);
    const sigma = await this.density(positions, cells.length);
    const observed = await readFloat32(this.ctx, this.observed, this.grid.cells);
    const encoder = this.ctx.device.createCommandEncoder({ label: 'observed-clear' });
    encoder.clearBuffer(this.observed);
    submitNoWait(this.ctx, encoder);
    this.grid.observed.set(observed);
    this.grid.update(cells, sigma, this.stepSize);
    this.uploadOccupied();
  }

  /** Renders a pinhole camera (full frame) over `background` (default: the config's), as Nerf.renderCamera. */
  async renderCamera(camera: Camera, options: { background?: readonly number[]; signal?: AbortSignal } = {}): Promise<RenderOutput> {
    const { width, height } = camera;
    const bg = options.background ?? this.config.render.background;
    const n = width * height;
    const out: RenderOutput = { width, height, rgb: new Float32Array(n * 3), depth: new Float32Array(n), accumulation: new Float32Array(n) };
    const full = this.samples.capacity;
    // The per-sample kernels dispatch over the batch's capacity: a small batch (a small image, the last
    // batch, a one-pixel pick) gets 64 samples per ray and at least one whole ray's worth, not the whole buffer.
    let widen = false;
    const ray = this.ray;
    // Pixels still to render; a dispatch whose samples overflow the buffers drops its last rays, which go again.
    let queue = Int32Array.from({ length: n }, (_, i) => i);
    const pending: number[] = [];
    while (queue.length > 0) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      const batch = queue.subarray(0, Math.min(this.renderRays, queue.length));
      const m = batch.length;
      const capacity = widen ? full : Math.min(full, Math.max(m * RENDER_SAMPLES_PER_RAY, this.renderMarch.maxIterations));
      for (let r = 0; r < m; r++) {
        const p = batch[r]!;
        this.host.zFactor[r] = pixelRay(camera, p % width, Math.floor(p / width), ray);
        this.setRay(r, ray[0]!, ray[1]!, ray[2]!, ray[3]!, ray[4]!, ray[5]!, 0.5, this.renderStepSize);
        this.host.background[3 * r] = bg[0]!;
        this.host.background[3 * r + 1] = bg[1]!;
        this.host.background[3 * r + 2] = bg[2]!;
      }
      this.uploadRays(m);
      const encoder = this.ctx.device.createCommandEncoder({ label: 'render' });
      this.recordForward(encoder, m, capacity, false, this.renderMarch);
      await submit(this.ctx, encoder);
      const rayOut = await readFloat32(this.ctx, this.rayBuffers.rayOut, RAY_OUT * m);
      const dropped = new Uint32Array(await readBuffer(this.ctx, this.rayBuffers.dropped, 4 * m));
      pending.length = 0;
      for (let r = 0; r < m; r++) {
        const p = batch[r]!;
        if (dropped[r]) {
          pending.push(p);
          continue;
        }
        const o = RAY_OUT * r;
        out.rgb[3 * p] = rayOut[o + 6]!;
        out.rgb[3 * p + 1] = rayOut[o + 7]!;
        out.rgb[3 * p + 2] = rayOut[o + 8]!;
        const acc = rayOut[o + 5]!;
        out.accumulation[p] = acc;
        out.depth[p] = acc > 1e-4 ? (rayOut[o + 4]! / acc) * this.host.zFactor[r]! : 0;
      }
      if (pending.length === m) {
        if (capacity === full) throw new Error(`renderCamera: ${m} rays need more than ${capacity} samples`);
        widen = true;
      }
      const rest = queue.subarray(m);
      const next = new Int32Array(pending.length + rest.length);
      next.set(pending);
      next.set(rest, pending.length);
      queue = next;
    }
    return out;
  }

  /** The parameters, read back from the device. */
  async readParams(): Promise<Float32Array> {
    return readFloat32(this.ctx, this.params, this.layout.count);
  }

  /** The field as a plain value (parameters read back; the grid from its host copy). */
  async toValue(bounds: RadianceFieldValue['bounds'], provenance: RadianceFieldValue['provenance']): Promise<RadianceFieldValue> {
    return {
      kind: 'RadianceField',
      config: structuredClone(this.config),
      params: await this.readParams(),
      occupancy: { resolution: this.grid.resolution, density: this.grid.density.slice(), occupied: this.grid.occupied.slice() },
      bounds: structuredClone(bounds),
      provenance: { ...provenance },
    };
  }

  /** Frees this field's buffers (the compiled kernels stay cached for the context). */
  dispose(): void {
    for (const b of [this.params, this.grad, this.adamM, this.adamV, this.occupied, this.observed, this.totals, this.stats, this.statsReadback]) b.destroy();
    for (const b of Object.values(this.samples)) if (typeof b !== 'number') b.destroy();
    for (const b of Object.values(this.rayBuffers)) if (typeof b !== 'number') b.destroy();
    if (this.densityBuffers) for (const b of Object.values(this.densityBuffers)) b.destroy();
    if (this.views) for (const b of [this.views.table, this.views.pixels, this.views.plan]) b.destroy();
  }
}
