// The Rete classes the canvas is made of. A node keeps its params, run
// state, validation errors and preview in Svelte state, so the node
// component redraws on its own when any of them changes; Rete only moves
// nodes and draws wires.

import { ClassicPreset, type GetSchemes } from 'rete';
import type { GraphError, GraphNodeJson, NodeDescription, PortType } from '../../engine';
import type { NodeRunState } from '../run-status';
import type { NodeActions } from './node-actions';
import { socketColor } from '../socket-rules';

export class TypedSocket extends ClassicPreset.Socket {
  constructor(readonly portType: PortType) {
    super(portType);
  }
}

export interface PreviewView {
  url: string;
  kind: 'Image' | 'Mask' | 'Heatmap';
  width: number;
  height: number;
  maskArea?: number;
  score?: number;
  version: number;
}

export class NodeView extends ClassicPreset.Node<
  Record<string, ClassicPreset.Socket>,
  Record<string, ClassicPreset.Socket>,
  Record<string, never>
> {
  width = 280;
  height = 160;
  override selected = $state(false);
  params = $state<Record<string, unknown>>({});
  run = $state<NodeRunState>({ status: 'idle' });
  errors = $state<GraphError[]>([]);
  preview = $state<PreviewView | undefined>(undefined);
  readonly description: NodeDescription;
  /** The node entry it was loaded from, for what the editor does not show. */
  source?: GraphNodeJson;
  readonly actions: NodeActions;

  constructor(id: string, description: NodeDescription, actions: NodeActions, params: Record<string, unknown> = {}, source?: GraphNodeJson) {
    super(description.type);
    this.id = id;
    this.description = description;
    this.actions = actions;
    this.params = params;
    this.source = source;
    for (const [name, spec] of Object.entries(description.inputs)) {
      this.addInput(name, new ClassicPreset.Input(new TypedSocket(spec.type), `${name}${spec.optional ? '?' : ''}`));
    }
    for (const [name, spec] of Object.entries(description.outputs)) {
      this.addOutput(name, new ClassicPreset.Output(new TypedSocket(spec.type), name));
    }
  }
}

export class Wire extends ClassicPreset.Connection<NodeView, NodeView> {
  /** The colour of the type it carries. */
  color: string;
  /** The edge entry it was loaded from, for unknown keys. */
  sourceJson?: Record<string, unknown> & { from: string; to: string };

  constructor(source: NodeView, sourceOutput: string, target: NodeView, targetInput: string) {
    super(source, sourceOutput, target, targetInput);
    const type = source.description.outputs[sourceOutput]?.type;
    this.color = type ? socketColor(type) : '#999';
  }
}

export type Schemes = GetSchemes<NodeView, Wire>;
