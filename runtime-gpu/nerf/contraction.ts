// World <-> the field's normalised cube [0, 1]^3.
//
// box:      n = (p - center) / (2 halfSize) + 1/2                  (rays clipped to the cube)
// contract: q = (p - center) / halfSize;
//           c = q                              when |q|inf <= 1
//             = (2 - 1/|q|inf) q / |q|inf      otherwise          (mip-NeRF 360, L-inf norm as nerfacto)
//           n = (c + 2) / 4                                        (all of space maps into the cube)

import type { SceneMapping } from './config';

/** Writes the normalised position of world point (x, y, z) to out[o..o+2]. */
export function worldToNormalized(mapping: SceneMapping, x: number, y: number, z: number, out: Float32Array | Float64Array, o: number): void {
  const [cx, cy, cz] = mapping.center;
  const h = mapping.halfSize;
  if (mapping.mode === 'box') {
    const s = 1 / (2 * h);
    out[o] = (x - cx) * s + 0.5;
    out[o + 1] = (y - cy) * s + 0.5;
    out[o + 2] = (z - cz) * s + 0.5;
    return;
  }
  contractInto((x - cx) / h, (y - cy) / h, (z - cz) / h, out, o);
}

/** Contraction of a point already divided by halfSize, then to [0, 1]^3. */
export function contractInto(qx: number, qy: number, qz: number, out: Float32Array | Float64Array, o: number): void {
  const m = Math.max(Math.abs(qx), Math.abs(qy), Math.abs(qz));
  if (m > 1) {
    const s = (2 - 1 / m) / m;
    qx *= s;
    qy *= s;
    qz *= s;
  }
  out[o] = (qx + 2) * 0.25;
  out[o + 1] = (qy + 2) * 0.25;
  out[o + 2] = (qz + 2) * 0.25;
}

/** Inverse of the contraction, for n in the open cube (used to place occupancy samples in world space in tests). */
export function normalizedToWorld(mapping: SceneMapping, nx: number, ny: number, nz: number): [number, number, number] {
  const [cx, cy, cz] = mapping.center;
  const h = mapping.halfSize;
  if (mapping.mode === 'box') return [cx + (nx - 0.5) * 2 * h, cy + (ny - 0.5) * 2 * h, cz + (nz - 0.5) * 2 * h];
  let x = nx * 4 - 2, y = ny * 4 - 2, z = nz * 4 - 2;
  const m = Math.max(Math.abs(x), Math.abs(y), Math.abs(z));
  if (m > 1) {
    const q = 1 / (2 - m); // |q|inf
    const s = q / m;
    x *= s;
    y *= s;
    z *= s;
  }
  return [cx + x * h, cy + y * h, cz + z * h];
}
