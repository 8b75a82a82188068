// The set of node types a host knows. Plugins are functions that register
// definitions, so hosts compose exactly the nodes they can run.

import { describeNode, type NodeDefinition, type NodeDescription } from './definition';

export type RegistryPlugin = (registry: NodeRegistry) => void;

export class NodeRegistry {
  private readonly definitions = new Map<string, NodeDefinition>();

  register(...definitions: NodeDefinition[]): this {
    for (const d of definitions) {
      if (this.definitions.has(d.type)) throw new Error(`node type ${d.type} is registered twice`);
      this.definitions.set(d.type, d);
    }
    return this;
  }

  use(plugin: RegistryPlugin): this {
    plugin(this);
    return this;
  }

  get(type: string): NodeDefinition | undefined {
    return this.definitions.get(type);
  }

  has(type: string): boolean {
    return this.definitions.has(type);
  }

  types(): string[] {
    return [...this.definitions.keys()].sort();
  }

  all(): NodeDefinition[] {
    return this.types().map((t) => this.definitions.get(t)!);
  }

  describe(): NodeDescription[] {
    return this.all().map(describeNode);
  }
}
