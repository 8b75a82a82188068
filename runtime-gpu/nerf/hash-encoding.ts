// Multiresolution hash encoding (Mueller et al. 2022, instant-ngp), forward
// and backward, on the CPU. Conventions follow tiny-cuda-nn: at level l the
// grid position is pos * scale_l + 0.5, corners are floor() and floor() + 1,
// weights are trilinear; a level whose (resolution)^3 vertices fit the
// table is indexed densely (x + y R + z R^2), the others by the spatial hash
// (x * 1) ^ (y * 2654435761) ^ (z * 805459861) mod 2^log2TableSize.
//
// Layout: the tables are the first `hashCount` floats of the parameter
// buffer, level after level, entry-major with featuresPerLevel (= 2) floats
// per entry. Features are written per sample as [level0 f0, level0 f1,
// level1 f0, ...] into rows of `outStride` floats.
//
// Loops run level-outer, sample-inner: one level's table at a time stays in
// cache, and disjoint level ranges can run on different threads without any
// write conflict in the backward pass (deterministic by construction).

import type { HashLevel } from './config';

export const PRIME_Y = 2654435761 | 0;
export const PRIME_Z = 805459861;

/**
 * features[s * outStride + outOffset + 2 l + f] = trilinear lookup of level l at positions[3 s..3 s + 2].
 * Positions are in the normalised cube [0, 1]^3 (clamped).
 */
export function hashEncodeForward(
  params: Float32Array,
  levels: readonly HashLevel[],
  positions: Float32Array,
  count: number,
  out: Float32Array,
  outStride: number,
  outOffset = 0,
  levelBegin = 0,
  levelEnd = levels.length,
): void {
  for (let l = levelBegin; l < levelEnd; l++) {
    const level = levels[l]!;
    const scale = level.scale;
    const base = level.offset;
    const dense = level.dense;
    const R = level.resolution;
    const R2 = R * R;
    const mask = level.size - 1;
    const o = outOffset + 2 * l;
    for (let s = 0; s < count; s++) {
      let x = positions[3 * s]!, y = positions[3 * s + 1]!, z = positions[3 * s + 2]!;
      x = x < 0 ? 0 : x > 1 ? 1 : x;
      y = y < 0 ? 0 : y > 1 ? 1 : y;
      z = z < 0 ? 0 : z > 1 ? 1 : z;
      const px = x * scale + 0.5, py = y * scale + 0.5, pz = z * scale + 0.5;
      const ix = Math.floor(px), iy = Math.floor(py), iz = Math.floor(pz);
      const fx = px - ix, fy = py - iy, fz = pz - iz;
      const gx = 1 - fx, gy = 1 - fy, gz = 1 - fz;
      let i000: number, i100: number, i010: number, i110: number, i001: number, i101: number, i011: number, i111: number;
      if (dense) {
        i000 = ix + iy * R + iz * R2;
        i100 = i000 + 1;
        i010 = i000 + R;
        i110 = i010 + 1;
        i001 = i000 + R2;
        i101 = i001 + 1;
        i011 = i001 + R;
        i111 = i011 + 1;
      } else {
        const y0 = Math.imul(iy, PRIME_Y), y1 = Math.imul(iy + 1, PRIME_Y);
        const z0 = Math.imul(iz, PRIME_Z), z1 = Math.imul(iz + 1, PRIME_Z);
        const x1 = ix + 1;
        i000 = (ix ^ y0 ^ z0) & mask;
        i100 = (x1 ^ y0 ^ z0) & mask;
        i010 = (ix ^ y1 ^ z0) & mask;
        i110 = (x1 ^ y1 ^ z0) & mask;
        i001 = (ix ^ y0 ^ z1) & mask;
        i101 = (x1 ^ y0 ^ z1) & mask;
        i011 = (ix ^ y1 ^ z1) & mask;
        i111 = (x1 ^ y1 ^ z1) & mask;
      }
      const w000 = gx * gy * gz, w100 = fx * gy * gz, w010 = gx * fy * gz, w110 = fx * fy * gz;
      const w001 = gx * gy * fz, w101 = fx * gy * fz, w011 = gx * fy * fz, w111 = fx * fy * fz;
      const a000 = base + 2 * i000, a100 = base + 2 * i100, a010 = base + 2 * i010, a110 = base + 2 * i110;
      const a001 = base + 2 * i001, a101 = base + 2 * i101, a011 = base + 2 * i011, a111 = base + 2 * i111;
      const f0 =
        w000 * params[a000]! + w100 * params[a100]! + w010 * params[a010]! + w110 * params[a110]! +
        w001 * params[a001]! + w101 * params[a101]! + w011 * params[a011]! + w111 * params[a111]!;
      const f1 =
        w000 * params[a000 + 1]! + w100 * params[a100 + 1]! + w010 * params[a010 + 1]! + w110 * params[a110 + 1]! +
        w001 * params[a001 + 1]! + w101 * params[a101 + 1]! + w011 * params[a011 + 1]! + w111 * params[a111 + 1]!;
      const d = s * outStride + o;
      out[d] = f0;
      out[d + 1] = f1;
    }
  }
}

/**
 * grad[entry] += sum over samples of weight * dFeatures: the transpose of hashEncodeForward.
 * Positions are not differentiated (the field's input points are not trained).
 */
export function hashEncodeBackward(
  grad: Float32Array,
  levels: readonly HashLevel[],
  positions: Float32Array,
  count: number,
  dFeatures: Float32Array,
  dStride: number,
  dOffset = 0,
  levelBegin = 0,
  levelEnd = levels.length,
): void {
  for (let l = levelBegin; l < levelEnd; l++) {
    const level = levels[l]!;
    const scale = level.scale;
    const base = level.offset;
    const dense = level.dense;
    const R = level.resolution;
    const R2 = R * R;
    const mask = level.size - 1;
    const o = dOffset + 2 * l;
    for (let s = 0; s < count; s++) {
      const d = s * dStride + o;
      const g0 = dFeatures[d]!, g1 = dFeatures[d + 1]!;
      if (g0 === 0 && g1 === 0) continue;
      let x = positions[3 * s]!, y = positions[3 * s + 1]!, z = positions[3 * s + 2]!;
      x = x < 0 ? 0 : x > 1 ? 1 : x;
      y = y < 0 ? 0 : y > 1 ? 1 : y;
      z = z < 0 ? 0 : z > 1 ? 1 : z;
      const px = x * scale + 0.5, py = y * scale + 0.5, pz = z * scale + 0.5;
      const ix = Math.floor(px), iy = Math.floor(py), iz = Math.floor(pz);
      const fx = px - ix, fy = py - iy, fz = pz - iz;
      const gx = 1 - fx, gy = 1 - fy, gz = 1 - fz;
      let i000: number, i100: number, i010: number, i110: number, i001: number, i101: number, i011: number, i111: number;
      if (dense) {
        i000 = ix + iy * R + iz * R2;
        i100 = i000 + 1;
        i010 = i000 + R;
        i110 = i010 + 1;
        i001 = i000 + R2;
        i101 = i001 + 1;
        i011 = i001 + R;
        i111 = i011 + 1;
      } else {
        const y0 = Math.imul(iy, PRIME_Y), y1 = Math.imul(iy + 1, PRIME_Y);
        const z0 = Math.imul(iz, PRIME_Z), z1 = Math.imul(iz + 1, PRIME_Z);
        const x1 = ix + 1;
        i000 = (ix ^ y0 ^ z0) & mask;
        i100 = (x1 ^ y0 ^ z0) & mask;
        i010 = (ix ^ y1 ^ z0) & mask;
        i110 = (x1 ^ y1 ^ z0) & mask;
        i001 = (ix ^ y0 ^ z1) & mask;
        i101 = (x1 ^ y0 ^ z1) & mask;
        i011 = (ix ^ y1 ^ z1) & mask;
        i111 = (x1 ^ y1 ^ z1) & mask;
      }
      let w: number, a: number;
      w = gx * gy * gz; a = base + 2 * i000; grad[a] += w * g0; grad[a + 1] += w * g1;
      w = fx * gy * gz; a = base + 2 * i100; grad[a] += w * g0; grad[a + 1] += w * g1;
      w = gx * fy * gz; a = base + 2 * i010; grad[a] += w * g0; grad[a + 1] += w * g1;
      w = fx * fy * gz; a = base + 2 * i110; grad[a] += w * g0; grad[a + 1] += w * g1;
      w = gx * gy * fz; a = base + 2 * i001; grad[a] += w * g0; grad[a + 1] += w * g1;
      w = fx * gy * fz; a = base + 2 * i101; grad[a] += w * g0; grad[a + 1] += w * g1;
      w = gx * fy * fz; a = base + 2 * i011; grad[a] += w * g0; grad[a + 1] += w * g1;
      w = fx * fy * fz; a = base + 2 * i111; grad[a] += w * g0; grad[a + 1] += w * g1;
    }
  }
}
