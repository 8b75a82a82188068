// Occupancy grid for empty-space skipping (instant-ngp): a G^3 grid over
// the normalised cube holding a decayed running maximum of the density seen
// in each cell, and a byte per cell (1 = occupied) derived from it. Updated
// every few training steps from (a) the density at a random point of every
// cell (warm-up) or of a random subset of cells plus a random subset of the
// occupied ones, and (b) for free, the densities the training step itself
// evaluated (`observe`). A cell is occupied when its density times the march
// step exceeds min(mean, minOpticalThickness).

import type { OccupancyConfig } from './config';
import type { Rng } from './rng';

export class OccupancyGrid {
  readonly resolution: number;
  readonly cells: number;
  /** Decayed running maximum of the density per cell (x fastest, then y, then z). */
  readonly density: Float32Array;
  /** 1 = occupied (marched), 0 = skipped. */
  readonly occupied: Uint8Array;
  /** Max density seen by training samples since the last update. */
  private readonly observed: Float32Array;
  /** Number of occupied cells. */
  occupiedCount: number;
  /** Density threshold of the last update. */
  threshold = 0;

  constructor(
    readonly config: OccupancyConfig,
    state?: { density: Float32Array; occupied: Uint8Array },
  ) {
    const G = config.resolution;
    this.resolution = G;
    this.cells = G * G * G;
    this.density = state ? state.density.slice() : new Float32Array(this.cells);
    this.occupied = state ? state.occupied.slice() : new Uint8Array(this.cells).fill(1);
    this.observed = new Float32Array(this.cells);
    if (this.density.length !== this.cells || this.occupied.length !== this.cells)
      throw new Error(`occupancy grid state has ${this.density.length} cells, expected ${this.cells}`);
    this.occupiedCount = 0;
    for (let i = 0; i < this.cells; i++) this.occupiedCount += this.occupied[i]!;
  }

  /** Cell index of a normalised position (clamped to the cube). */
  cellOf(x: number, y: number, z: number): number {
    const G = this.resolution;
    let ix = Math.floor(x * G), iy = Math.floor(y * G), iz = Math.floor(z * G);
    ix = ix < 0 ? 0 : ix >= G ? G - 1 : ix;
    iy = iy < 0 ? 0 : iy >= G ? G - 1 : iy;
    iz = iz < 0 ? 0 : iz >= G ? G - 1 : iz;
    return ix + G * (iy + G * iz);
  }

  /** Records densities evaluated during training (positions normalised, 3 per sample). */
  observe(positions: Float32Array, sigma: Float32Array, begin: number, end: number): void {
    const obs = this.observed;
    for (let s = begin; s < end; s++) {
      const c = this.cellOf(positions[3 * s]!, positions[3 * s + 1]!, positions[3 * s + 2]!);
      if (sigma[s]! > obs[c]!) obs[c] = sigma[s]!;
    }
  }

  /**
   * Picks the cells to evaluate in this update and writes one random point in
   * each to `positions`; returns the cell indices. `all`: every cell (warm-up).
   */
  samplePoints(rng: Rng, all: boolean): { cells: Uint32Array; positions: Float32Array } {
    const G = this.resolution;
    let cells: Uint32Array;
    if (all) {
      cells = new Uint32Array(this.cells);
      for (let i = 0; i < this.cells; i++) cells[i] = i;
    } else {
      const nUniform = Math.ceil(this.cells / 8);
      const occupiedList: number[] = [];
      for (let i = 0; i < this.cells; i++) if (this.occupied[i]) occupiedList.push(i);
      const nOccupied = Math.min(occupiedList.length, nUniform);
      cells = new Uint32Array(nUniform + nOccupied);
      for (let i = 0; i < nUniform; i++) cells[i] = rng.int(this.cells);
      for (let i = 0; i < nOccupied; i++) cells[nUniform + i] = occupiedList[rng.int(occupiedList.length)]!;
    }
    const positions = new Float32Array(cells.length * 3);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      const x = c % G, y = Math.floor(c / G) % G, z = Math.floor(c / (G * G));
      positions[3 * i] = (x + rng.next()) / G;
      positions[3 * i + 1] = (y + rng.next()) / G;
      positions[3 * i + 2] = (z + rng.next()) / G;
    }
    return { cells, positions };
  }

  /**
   * Folds new densities in: every cell decays, sampled and observed cells take
   * max(decayed, new); then the occupied bytes are rebuilt.
   * `stepSize`: the march step (world units) that turns density into optical thickness.
   */
  update(cells: Uint32Array, sigma: Float32Array, stepSize: number): void {
    const { density, observed } = this;
    const decay = this.config.decay;
    for (let i = 0; i < this.cells; i++) {
      const d = density[i]! * decay;
      density[i] = observed[i]! > d ? observed[i]! : d;
    }
    observed.fill(0);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      if (sigma[i]! > density[c]!) density[c] = sigma[i]!;
    }
    this.rebuild(stepSize);
  }

  /** Recomputes the occupied bytes from the densities. */
  rebuild(stepSize: number): void {
    let sum = 0;
    for (let i = 0; i < this.cells; i++) sum += this.density[i]!;
    const mean = sum / this.cells;
    this.threshold = Math.min(mean, this.config.minOpticalThickness / stepSize);
    let count = 0;
    for (let i = 0; i < this.cells; i++) {
      const o = this.density[i]! > this.threshold ? 1 : 0;
      this.occupied[i] = o;
      count += o;
    }
    this.occupiedCount = count;
  }
}
