// A batch of rays marched in waves: every alive ray emits up to k samples in
// occupied cells (empty cells are skipped by jumping to their exit), the
// field is evaluated on the whole wave at once, each ray composites its
// samples and stops once its transmittance falls below minT. Waves double k
// (8, 16, 32, ...), so rays that hit a surface early cost few evaluations,
// and training evaluates the field only where it contributes (no fixed
// samples-per-ray budget). Shared by training and rendering.

import type { FieldConfig } from './config';
import { shCoefficients } from './config';
import type { FieldEvaluator } from './field-kernels';
import type { OccupancyGrid } from './occupancy';
import { shEncode } from './sh';
import { compositeForward, RAY_STATE } from './volume';

export const RAY_ALIVE = 0;
export const RAY_DONE = 1;
/** Ran out of sample buffer: excluded from the loss. */
export const RAY_DROPPED = 2;

const FIRST_WAVE = 8;
const MAX_WAVE = 64;

export class RayBatch {
  readonly nSh: number;
  // Per ray.
  readonly origin: Float64Array;
  readonly dir: Float64Array;
  readonly tStart: Float64Array;
  readonly tNext: Float64Array;
  readonly tEnd: Float64Array;
  readonly state: Float64Array;
  readonly status: Uint8Array;
  readonly sh: Float32Array;
  readonly zFactor: Float32Array;
  // Per sample.
  readonly positions: Float32Array;
  readonly sampleSh: Float32Array;
  readonly delta: Float32Array;
  readonly tMid: Float32Array;
  readonly ray: Uint32Array;
  readonly sigma: Float32Array;
  readonly rgb: Float32Array;
  readonly tBefore: Float32Array;
  readonly prefix: Float32Array;
  readonly used: Uint8Array;
  /** Hash encodings of the samples (training only: the backward pass reuses them). */
  readonly enc?: Float32Array;
  readonly encodingWidth: number;
  rayCount = 0;
  sampleCount = 0;
  /** Field evaluations of the last march (including samples past termination within a wave). */
  evaluated = 0;
  private readonly step: number;
  private readonly waveRay: Uint32Array;
  private readonly waveBegin: Uint32Array;
  private readonly waveEnd: Uint32Array;

  constructor(
    readonly config: FieldConfig,
    readonly capacityRays: number,
    readonly capacitySamples: number,
    options: { keepEncoding?: boolean; purpose?: MarchPurpose } = {},
  ) {
    const R = capacityRays, S = capacitySamples;
    this.encodingWidth = config.hash.levels * config.hash.featuresPerLevel;
    if (options.keepEncoding) this.enc = new Float32Array(S * this.encodingWidth);
    this.nSh = shCoefficients(config.mlp.shDegree);
    this.origin = new Float64Array(3 * R);
    this.dir = new Float64Array(3 * R);
    this.tStart = new Float64Array(R);
    this.tNext = new Float64Array(R);
    this.tEnd = new Float64Array(R);
    this.state = new Float64Array(RAY_STATE * R);
    this.status = new Uint8Array(R);
    this.sh = new Float32Array(this.nSh * R);
    this.zFactor = new Float32Array(R);
    this.positions = new Float32Array(3 * S);
    this.sampleSh = new Float32Array(this.nSh * S);
    this.delta = new Float32Array(S);
    this.tMid = new Float32Array(S);
    this.ray = new Uint32Array(S);
    this.sigma = new Float32Array(S);
    this.rgb = new Float32Array(3 * S);
    this.tBefore = new Float32Array(S);
    this.prefix = new Float32Array(3 * S);
    this.used = new Uint8Array(S);
    this.waveRay = new Uint32Array(R);
    this.waveBegin = new Uint32Array(R);
    this.waveEnd = new Uint32Array(R);
    this.step = marchStep(config, options.purpose);
  }

  reset(): void {
    this.rayCount = 0;
    this.sampleCount = 0;
    this.evaluated = 0;
  }

  /**
   * Adds a world-space ray (unit direction). `jitter` in [0, 1) offsets the
   * first sample by a fraction of a step (0.5 for renders). Returns its index.
   */
  addRay(ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, jitter: number, zFactor = 1): number {
    const r = this.rayCount++;
    const { scene, render } = this.config;
    const [cx, cy, cz] = scene.center;
    this.zFactor[r] = zFactor;
    shEncode(dx, dy, dz, this.sh, r * this.nSh, this.config.mlp.shDegree);
    const so = r * RAY_STATE;
    this.state[so] = 1;
    this.state[so + 1] = this.state[so + 2] = this.state[so + 3] = this.state[so + 4] = this.state[so + 5] = 0;
    let t0 = render.near, t1 = render.far;
    if (scene.mode === 'box') {
      // Normalised coordinates: n = (p - c) / (2h) + 1/2, so the ray is o_n + t d / (2h).
      const s = 1 / (2 * scene.halfSize);
      const nox = (ox - cx) * s + 0.5, noy = (oy - cy) * s + 0.5, noz = (oz - cz) * s + 0.5;
      const ndx = dx * s, ndy = dy * s, ndz = dz * s;
      this.origin[3 * r] = nox;
      this.origin[3 * r + 1] = noy;
      this.origin[3 * r + 2] = noz;
      this.dir[3 * r] = ndx;
      this.dir[3 * r + 1] = ndy;
      this.dir[3 * r + 2] = ndz;
      // Slabs of the unit cube.
      for (let a = 0; a < 3; a++) {
        const o = a === 0 ? nox : a === 1 ? noy : noz;
        const d = a === 0 ? ndx : a === 1 ? ndy : ndz;
        if (Math.abs(d) < 1e-12) {
          if (o < 0 || o > 1) t1 = -1;
          continue;
        }
        let ta = (0 - o) / d, tb = (1 - o) / d;
        if (ta > tb) [ta, tb] = [tb, ta];
        if (ta > t0) t0 = ta;
        if (tb < t1) t1 = tb;
      }
    } else {
      const inv = 1 / scene.halfSize;
      this.origin[3 * r] = (ox - cx) * inv;
      this.origin[3 * r + 1] = (oy - cy) * inv;
      this.origin[3 * r + 2] = (oz - cz) * inv;
      this.dir[3 * r] = dx * inv;
      this.dir[3 * r + 1] = dy * inv;
      this.dir[3 * r + 2] = dz * inv;
    }
    const start = t0 + jitter * this.step;
    this.tStart[r] = start;
    this.tNext[r] = start;
    this.tEnd[r] = t1;
    this.status[r] = start < t1 ? RAY_ALIVE : RAY_DONE;
    return r;
  }

  /**
   * Marches every ray to the end: waves of samples, field evaluation,
   * compositing. `observe`: training densities feed the occupancy grid.
   * `retain`: keep every wave's samples for a backward pass (training); rays
   * that no longer fit are dropped. Without it a buffer of
   * capacityRays * 64 samples never drops a ray.
   */
  async march(evaluator: FieldEvaluator, params: Float32Array, grid: OccupancyGrid, options: { observe?: boolean; retain?: boolean } = {}): Promise<void> {
    const observe = options.observe ?? false;
    const retain = options.retain ?? true;
    let k = FIRST_WAVE;
    const minT = this.config.render.minTransmittance;
    for (;;) {
      // Without `retain` (rendering) every wave reuses the buffer: no backward pass needs the samples.
      if (!retain) this.sampleCount = 0;
      const waveStart = this.sampleCount;
      const nWave = this.emitWave(grid, k);
      if (nWave === 0) break;
      const end = this.sampleCount;
      const count = end - waveStart;
      if (count > 0) {
        await evaluator.query(
          params,
          this.positions.subarray(3 * waveStart, 3 * end),
          this.sampleSh.subarray(this.nSh * waveStart, this.nSh * end),
          count,
          this.sigma.subarray(waveStart, end),
          this.rgb.subarray(3 * waveStart, 3 * end),
          this.enc?.subarray(this.encodingWidth * waveStart, this.encodingWidth * end),
        );
        this.evaluated += count;
        if (observe) grid.observe(this.positions, this.sigma, waveStart, end);
      }
      for (let i = 0; i < nWave; i++) {
        const r = this.waveRay[i]!, s0 = this.waveBegin[i]!, s1 = this.waveEnd[i]!;
        const so = r * RAY_STATE;
        const stop = compositeForward(this.sigma, this.rgb, this.delta, this.tMid, s0, s1, this.state, so, minT, this.tBefore, this.prefix);
        for (let s = s0; s < stop; s++) this.used[s] = 1;
        for (let s = stop; s < s1; s++) this.used[s] = 0;
        if (this.state[so]! < minT || this.tNext[r]! >= this.tEnd[r]!) this.status[r] = RAY_DONE;
      }
      k = Math.min(MAX_WAVE, k * 2);
    }
  }

  /** Emits up to k samples for every alive ray; returns the number of rays in the wave. */
  private emitWave(grid: OccupancyGrid, k: number): number {
    const { scene, render } = this.config;
    const G = grid.resolution;
    const occ = grid.occupied;
    const dt = this.step;
    const nSh = this.nSh;
    const box = scene.mode === 'box';
    const cone = render.coneAngle;
    const maxStep = dt * 1e4;
    let nWave = 0;
    for (let r = 0; r < this.rayCount; r++) {
      if (this.status[r] !== RAY_ALIVE) continue;
      let t = this.tNext[r]!;
      const tEnd = this.tEnd[r]!;
      if (t >= tEnd) {
        this.status[r] = RAY_DONE;
        continue;
      }
      if (this.sampleCount + k > this.capacitySamples) {
        this.status[r] = RAY_DROPPED;
        continue;
      }
      const ox = this.origin[3 * r]!, oy = this.origin[3 * r + 1]!, oz = this.origin[3 * r + 2]!;
      const dx = this.dir[3 * r]!, dy = this.dir[3 * r + 1]!, dz = this.dir[3 * r + 2]!;
      const begin = this.sampleCount;
      let s = begin;
      const limit = begin + k;
      if (box) {
        const t0 = this.tStart[r]!;
        while (s < limit && t < tEnd) {
          const px = ox + t * dx, py = oy + t * dy, pz = oz + t * dz;
          let ix = Math.floor(px * G), iy = Math.floor(py * G), iz = Math.floor(pz * G);
          ix = ix < 0 ? 0 : ix >= G ? G - 1 : ix;
          iy = iy < 0 ? 0 : iy >= G ? G - 1 : iy;
          iz = iz < 0 ? 0 : iz >= G ? G - 1 : iz;
          if (occ[ix + G * (iy + G * iz)]) {
            this.positions[3 * s] = px;
            this.positions[3 * s + 1] = py;
            this.positions[3 * s + 2] = pz;
            this.tMid[s] = t;
            this.delta[s] = dt;
            this.ray[s] = r;
            s++;
            t += dt;
          } else {
            // Jump to where the ray leaves the empty cell, then to the next step of its lattice.
            const tx = dx > 0 ? ((ix + 1) / G - ox) / dx : dx < 0 ? (ix / G - ox) / dx : Infinity;
            const ty = dy > 0 ? ((iy + 1) / G - oy) / dy : dy < 0 ? (iy / G - oy) / dy : Infinity;
            const tz = dz > 0 ? ((iz + 1) / G - oz) / dz : dz < 0 ? (iz / G - oz) / dz : Infinity;
            const tExit = Math.min(tx, ty, tz);
            let tNew = t0 + Math.ceil((tExit - t0) / dt) * dt;
            if (tNew <= t) tNew = t + dt;
            t = tNew;
          }
        }
      } else {
        while (s < limit && t < tEnd) {
          let step = t * cone;
          step = step < dt ? dt : step > maxStep ? maxStep : step;
          const tm = t + 0.5 * step;
          let qx = ox + tm * dx, qy = oy + tm * dy, qz = oz + tm * dz;
          const m = Math.max(Math.abs(qx), Math.abs(qy), Math.abs(qz));
          if (m > 1) {
            const f = (2 - 1 / m) / m;
            qx *= f;
            qy *= f;
            qz *= f;
          }
          const px = (qx + 2) * 0.25, py = (qy + 2) * 0.25, pz = (qz + 2) * 0.25;
          let ix = Math.floor(px * G), iy = Math.floor(py * G), iz = Math.floor(pz * G);
          ix = ix < 0 ? 0 : ix >= G ? G - 1 : ix;
          iy = iy < 0 ? 0 : iy >= G ? G - 1 : iy;
          iz = iz < 0 ? 0 : iz >= G ? G - 1 : iz;
          if (occ[ix + G * (iy + G * iz)]) {
            this.positions[3 * s] = px;
            this.positions[3 * s + 1] = py;
            this.positions[3 * s + 2] = pz;
            this.tMid[s] = tm;
            this.delta[s] = step;
            this.ray[s] = r;
            s++;
          }
          t += step;
        }
      }
      this.tNext[r] = t;
      if (s === begin) {
        this.status[r] = RAY_DONE;
        continue;
      }
      const shOff = r * nSh;
      for (let j = begin; j < s; j++) {
        const o = j * nSh;
        for (let c = 0; c < nSh; c++) this.sampleSh[o + c] = this.sh[shOff + c]!;
      }
      this.sampleCount = s;
      this.waveRay[nWave] = r;
      this.waveBegin[nWave] = begin;
      this.waveEnd[nWave] = s;
      nWave++;
    }
    return nWave;
  }

  /** Final colour of ray r over background (bgR, bgG, bgB) into out[o..o+2]. */
  colorOf(r: number, bgR: number, bgG: number, bgB: number, out: Float32Array | Float64Array, o: number): void {
    const so = r * RAY_STATE;
    const T = this.state[so]!;
    out[o] = this.state[so + 1]! + T * bgR;
    out[o + 1] = this.state[so + 2]! + T * bgG;
    out[o + 2] = this.state[so + 3]! + T * bgB;
  }
}

/** Training rays march with render.marchSteps; rendered images with render.renderMarchSteps (when set). */
export type MarchPurpose = 'train' | 'render';

/** The march step in world units: box diagonal / marchSteps (or renderMarchSteps for rendering). */
export function marchStep(config: FieldConfig, purpose: MarchPurpose = 'train'): number {
  const { scene, render } = config;
  const steps = purpose === 'render' ? (render.renderMarchSteps ?? render.marchSteps) : render.marchSteps;
  return (2 * scene.halfSize * Math.sqrt(3)) / steps;
}
