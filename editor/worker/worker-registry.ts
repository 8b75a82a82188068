// The node types the editor offers: every node samnerf ships. The end-to-end
// test's build (mode "e2e") adds its small demo nodes; that branch is
// dropped from every other build.

import type { NodeRegistry } from '../../engine';
import { createNodeRegistry } from '../../nodes';

export async function createWorkerRegistry(): Promise<NodeRegistry> {
  const registry = createNodeRegistry();
  if (import.meta.env.MODE === 'e2e') {
    const { registerDemoNodes } = await import('../../test/e2e/demo-nodes');
    registerDemoNodes(registry);
  }
  return registry;
}
