// The feature field's configuration defaults and the layout of its
// parameters in one flat Float32Array (docs/distill.md):
//
//   hash tables   levels x 2^log2TableSize (or dense) x 2 floats, as runtime-gpu/nerf
//   w1 [H x E], b1 [H]          per-sample hidden layer g = relu(w1 enc + b1)
//   bg [H]                      hidden vector of the background (rays that hit nothing)
//   conv1 [C x 9 x H], c1b [C]  aggregator 3x3 conv, [out][tap][in], tap = (dy + 1) * 3 + (dx + 1)
//   conv2 [H x 9 x C], c2b [H]  aggregator 3x3 conv back to H (only its mean over the patch is used)
//   wOut [K x H], bOut [K]      projection to the K = 256 SAM channels
//
// conv1 / conv2 are absent when aggChannels = 0.

import type { FeatureFieldConfig } from '../../engine/values';
import type { HashLevel } from '../nerf/config';

export const FEATURES_PER_LEVEL = 2;

export interface FeatureLayout {
  levels: HashLevel[];
  hashCount: number;
  /** Hash encoding width E = levels * 2. */
  encodingWidth: number;
  w1: number;
  b1: number;
  bg: number;
  conv1: number;
  c1b: number;
  conv2: number;
  c2b: number;
  wOut: number;
  bOut: number;
  count: number;
}

export interface FeatureFieldOptions {
  levels?: number;
  log2TableSize?: number;
  baseResolution?: number;
  maxResolution?: number;
  hidden?: number;
  patch?: number;
  /** Channels of the aggregator's first convolution; 0 turns neighbour aggregation off. */
  aggChannels?: number;
  topK?: number;
  power?: number;
  minWeight?: number;
  /** Surface placement of the patch rays (docs/distill.md); default 'centres'. */
  placement?: 'march' | 'centres';
}

/** Defaults: the original's surface rule (top 16 weights, power 10); smaller grids and widths than its 2 x 12 levels and 256 hidden, for the CPU. */
export function featureFieldConfig(options: FeatureFieldOptions = {}): FeatureFieldConfig {
  const config: FeatureFieldConfig = {
    version: 1,
    hash: {
      levels: options.levels ?? 16,
      log2TableSize: options.log2TableSize ?? 17,
      baseResolution: options.baseResolution ?? 16,
      maxResolution: options.maxResolution ?? 512,
    },
    hidden: options.hidden ?? 64,
    channels: 256,
    patch: options.patch ?? 4,
    aggChannels: options.aggChannels ?? 32,
    surface: { topK: options.topK ?? 16, power: options.power ?? 10, minWeight: options.minWeight ?? 1e-3, placement: options.placement ?? 'centres' },
  };
  validateFeatureConfig(config);
  return config;
}

export function validateFeatureConfig(config: FeatureFieldConfig): void {
  const int = (v: number, min: number, name: string, max = Infinity) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`feature field ${name} must be an integer in [${min}, ${max}], got ${v}`);
  };
  int(config.hash.levels, 1, 'hash.levels', 32);
  int(config.hash.log2TableSize, 8, 'hash.log2TableSize', 24);
  int(config.hidden, 1, 'hidden', 1024);
  int(config.channels, 1, 'channels', 4096);
  int(config.patch, 1, 'patch', 16);
  int(config.aggChannels, 0, 'aggChannels', 1024);
  int(config.surface.topK, 1, 'surface.topK', 1024);
  const placement = config.surface.placement ?? 'march';
  if (placement !== 'march' && placement !== 'centres') throw new RangeError(`feature field surface.placement must be 'march' or 'centres', got ${String(placement)}`);
  if (!(config.surface.power > 0)) throw new RangeError(`surface.power must be positive, got ${config.surface.power}`);
  if (!(config.hash.baseResolution >= 2 && config.hash.maxResolution >= config.hash.baseResolution))
    throw new RangeError(`hash resolutions must satisfy 2 <= base <= max, got ${config.hash.baseResolution}..${config.hash.maxResolution}`);
}

/** Same level rule as runtime-gpu/nerf/config.ts (tcnn's scale, dense when the level fits the table). */
export function featureLayout(config: FeatureFieldConfig): FeatureLayout {
  const { hash } = config;
  const tableSize = 2 ** hash.log2TableSize;
  const growth = hash.levels > 1 ? Math.exp((Math.log(hash.maxResolution) - Math.log(hash.baseResolution)) / (hash.levels - 1)) : 1;
  const levels: HashLevel[] = [];
  let offset = 0;
  for (let l = 0; l < hash.levels; l++) {
    const scale = hash.baseResolution * growth ** l - 1;
    const resolution = Math.ceil(scale) + 2;
    const denseSize = resolution ** 3;
    const dense = denseSize <= tableSize;
    const size = dense ? denseSize : tableSize;
    levels.push({ scale, resolution, dense, size, offset });
    offset += size * FEATURES_PER_LEVEL;
  }
  const hashCount = offset;
  const E = hash.levels * FEATURES_PER_LEVEL;
  const H = config.hidden, C = config.aggChannels, K = config.channels;
  const take = (n: number) => {
    const o = offset;
    offset += n;
    return o;
  };
  const w1 = take(H * E), b1 = take(H), bg = take(H);
  const conv1 = take(C * 9 * H), c1b = take(C), conv2 = take(H * 9 * C), c2b = take(C > 0 ? H : 0);
  const wOut = take(K * H), bOut = take(K);
  return { levels, hashCount, encodingWidth: E, w1, b1, bg, conv1, c1b, conv2, c2b, wOut, bOut, count: offset };
}
