// The 3D segmentation nodes without distillation (docs/lock3d.md), as one
// list for the registry.

import type { NodeDefinition } from '../../engine';
import { LiftPrompts } from '../lift-prompts';
import { MaskFusion } from '../mask-fusion';
import { MaskRenderer3D } from '../mask-renderer-3d';
import { MultiViewSam } from '../multi-view-sam';

export const LOCK3D_NODES: NodeDefinition[] = [LiftPrompts, MultiViewSam, MaskFusion, MaskRenderer3D];
