// Every node type samnerf ships, as one registry plugin, so the CLI, the
// editor's palette and tests all see the same list.

import { NodeRegistry, type NodeDefinition, type RegistryPlugin } from '../engine';
import { ClipSegEncoder } from './clipseg-encoder';
import { DISTILL_NODES } from './distill';
import { ImageLoader } from './image-loader';
import { LOCK3D_NODES } from './lock3d';
import { MaskRenderer } from './mask-renderer';
import { NERF_NODES } from './nerf';
import { PromptToPoints } from './prompt-to-points';
import { SamDecoder } from './sam-decoder';
import { SamEncoder } from './sam-encoder';

export const NODE_DEFINITIONS: NodeDefinition[] = [ImageLoader, ClipSegEncoder, PromptToPoints, SamEncoder, SamDecoder, MaskRenderer, ...LOCK3D_NODES, ...NERF_NODES, ...DISTILL_NODES];

export const samnerfNodes: RegistryPlugin = (registry) => {
  registry.register(...NODE_DEFINITIONS);
};

export function createNodeRegistry(): NodeRegistry {
  return new NodeRegistry().use(samnerfNodes);
}
