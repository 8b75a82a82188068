// Solid (3D) procedural textures, evaluated at a surface point in the
// object's local frame: no UV maps, and every view sees the same colour at
// the same point, which is what multi-view reconstruction needs.

export type Rgb = [number, number, number];

export type Texture =
  | { kind: 'checker'; scale: number; a: Rgb; b: Rgb }
  | { kind: 'stripes'; scale: number; axis: [number, number, number]; a: Rgb; b: Rgb }
  | { kind: 'noise'; scale: number; a: Rgb; b: Rgb; seed: number };

export type TextureKind = Texture['kind'];

/** Albedo in [0, 1] per channel at local point (x, y, z). */
export function albedo(t: Texture, x: number, y: number, z: number, out: Rgb): Rgb {
  let w: number;
  switch (t.kind) {
    case 'checker':
      // A tiny offset keeps faces that lie exactly on a cell boundary from flickering between colours.
      w = (Math.floor(x * t.scale + 1e-4) + Math.floor(y * t.scale + 1e-4) + Math.floor(z * t.scale + 1e-4)) & 1;
      break;
    case 'stripes': {
      const s = (x * t.axis[0] + y * t.axis[1] + z * t.axis[2]) * t.scale;
      w = s - Math.floor(s) < 0.5 ? 0 : 1;
      break;
    }
    case 'noise':
      w = fbm(x * t.scale, y * t.scale, z * t.scale, t.seed);
      break;
  }
  for (let i = 0; i < 3; i++) out[i] = t.a[i]! + (t.b[i]! - t.a[i]!) * w;
  return out;
}

/** Three octaves of value noise, in [0, 1]. */
function fbm(x: number, y: number, z: number, seed: number): number {
  let sum = 0, amp = 0.5, norm = 0;
  for (let o = 0; o < 3; o++) {
    sum += amp * valueNoise(x, y, z, seed + o * 101);
    norm += amp;
    x *= 2.03; y *= 2.03; z *= 2.03;
    amp *= 0.5;
  }
  // Stretch the middle of the distribution so both colours show.
  return Math.min(1, Math.max(0, (sum / norm - 0.5) * 1.8 + 0.5));
}

function valueNoise(x: number, y: number, z: number, seed: number): number {
  const xi = Math.floor(x), yi = Math.floor(y), zi = Math.floor(z);
  const fx = smooth(x - xi), fy = smooth(y - yi), fz = smooth(z - zi);
  let v = 0;
  for (let c = 0; c < 8; c++) {
    const dx = c & 1, dy = (c >> 1) & 1, dz = (c >> 2) & 1;
    const w = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * (dz ? fz : 1 - fz);
    v += w * lattice(xi + dx, yi + dy, zi + dz, seed);
  }
  return v;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** A hash of integer lattice coordinates to [0, 1). */
function lattice(x: number, y: number, z: number, seed: number): number {
  let h = Math.imul(x, 0x8da6b343) ^ Math.imul(y, 0xd8163841) ^ Math.imul(z, 0xcb1ab31f) ^ Math.imul(seed, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}
