// Synthetic distillation targets for tests and GPU checks without SAM
// models (test/distill/distill.test.ts, test/gpu/feature-distill-checks.ts).
// Browser-safe (no Node imports).

import type { View } from '../../engine/values';
import { cellGrid, EMBED_CELLS, EMBED_SIDE } from '../../runtime-gpu/distill/cells';
import type { DistillTarget } from '../../runtime-gpu/distill/distiller';

/** A synthetic "embedding": per cell, 256 channels that are smooth functions of the instance id seen at the cell. */
export function syntheticTarget(view: View): DistillTarget {
  const K = 256, emb = new Float32Array(K * EMBED_CELLS);
  const grid = cellGrid(view.camera.width, view.camera.height);
  for (let y = 0; y < grid.rows; y++)
    for (let x = 0; x < grid.cols; x++) {
      const u = Math.min(view.camera.width - 1, Math.floor(((x + 0.5) * view.camera.width) / grid.cols));
      const v = Math.min(view.camera.height - 1, Math.floor(((y + 0.5) * view.camera.height) / grid.rows));
      const id = view.instances![v * view.camera.width + u]!;
      for (let k = 0; k < K; k++) emb[k * EMBED_CELLS + y * EMBED_SIDE + x] = 0.1 * Math.sin(0.7 * k * (id + 1)) + 0.02 * Math.cos(k);
    }
  return { name: view.name, camera: view.camera, embedding: emb };
}
