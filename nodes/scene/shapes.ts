// The generator's primitives in their local frame (centred on their bounding
// box, axis +Z): ray intersection, exact signed distance (the ground-truth
// tests check that depth lands on the surface) and the surface normal.
// Rays are (o, d) with |d| = 1; an intersection returns t > 0 or Infinity.

export type Shape =
  | { kind: 'sphere'; radius: number }
  | { kind: 'box'; half: [number, number, number] }
  | { kind: 'cylinder'; radius: number; halfHeight: number }
  /** Base disc of `radius` at z = -halfHeight, apex at z = +halfHeight. */
  | { kind: 'cone'; radius: number; halfHeight: number }
  /** Lying flat: the ring of `major` radius in the XY plane, tube of `minor` radius. */
  | { kind: 'torus'; major: number; minor: number };

export type ShapeKind = Shape['kind'];

const EPS = 1e-9;

/** Half extents of the shape's bounding box. */
export function halfExtents(s: Shape): [number, number, number] {
  switch (s.kind) {
    case 'sphere': return [s.radius, s.radius, s.radius];
    case 'box': return [...s.half];
    case 'cylinder':
    case 'cone': return [s.radius, s.radius, s.halfHeight];
    case 'torus': return [s.major + s.minor, s.major + s.minor, s.minor];
  }
}

/** Smallest root > EPS of a t² + b t + c, or Infinity. */
function smallestRoot(a: number, b: number, c: number, accept: (t: number) => boolean): number {
  if (Math.abs(a) < 1e-14) {
    if (Math.abs(b) < 1e-14) return Infinity;
    const t = -c / b;
    return t > EPS && accept(t) ? t : Infinity;
  }
  const disc = b * b - 4 * a * c;
  if (disc < 0) return Infinity;
  const sq = Math.sqrt(disc);
  // Numerically stable pair of roots.
  const q = -0.5 * (b + (b >= 0 ? sq : -sq));
  let t0 = q / a;
  let t1 = q !== 0 ? c / q : t0;
  if (t0 > t1) [t0, t1] = [t1, t0];
  if (t0 > EPS && accept(t0)) return t0;
  if (t1 > EPS && accept(t1)) return t1;
  return Infinity;
}

export function intersect(s: Shape, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number): number {
  switch (s.kind) {
    case 'sphere':
      return smallestRoot(1, 2 * (ox * dx + oy * dy + oz * dz), ox * ox + oy * oy + oz * oz - s.radius * s.radius, () => true);
    case 'box': {
      let tn = -Infinity, tf = Infinity;
      const o = [ox, oy, oz], d = [dx, dy, dz];
      for (let i = 0; i < 3; i++) {
        const h = s.half[i]!;
        if (Math.abs(d[i]!) < 1e-15) {
          if (Math.abs(o[i]!) > h) return Infinity;
          continue;
        }
        let a = (-h - o[i]!) / d[i]!, b = (h - o[i]!) / d[i]!;
        if (a > b) [a, b] = [b, a];
        tn = Math.max(tn, a);
        tf = Math.min(tf, b);
      }
      if (tn > tf) return Infinity;
      return tn > EPS ? tn : tf > EPS ? tf : Infinity;
    }
    case 'cylinder': {
      const { radius: r, halfHeight: h } = s;
      let best = smallestRoot(dx * dx + dy * dy, 2 * (ox * dx + oy * dy), ox * ox + oy * oy - r * r, (t) => Math.abs(oz + t * dz) <= h);
      for (const z of [-h, h]) best = Math.min(best, disc(z, r, ox, oy, oz, dx, dy, dz));
      return best;
    }
    case 'cone': {
      const { radius: r, halfHeight: hh } = s;
      const h = 2 * hh, k2 = (r / h) * (r / h), w = hh - oz; // w: height of the apex above the origin
      const side = smallestRoot(dx * dx + dy * dy - k2 * dz * dz, 2 * (ox * dx + oy * dy + k2 * w * dz), ox * ox + oy * oy - k2 * w * w, (t) => Math.abs(oz + t * dz) <= hh);
      return Math.min(side, disc(-hh, r, ox, oy, oz, dx, dy, dz));
    }
    case 'torus': {
      // Sphere tracing on the exact distance, inside the bounding sphere; never overshoots the first hit.
      const bound = s.major + s.minor;
      const b = ox * dx + oy * dy + oz * dz;
      const c = ox * ox + oy * oy + oz * oz - bound * bound;
      const dd = b * b - c;
      if (dd < 0) return Infinity;
      const exit = -b + Math.sqrt(dd);
      let t = Math.max(-b - Math.sqrt(dd), 0);
      for (let i = 0; i < 256 && t <= exit; i++) {
        const dist = sdf(s, ox + t * dx, oy + t * dy, oz + t * dz);
        if (dist < 1e-7) return t > EPS ? t : Infinity;
        t += dist;
      }
      return Infinity;
    }
  }
}

/** Ray against the disc z = zc, radius r. */
function disc(zc: number, r: number, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number): number {
  if (Math.abs(dz) < 1e-15) return Infinity;
  const t = (zc - oz) / dz;
  if (t <= EPS) return Infinity;
  const x = ox + t * dx, y = oy + t * dy;
  return x * x + y * y <= r * r ? t : Infinity;
}

/** Exact signed distance (negative inside). */
export function sdf(s: Shape, x: number, y: number, z: number): number {
  switch (s.kind) {
    case 'sphere':
      return Math.sqrt(x * x + y * y + z * z) - s.radius;
    case 'box': {
      const qx = Math.abs(x) - s.half[0], qy = Math.abs(y) - s.half[1], qz = Math.abs(z) - s.half[2];
      return Math.hypot(Math.max(qx, 0), Math.max(qy, 0), Math.max(qz, 0)) + Math.min(Math.max(qx, qy, qz), 0);
    }
    case 'cylinder': {
      const a = Math.hypot(x, y) - s.radius, b = Math.abs(z) - s.halfHeight;
      return Math.min(Math.max(a, b), 0) + Math.hypot(Math.max(a, 0), Math.max(b, 0));
    }
    case 'cone': {
      // Capped cone with radii r1 (bottom) and r2 = 0 (top), after Inigo Quilez's exact formula.
      const h = s.halfHeight, r1 = s.radius, r2 = 0;
      const qx = Math.hypot(x, y), qy = z;
      const k2x = r2 - r1, k2y = 2 * h;
      const cax = qx - Math.min(qx, qy < 0 ? r1 : r2), cay = Math.abs(qy) - h;
      const f = Math.min(Math.max(((r2 - qx) * k2x + (h - qy) * k2y) / (k2x * k2x + k2y * k2y), 0), 1);
      const cbx = qx - r2 + k2x * f, cby = qy - h + k2y * f;
      const sign = cbx < 0 && cay < 0 ? -1 : 1;
      return sign * Math.sqrt(Math.min(cax * cax + cay * cay, cbx * cbx + cby * cby));
    }
    case 'torus':
      return Math.hypot(Math.hypot(x, y) - s.major, z) - s.minor;
  }
}

/** Outward unit normal at a surface point. */
export function normal(s: Shape, x: number, y: number, z: number): [number, number, number] {
  switch (s.kind) {
    case 'sphere':
      return unit(x, y, z);
    case 'box': {
      const rx = Math.abs(x) / s.half[0], ry = Math.abs(y) / s.half[1], rz = Math.abs(z) / s.half[2];
      if (rx >= ry && rx >= rz) return [Math.sign(x), 0, 0];
      if (ry >= rz) return [0, Math.sign(y), 0];
      return [0, 0, Math.sign(z)];
    }
    case 'cylinder': {
      const side = Math.abs(Math.hypot(x, y) - s.radius), cap = Math.abs(Math.abs(z) - s.halfHeight);
      return cap < side ? [0, 0, Math.sign(z)] : unit(x, y, 0);
    }
    case 'cone': {
      const h = 2 * s.halfHeight, k2 = (s.radius / h) ** 2;
      if (Math.abs(z + s.halfHeight) < 1e-7) return [0, 0, -1];
      return unit(x, y, k2 * (s.halfHeight - z));
    }
    case 'torus': {
      const rho = Math.hypot(x, y) || 1;
      const cx = (x / rho) * s.major, cy = (y / rho) * s.major;
      return unit(x - cx, y - cy, z);
    }
  }
}

function unit(x: number, y: number, z: number): [number, number, number] {
  const n = Math.sqrt(x * x + y * y + z * z) || 1;
  return [x / n, y / n, z / n];
}
