// The NeRF nodes, registered together in nodes/index.ts.
import type { NodeDefinition } from '../engine';
import { NeRFTrainer } from './nerf-trainer';
import { ViewRenderer } from './view-renderer';

export const NERF_NODES: NodeDefinition[] = [NeRFTrainer, ViewRenderer];
