// GpuNerf under the CPU trainer's loop (runtime-gpu/nerf/trainer.ts).
// trainNerf and evaluateViews are typed against the Nerf class but use only
// trainStep, updateOccupancy, renderCamera and grid.occupiedCount, which
// GpuNerf implements with the same signatures; the class's private members
// make TypeScript refuse the structural match, hence this one checked cast.
// (A `TrainableField` interface in trainer.ts would remove it.)

import type { Nerf } from '../nerf/nerf';
import type { GpuNerf } from './gpu-nerf';

type TrainerSurface = Pick<Nerf, 'trainStep' | 'updateOccupancy' | 'renderCamera'> & { grid: Pick<Nerf['grid'], 'occupiedCount'> };

export function asTrainable(nerf: GpuNerf): Nerf {
  const surface: TrainerSurface = nerf;
  return surface as Nerf;
}
