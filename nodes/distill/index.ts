// SAM feature distillation nodes' shared parts (docs/distill.md).
export { featureRenderer, renderedEmbedding } from './embedding';
export { FeatureRenderer } from './feature-renderer';
export { targetEmbedding, TARGET_ENCODED_LOG } from './targets';
export { clipSegRenderer, clipSegTarget, loadClipSegParts, renderClipSegHeatmaps } from './clipseg';
export { ClipSegRenderer } from './clipseg-renderer';
export { PatchAggregator, patchAggregation, checkPatchAggregation, describePatchAggregation } from './patch-aggregator';

import { FeatureDistiller } from '../feature-distiller';
import { FeatureRenderer as FeatureRendererNode } from './feature-renderer';
import { ClipSegRenderer as ClipSegRendererNode } from './clipseg-renderer';
import { PatchAggregator as PatchAggregatorNode } from './patch-aggregator';

/** The distillation nodes, registered by nodes/index.ts. */
export const DISTILL_NODES = [PatchAggregatorNode, FeatureDistiller, FeatureRendererNode, ClipSegRendererNode];
