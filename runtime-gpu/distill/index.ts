// SAM feature distillation over a frozen radiance field (docs/distill.md).
export { cellGrid, cellRays, gridRays, EMBED_CELLS, EMBED_SIDE, type CellGrid } from './cells';
export { decodeFeatureCheckpoint, encodeFeatureCheckpoint } from './checkpoint';
export { FeatureDistillation, FeatureFieldRenderer, initFeatureParams, type DistillStats, type DistillTarget, type RenderedEmbedding } from './distiller';
export { FeatureHead, type CellBatch } from './head';
export { featureFieldConfig, featureLayout, validateFeatureConfig, type FeatureFieldOptions, type FeatureLayout } from './layout';
export { SurfaceSampler, type SurfaceSamples } from './surface';
