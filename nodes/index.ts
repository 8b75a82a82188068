// Every node type samnerf ships, as one registry plugin, so the CLI, the
// editor's palette and tests all see the same list.

import { NodeRegistry, type NodeDefinition, type RegistryPlugin } from '../engine';

export const NODE_DEFINITIONS: NodeDefinition[] = [];

export const samnerfNodes: RegistryPlugin = (registry) => {
  registry.register(...NODE_DEFINITIONS);
};

export function createNodeRegistry(): NodeRegistry {
  return new NodeRegistry().use(samnerfNodes);
}
