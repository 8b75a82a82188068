// Occupancy grid for empty-space skipping (instant-ngp): a G^3 grid over
// the normalised cube holding a decayed running maximum of the density seen
// in each cell, and a byte per cell (1 = occupied) derived from it. Updated
// every few training steps from (a) the density at random points of every
// candidate cell (the visual hull when the views have alpha, see carve.ts),
// or of a random subset of cells plus a random subset of the occupied ones
// when there are too many, and (b) for free, the densities the training step
// itself evaluated (`observe`). A cell is occupied when its density times the
// march step exceeds min(mean over candidates, minOpticalThickness).

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
  readonly observed: Float32Array;
  /** Number of occupied cells. */
  occupiedCount: number;
  /** Density threshold of the last update. */
  threshold = 0;
  /** Cells that may ever be occupied (1), e.g. the visual hull from alpha masks; undefined = all. */
  hull?: Uint8Array;

  /** Observations of shards on other threads (shared memory), folded in and zeroed at each update. */
  extraObserved: Float32Array[] = [];

  /**
   * `shared`: the occupied bytes live in a SharedArrayBuffer (other threads march with them).
   * `wrap`: use the given state's arrays as they are (a shard's view of the main thread's grid).
   */
  constructor(
    readonly config: OccupancyConfig,
    state?: { density: Float32Array; occupied: Uint8Array; observed?: Float32Array },
    options: { shared?: boolean; wrap?: boolean } = {},
  ) {
    const G = config.resolution;
    this.resolution = G;
    this.cells = G * G * G;
    this.density = state ? (options.wrap ? state.density : state.density.slice()) : new Float32Array(this.cells);
    if (options.wrap && state) this.occupied = state.occupied;
    else {
      this.occupied = options.shared ? new Uint8Array(new SharedArrayBuffer(this.cells)) : new Uint8Array(this.cells);
      if (state) this.occupied.set(state.occupied);
      else this.occupied.fill(1);
    }
    this.observed =
      options.wrap && state?.observed ? state.observed : options.shared ? new Float32Array(new SharedArrayBuffer(4 * this.cells)) : new Float32Array(this.cells);
    if ((!options.wrap && this.density.length !== this.cells) || this.occupied.length !== this.cells)
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
   * Picks the points to evaluate in this update: when the candidate cells
   * (the hull, else all) number at most `budget`, `pointsPerCell` random
   * points in every one of them; otherwise `budget` random candidates plus
   * up to budget/2 random occupied cells, one point each. Returns the cell
   * of each point and the points (normalised coordinates).
   */
  samplePoints(rng: Rng, budget = 65536, pointsPerCell = 2): { cells: Uint32Array; positions: Float32Array } {
    const G = this.resolution;
    const hull = this.hull;
    let candidates = this.cells;
    if (hull) {
      candidates = 0;
      for (let i = 0; i < this.cells; i++) candidates += hull[i]!;
    }
    let cells: Uint32Array;
    if (candidates <= budget) {
      cells = new Uint32Array(candidates * pointsPerCell);
      let n = 0;
      for (let i = 0; i < this.cells; i++) if (!hull || hull[i]) for (let k = 0; k < pointsPerCell; k++) cells[n++] = i;
    } else {
      const occupiedList: number[] = [];
      for (let i = 0; i < this.cells; i++) if (this.occupied[i]) occupiedList.push(i);
      const nOccupied = Math.min(occupiedList.length, budget >> 1);
      cells = new Uint32Array(budget + nOccupied);
      for (let i = 0; i < budget; i++) {
        let c = rng.int(this.cells);
        for (let k = 0; hull && !hull[c] && k < 16; k++) c = rng.int(this.cells);
        cells[i] = c;
      }
      for (let i = 0; i < nOccupied; i++) cells[budget + i] = occupiedList[rng.int(occupiedList.length)]!;
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
    for (const extra of this.extraObserved) {
      for (let i = 0; i < this.cells; i++) if (extra[i]! > observed[i]!) observed[i] = extra[i]!;
      extra.fill(0);
    }
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
    let sum = 0, n = 0;
    const hull = this.hull;
    for (let i = 0; i < this.cells; i++) {
      if (hull && !hull[i]) continue;
      sum += this.density[i]!;
      n++;
    }
    const mean = n ? sum / n : 0;
    this.threshold = Math.min(mean, this.config.minOpticalThickness / stepSize);
    let count = 0;
    for (let i = 0; i < this.cells; i++) {
      const o = this.density[i]! > this.threshold && (!hull || hull[i]) ? 1 : 0;
      this.occupied[i] = o;
      count += o;
    }
    this.occupiedCount = count;
  }
}
