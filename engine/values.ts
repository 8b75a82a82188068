// Shapes of the values that flow along typed edges. Plain data only (typed
// arrays plus small headers), so they cross a Web Worker boundary by
// structured clone and the engine can freeze their headers.

/** An 8-bit RGB photo, row-major, interleaved (data.length = width*height*3). */
export interface ImageValue {
  kind: 'Image';
  width: number;
  height: number;
  data: Uint8Array;
  /** Where the pixels came from (file path or view name), for messages and file names. */
  name: string;
}

/** A binary mask, one byte per pixel: 1 = object, 0 = background. */
export interface MaskValue {
  kind: 'Mask';
  width: number;
  height: number;
  data: Uint8Array;
  /** Optional per-pixel logits (object where > 0) at the same size. */
  logits?: Float32Array;
  /** Predicted IoU of the mask, when a model gave one. */
  score?: number;
  /** SAM's 256x256 low-resolution logits, to feed back as a decoder's mask input. */
  lowResLogits?: Float32Array;
}

/** A heat map in [0, 1], one float per pixel (e.g. ClipSeg's sigmoid output). */
export interface HeatmapValue {
  kind: 'Heatmap';
  width: number;
  height: number;
  data: Float32Array;
  /** The text or source the map answers, for overlays and messages. */
  label?: string;
}

export interface PromptPoint {
  x: number;
  y: number;
  /** 1 = foreground, 0 = background. */
  label: 0 | 1;
}

export interface PromptBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Prompts in pixel coordinates of an image of the given size. */
export interface PointsValue {
  kind: 'Points';
  width: number;
  height: number;
  points: PromptPoint[];
  box?: PromptBox;
}

/** How an image was mapped into SAM's 1024x1024 input frame. */
export interface SamTransform {
  originalHeight: number;
  originalWidth: number;
  resizedHeight: number;
  resizedWidth: number;
  /** Side of the padded square input (1024 for SAM). */
  inputSize: number;
}

/** A SAM image embedding [1, 256, 64, 64] with the transform that made it. */
export interface SamEmbeddingValue {
  kind: 'SamEmbedding';
  dims: [number, number, number, number];
  data: Float32Array;
  transform: SamTransform;
  /** Model id that produced it; a decoder refuses embeddings of another family. */
  model: string;
  /** The image it was computed from, for overlays downstream. */
  image?: ImageValue;
}

/**
 * A pinhole camera. Convention (documented in docs/cameras.md): OpenGL /
 * Blender / NeRF-synthetic — the camera looks down its local -Z axis, +X is
 * right, +Y is up; pixel (u, v) has v growing downwards, and pixel centres
 * are at (u + 0.5, v + 0.5). A ray through pixel centre (u, v) has the
 * camera-space direction ((u + 0.5 - cx) / fx, -(v + 0.5 - cy) / fy, -1).
 */
export interface Camera {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** Camera-to-world, 4x4 row-major (16 numbers); the last row is 0 0 0 1. */
  cameraToWorld: readonly number[];
  /** OpenCV radial-tangential distortion, when the dataset gives it. */
  distortion?: { k1: number; k2: number; p1: number; p2: number };
}

export type ViewSplit = 'train' | 'val' | 'test';

export interface View {
  /** Image path relative to the dataset folder without the extension, e.g. "train/r_0". */
  name: string;
  split: ViewSplit;
  image: ImageValue;
  camera: Camera;
  /** Straight alpha per pixel (0-255), when the images had it. */
  alpha?: Uint8Array;
  /** Ground-truth depth along the camera's -Z axis (metres / scene units), when the dataset has it; 0 = none. */
  depth?: Float32Array;
  /** Ground-truth instance ids per pixel (0 = background), when the dataset has them. */
  instances?: Uint16Array;
}

/** Posed images of one scene. */
export interface ViewsValue {
  kind: 'Views';
  views: View[];
  /** Axis-aligned box holding the scene's content, in world units. */
  bounds: { min: [number, number, number]; max: [number, number, number] };
  /** Ray range in world units. */
  near: number;
  far: number;
  /** 'object': bounded 360° capture; 'forward': LLFF-style; 'unbounded': 360° real capture needing contraction. */
  sceneKind: 'object' | 'forward' | 'unbounded';
  /** Dataset folder and format, for messages. */
  source: string;
  format: 'blender' | 'nerfstudio' | 'llff' | 'images';
}

/**
 * Configuration of a radiance field (instant-ngp style: multiresolution hash
 * grid, density MLP, colour MLP with a spherical-harmonics direction
 * encoding, occupancy grid). Plain JSON; runtime-gpu/nerf/config.ts derives
 * the parameter layout from it. See docs/nerf.md.
 */
export interface RadianceFieldConfig {
  version: 1;
  hash: {
    levels: number;
    featuresPerLevel: number;
    log2TableSize: number;
    baseResolution: number;
    maxResolution: number;
  };
  mlp: {
    densityHidden: number;
    /** Density-MLP outputs beyond the log-density that feed the colour MLP. */
    geoFeatures: number;
    colorHidden: number;
    colorLayers: number;
    shDegree: number;
  };
  /** 'box': the cube center +- halfSize maps to [0,1]^3. 'contract': mip-NeRF 360 contraction (L-inf) of (p - center) / halfSize. */
  scene: { mode: 'box' | 'contract'; center: [number, number, number]; halfSize: number };
  render: {
    near: number;
    far: number;
    marchSteps: number;
    /**
     * March steps per box diagonal when rendering (views, depth, evaluation);
     * absent = marchSteps. A finer step than training's lowers the quadrature
     * error of the rendered images (docs/nerf.md).
     */
    renderMarchSteps?: number;
    coneAngle: number;
    minTransmittance: number;
    /** 0-1 RGB behind the field. */
    background: [number, number, number];
  };
  occupancy: { resolution: number; decay: number; minOpticalThickness: number };
}

/**
 * A trained NeRF. Plain data (structured-clonable to a Web Worker, written
 * to checkpoints as is); the code that renders it lives in runtime-gpu/nerf.
 */
export interface RadianceFieldValue {
  kind: 'RadianceField';
  config: RadianceFieldConfig;
  /** Every trainable parameter in one float32 buffer: hash tables, then MLP weights (layout in docs/nerf.md). */
  params: Float32Array;
  /** Occupancy grid over the normalised cube, resolution^3 cells, x fastest: decayed max density and 1 = occupied. */
  occupancy: { resolution: number; density: Float32Array; occupied: Uint8Array };
  /** The scene's content box (world units), from the views it was trained on. */
  bounds: { min: [number, number, number]; max: [number, number, number] };
  /** How it came to be, for messages and metrics. */
  provenance: { steps: number; seconds: number; seed: number; source: string; psnrTest?: number };
}

/**
 * Prompt points lifted to 3D (LiftPrompts, docs/lock3d.md): one world point
 * per click at the rendered depth of its pixel, grouped into objects.
 */
export interface Prompts3DValue {
  kind: 'Prompts3D';
  /** World positions, 3 floats per point. */
  positions: Float32Array;
  /** Per point: 1 = foreground, 0 = background. */
  labels: Uint8Array;
  /** Per point: index into `objects`. */
  object: Uint16Array;
  /** Per point: the click it was lifted from (view name, pixel coordinates, planar depth). */
  sources: Array<{ view: string; x: number; y: number; depth: number }>;
  /** The labelled objects (prompt groups), in order; `view` is where the object was clicked. */
  objects: Array<{ id: number; name: string; view: string }>;
  /** Clicks that could not be lifted (no surface under them) and why. */
  rejected: Array<{ view: string; x: number; y: number; object: number; reason: string }>;
  /** Where depth came from: a rendered radiance field, or the dataset's ground-truth depth maps. */
  depthSource: 'field' | 'dataset';
}

/** What happened to one object in one view (MultiViewSam, MaskFusion, MaskRenderer3D). */
export interface ViewObjectMask {
  /**
   * segmented: SAM gave a mask; no-visible-point: every re-projected point was
   * hidden, off-frame or off-surface; accepted / rejected: a fusion
   * candidate kept or dropped by its IoU with the rendered 3D mask;
   * rendered: the 3D mask rendered into the view; not-visible: the 3D mask
   * covers no pixel of the view.
   */
  status: 'segmented' | 'no-visible-point' | 'accepted' | 'rejected' | 'rendered' | 'not-visible';
  /** Binary mask (1 = object), width*height; absent when there is none. */
  mask?: Uint8Array;
  /** Prompts sent to SAM in this view (pixel coordinates). */
  points: PromptPoint[];
  /** Re-projected points dropped, by reason (hidden, outside, behind, off-surface). */
  dropped?: Record<string, number>;
  /** SAM's predicted IoU. */
  score?: number;
  /** IoU with the rendered 3D mask (fusion) or with ground truth (renderer). */
  iou?: number;
  area: number;
}

/** One mask per view (by name) per object: SAM masks of a locked object, or the 3D mask rendered. */
export interface ViewMasksValue {
  kind: 'ViewMasks';
  objects: Array<{ id: number; name: string }>;
  views: Array<{ view: string; width: number; height: number; objects: ViewObjectMask[] }>;
  /** SAM embeddings by view name (MultiViewSam), so fusion can prompt SAM again without re-encoding. */
  embeddings?: Record<string, SamEmbeddingValue>;
  /** The decoder that made the masks (model id or file), for fusion's self-prompting. */
  decoder?: { id: string; path?: string };
}

/**
 * A 3D object mask (MaskFusion, docs/lock3d.md): logits on the nodes of a
 * regular grid, stored sparsely over the occupied space (the nodes around
 * observed surfaces). The mask at a point is the trilinear interpolation of
 * its cell's node logits over the nodes present; object where > 0.
 */
export interface MaskFieldValue {
  kind: 'MaskField';
  /** Node (i, j, k) sits at origin + voxelSize * (i, j, k); linear index i + dims[0] * (j + dims[1] * k). */
  grid: { origin: [number, number, number]; voxelSize: number; dims: [number, number, number] };
  /** Linear indices of the nodes stored, ascending. */
  nodes: Uint32Array;
  /** Per object, per node: logits[o * nodes.length + n]. */
  logits: Float32Array;
  /** Per object, per node: summed interpolation weight of the supervising pixels (0 = never observed). */
  evidence: Float32Array;
  /** The labelled objects with the views whose SAM masks were fused. */
  objects: Array<{ id: number; name: string; color: [number, number, number]; views: string[]; rejected: string[] }>;
  depthSource: 'field' | 'dataset';
}

/**
 * Patch rendering and neighbour aggregation settings for FeatureDistiller
 * (PatchAggregator, docs/distill.md): each embedding cell is rendered as
 * patch x patch rays; aggChannels > 0 = 3x3 convolutions (hidden ->
 * aggChannels -> hidden) then the patch mean, 0 = the plain patch mean.
 * Becomes FeatureFieldConfig.patch / aggChannels.
 */
export interface PatchAggregationValue {
  kind: 'PatchAggregation';
  /** Rays per embedding cell side (1-8), the same in training and rendering. */
  patch: number;
  /** Channels of the aggregator's convolution; 0 = no convolutions (plain patch mean). */
  aggChannels: number;
}

/**
 * Configuration of a distilled SAM feature field (FeatureDistiller,
 * docs/distill.md): a hash grid over the radiance field's normalised cube,
 * one hidden layer rendered along rays, the patch aggregator, and the output
 * projection to SAM's 256 channels. Plain JSON.
 */
export interface FeatureFieldConfig {
  version: 1;
  hash: { levels: number; log2TableSize: number; baseResolution: number; maxResolution: number };
  /** Width of the per-sample hidden layer (rendered along each ray). */
  hidden: number;
  /** Output channels (256 for SAM). */
  channels: number;
  /** Rays per cell side: each embedding cell is rendered as patch x patch rays spread evenly over the cell. */
  patch: number;
  /** Neighbour aggregation: 3x3 conv (hidden -> aggChannels), ReLU, 3x3 conv (-> hidden), mean over the patch, added to the patch mean. 0 = off. */
  aggChannels: number;
  /** Surface weights: the `topK` largest sample weights of a ray, raised to `power`, renormalised; samples below `minWeight` of the total are dropped. */
  surface: {
    topK: number;
    power: number;
    minWeight: number;
    /** 'centres' (default for new fields): march each cell's centre ray, place the patch's rays by interpolating the centres' depth where the surface is smooth, march the patch only at silhouettes and creases; one point per ray. Absent or 'march': march every ray, keep its sharpened samples. */
    placement?: 'march' | 'centres';
  };
}

/**
 * A trained SAM feature field over a frozen radiance field's geometry. The
 * geometry (density, occupancy) is the radiance field's, carried along so
 * the value renders on its own.
 */
export interface FeatureFieldValue {
  kind: 'FeatureField';
  config: FeatureFieldConfig;
  /** Every trainable parameter (hash tables, then dense weights; layout in runtime-gpu/distill/layout.ts). */
  params: Float32Array;
  /** The radiance field whose geometry the features live on (not modified by distillation). */
  geometry: RadianceFieldValue;
  /** SAM embedding of padding cells (256 x 64 x 64, channel-major) averaged over training views, with 1 where a training view had padding; null when no training view was padded. */
  padding: { embedding: Float32Array; observed: Uint8Array } | null;
  /** Per-cell prior added to the rendered features (256 x 64 x 64, channel-major): the mean target at each grid position over the training views (SAM embeddings carry an image-position component that no 3D field can hold); null = off. */
  prior: Float32Array | null;
  /** The encoder whose embeddings were distilled (a decoder must be of the same family). */
  model: string;
  provenance: { steps: number; seconds: number; seed: number; views: string[]; finalLoss: number };
  /**
   * View-dependent rendering (docs/distill.md): the training views' embeddings (V x 64 x 64 x 256, cell-major: each cell's vector contiguous) and
   * planar depth at their cell centres (V x 64 x 64, 0 = no surface). A rendered cell whose surface point
   * some training views see takes their embeddings' residual at its reprojection, weighted by
   * exp(sharpness (cos angle between viewing directions)), over the `maxViews` best; absent/null = the field alone.
   */
  viewBank?: {
    cameras: Camera[];
    embeddings: Float32Array;
    depth: Float32Array;
    sharpness: number;
    maxViews: number;
    depthTolerance: number;
    /** Cells whose ray misses: blend the bank views that also see background there, reprojecting the ray's point on the plane through `centre` facing the camera. Absent = off. */
    background?: { centre: [number, number, number] };
  } | null;
  /** Optional second head: ClipSeg's reduced activations, so text prompts work on rendered features (docs/distill.md, "ClipSeg head"); absent/null = none. */
  clipseg?: ClipSegHeadValue | null;
}

/**
 * A distilled ClipSeg head on the same geometry as its FeatureField: renders
 * ClipSeg's reduced activations (decoder reduces.0/1/2, `reduce` channels
 * each) on the side x side token grid of the inputSize x inputSize input
 * (non-aspect-preserving resize), for the rest of ClipSeg's decoder.
 */
export interface ClipSegHeadValue {
  /** The head's configuration; channels = layers x reduce. */
  config: FeatureFieldConfig;
  params: Float32Array;
  /** Token grid side (22) and model input side (352): each cell covers inputSize / side = 16 input pixels. */
  side: number;
  inputSize: number;
  /** Channels per reduced activation (64 for rd64) and how many (3). */
  reduce: number;
  layers: number;
  /** The tensors the ClipSeg graph was cut at (decoder inputs), in reduces.0, 1, 2 order. */
  cut: string[];
  /** Per-cell prior added to the rendered tokens (side^2 x channels, cell-major): the mean target per grid position; null = off. */
  prior: Float32Array | null;
  /** The training views' CLS tokens (V x channels) and cameras: a render takes the CLS of the view nearest in viewing direction. */
  cls: { cameras: Camera[]; tokens: Float32Array };
  /** The ClipSeg model distilled (registered id, and the user's file when one was given). */
  model: { id: string; path?: string };
  provenance: { steps: number; seconds: number; seed: number; views: string[]; finalLoss: number };
}
