// The shape of a radiance field: hash grid, MLP widths, scene mapping and
// render settings, and the layout of every trainable parameter in one flat
// Float32Array. Platform-neutral; the GPU kernels read the same layout.

import type { RadianceFieldConfig } from '../../engine/values';

export type FieldConfig = RadianceFieldConfig;
export type HashGridConfig = FieldConfig['hash'];
export type MlpConfig = FieldConfig['mlp'];
export type SceneMapping = FieldConfig['scene'];
export type RenderConfig = FieldConfig['render'];
export type OccupancyConfig = FieldConfig['occupancy'];

/** One level of the hash grid: its scale, whether it is dense, and where its entries live. */
export interface HashLevel {
  /** pos_grid = pos * scale + 0.5 (tcnn's convention). */
  scale: number;
  /** Vertices per axis when dense. */
  resolution: number;
  dense: boolean;
  /** Entries in the level (dense: resolution^3; hashed: 2^log2TableSize). */
  size: number;
  /** Offset of the level's first float in the parameter buffer. */
  offset: number;
}

export interface ParamLayout {
  levels: HashLevel[];
  /** Floats of the hash tables (the first part of the buffer). */
  hashCount: number;
  /** Weight matrices, row-major [out x in], no biases (as tcnn's fully fused MLPs). */
  density1: MatrixSlot;
  density2: MatrixSlot;
  /** colorLayers hidden layers then the RGB output layer. */
  color: MatrixSlot[];
  /** Width of the colour MLP's input: geoFeatures + SH coefficients. */
  colorInput: number;
  /** Width of the hash encoding: levels * featuresPerLevel. */
  encodingWidth: number;
  /** Total floats. */
  count: number;
}

export interface MatrixSlot {
  offset: number;
  rows: number;
  cols: number;
}

export const shCoefficients = (degree: number): number => degree * degree;

/** Parameter layout of a config: hash tables first, then the MLP matrices. */
export function paramLayout(config: FieldConfig): ParamLayout {
  const { hash, mlp } = config;
  const levels: HashLevel[] = [];
  const tableSize = 2 ** hash.log2TableSize;
  const growth = hash.levels > 1 ? Math.exp((Math.log(hash.maxResolution) - Math.log(hash.baseResolution)) / (hash.levels - 1)) : 1;
  let offset = 0;
  for (let l = 0; l < hash.levels; l++) {
    const scale = hash.baseResolution * growth ** l - 1;
    // floor(pos * scale + 0.5) + 1 <= ceil(scale) + 1, so ceil(scale) + 2 vertices hold every corner.
    const resolution = Math.ceil(scale) + 2;
    const denseSize = resolution ** 3;
    const dense = denseSize <= tableSize;
    const size = dense ? denseSize : tableSize;
    levels.push({ scale, resolution, dense, size, offset });
    offset += size * hash.featuresPerLevel;
  }
  const hashCount = offset;
  const encodingWidth = hash.levels * hash.featuresPerLevel;
  const slot = (rows: number, cols: number): MatrixSlot => {
    const s = { offset, rows, cols };
    offset += rows * cols;
    return s;
  };
  const density1 = slot(mlp.densityHidden, encodingWidth);
  const density2 = slot(1 + mlp.geoFeatures, mlp.densityHidden);
  const colorInput = 1 + mlp.geoFeatures + shCoefficients(mlp.shDegree);
  const color: MatrixSlot[] = [];
  let width = colorInput;
  for (let i = 0; i < mlp.colorLayers; i++) {
    color.push(slot(mlp.colorHidden, width));
    width = mlp.colorHidden;
  }
  color.push(slot(3, width));
  return { levels, hashCount, density1, density2, color, colorInput, encodingWidth, count: offset };
}

export interface FieldOptions {
  levels?: number;
  log2TableSize?: number;
  baseResolution?: number;
  maxResolution?: number;
  densityHidden?: number;
  colorHidden?: number;
  colorLayers?: number;
  marchSteps?: number;
  /** March steps when rendering (default: twice the training steps). */
  renderMarchSteps?: number;
  occupancyResolution?: number;
  occupancyDecay?: number;
}

export interface SceneDescription {
  bounds: { min: readonly number[]; max: readonly number[] };
  near: number;
  far: number;
  sceneKind: 'object' | 'forward' | 'unbounded';
  /** Typical pixel footprint in world units at the scene centre (sets the finest hash resolution). */
  pixelFootprint?: number;
}

/**
 * A config for a scene: bounded objects get a box around their bounds;
 * forward-facing and unbounded captures get the contraction, with the
 * bounds as the inner (uncontracted) region.
 */
export function configForScene(scene: SceneDescription, options: FieldOptions = {}): FieldConfig {
  const min = scene.bounds.min, max = scene.bounds.max;
  const center: [number, number, number] = [(min[0]! + max[0]!) / 2, (min[1]! + max[1]!) / 2, (min[2]! + max[2]!) / 2];
  const halfSize = Math.max(max[0]! - min[0]!, max[1]! - min[1]!, max[2]! - min[2]!) / 2;
  if (!(halfSize > 0)) throw new Error(`scene bounds are empty: min ${min.join(',')} max ${max.join(',')}`);
  const contract = scene.sceneKind !== 'object';
  // The finest level resolves about half a pixel at the scene centre (2048 at most); the march
  // step is about 1.4 pixels there (instant-ngp's 1024 steps per unit cube are for 800-pixel images).
  const extent = contract ? 4 * halfSize : 2 * halfSize;
  const footprint = scene.pixelFootprint;
  const auto = footprint ? Math.min(2048, Math.max(128, Math.round((2 * extent) / footprint))) : 1024;
  const steps = footprint ? Math.min(1024, Math.max(128, Math.round((2 * halfSize * Math.sqrt(3)) / (1.4 * footprint)))) : 512;
  return {
    version: 1,
    hash: {
      levels: options.levels ?? 12,
      featuresPerLevel: 2,
      log2TableSize: options.log2TableSize ?? 17,
      baseResolution: options.baseResolution ?? 16,
      maxResolution: options.maxResolution ?? auto,
    },
    mlp: {
      densityHidden: options.densityHidden ?? 32,
      geoFeatures: 15,
      colorHidden: options.colorHidden ?? 32,
      colorLayers: options.colorLayers ?? 1,
      shDegree: 4,
    },
    scene: { mode: contract ? 'contract' : 'box', center, halfSize },
    render: {
      near: scene.near,
      far: scene.far,
      marchSteps: options.marchSteps ?? steps,
      // Rendering marches twice as finely as training (docs/nerf.md, "Rendering step").
      renderMarchSteps: options.renderMarchSteps ?? 2 * (options.marchSteps ?? steps),
      coneAngle: contract ? 1 / 256 : 0,
      minTransmittance: 1e-4,
      background: [1, 1, 1],
    },
    occupancy: { resolution: options.occupancyResolution ?? 64, decay: options.occupancyDecay ?? 0.6, minOpticalThickness: 0.01 },
  };
}

/**
 * Batch and table size for a training budget, when the user leaves them at
 * 0 ("auto"): 2048 rays per step and 2^17 entries per level under 10
 * minutes; 4096 rays and 2^19 entries from 10 minutes. Measured on lego_200
 * (docs/nerf.md): at 90 s a larger table or batch loses 0.4-0.9 dB (fewer
 * steps); at 900 s they win 0.3 dB, where the small model has stopped
 * improving. A
 * step-limited run (maxSeconds 0) keeps the small size, so its cost per
 * step does not depend on the budget.
 */
export const LONG_BUDGET_SECONDS = 600;

export function trainingSize(maxSeconds: number, requested: { raysPerBatch?: number; log2TableSize?: number } = {}): { raysPerBatch: number; log2TableSize: number } {
  const long = maxSeconds >= LONG_BUDGET_SECONDS;
  return {
    raysPerBatch: requested.raysPerBatch || (long ? 4096 : 2048),
    log2TableSize: requested.log2TableSize || (long ? 19 : 17),
  };
}
