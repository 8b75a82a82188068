// What the generated scene holds: five objects of distinct shape, colour and
// texture standing on a textured square of ground (+Z up, as in the Blender
// datasets), a fixed light, and cameras on a hemisphere looking at the
// middle. Everything follows from the seed.

import type { Camera, ViewSplit } from '../../engine/values';
import { Random } from './random';
import { halfExtents, type Shape, type ShapeKind } from './shapes';
import type { Rgb, Texture, TextureKind } from './textures';

export interface SceneObject {
  /** Instance id in the masks (1, 2, ...; 0 is ground and background). */
  id: number;
  /** E.g. "red sphere": a colour word and the shape, usable as a text prompt. */
  name: string;
  shape: Shape;
  texture: Texture;
  /** Base colour, 0-255. */
  colour: [number, number, number];
  /** Centre of the bounding box in world units. */
  centre: [number, number, number];
  /** Rotation about +Z in radians. */
  rotation: number;
}

export interface SceneLayout {
  seed: number;
  /** Which layout attempt for this seed (the generator retries until one view shows a partial occlusion). */
  attempt: number;
  objects: SceneObject[];
  ground: { halfSize: number; texture: Texture };
  /** Unit vector towards the (directional) light. */
  light: [number, number, number];
  ambient: number;
}

export interface SceneView {
  name: string;
  split: ViewSplit;
  camera: Camera;
}

/** Camera rig: distance from the target, target, horizontal field of view, elevation band. */
export const RIG = { radius: 4, target: [0, 0, 0.25] as [number, number, number], cameraAngleX: 0.7, minElevationDeg: 12, maxElevationDeg: 65 };
/** Every 8th view (0, 8, ...) is test. */
export const TEST_EVERY = 8;

const PALETTE: Array<[string, Rgb]> = [
  ['red', [0.86, 0.2, 0.18]],
  ['orange', [0.96, 0.55, 0.12]],
  ['yellow', [0.92, 0.8, 0.16]],
  ['green', [0.24, 0.67, 0.29]],
  ['blue', [0.18, 0.39, 0.86]],
  ['purple', [0.55, 0.27, 0.78]],
  ['pink', [0.92, 0.39, 0.67]],
  ['cyan', [0.16, 0.75, 0.78]],
];

const SHAPES: Array<{ kind: ShapeKind; texture: TextureKind; make: (r: Random) => Shape }> = [
  { kind: 'sphere', texture: 'checker', make: (r) => ({ kind: 'sphere', radius: r.range(0.24, 0.32) }) },
  { kind: 'box', texture: 'stripes', make: (r) => ({ kind: 'box', half: [r.range(0.16, 0.26), r.range(0.16, 0.26), r.range(0.16, 0.26)] }) },
  { kind: 'cylinder', texture: 'noise', make: (r) => ({ kind: 'cylinder', radius: r.range(0.13, 0.18), halfHeight: r.range(0.3, 0.4) }) },
  { kind: 'cone', texture: 'stripes', make: (r) => ({ kind: 'cone', radius: r.range(0.2, 0.26), halfHeight: r.range(0.28, 0.36) }) },
  { kind: 'torus', texture: 'checker', make: (r) => ({ kind: 'torus', major: r.range(0.2, 0.25), minor: r.range(0.06, 0.08) }) },
];

const GROUND_HALF = 1.2;

export function layoutScene(seed: number, attempt = 0): SceneLayout {
  const rng = new Random(seed, 1 + attempt);
  const colours = rng.shuffle(PALETTE.slice());
  let objects: SceneObject[] | undefined;
  // Random sequential placement can jam; start over (with the next random numbers) until all five fit.
  while (!objects) objects = placeObjects(rng, colours);
  return {
    seed,
    attempt,
    objects,
    ground: { halfSize: GROUND_HALF, texture: { kind: 'checker', scale: 2.5, a: [0.78, 0.78, 0.76], b: [0.5, 0.5, 0.52] } },
    light: unit([0.45, 0.3, 1]),
    ambient: 0.35,
  };
}

/** Objects on the ground, centres within 0.8 of the middle, footprints 0.06 apart; undefined when one does not fit. */
function placeObjects(rng: Random, colours: Array<[string, Rgb]>): SceneObject[] | undefined {
  const objects: SceneObject[] = [];
  const placed: Array<{ x: number; y: number; r: number }> = [];
  for (const [i, spec] of SHAPES.entries()) {
    const shape = spec.make(rng);
    const rotation = rng.range(0, Math.PI);
    const [hx, hy, hz] = halfExtents(shape);
    const footprint = Math.hypot(hx, hy);
    let spot: { x: number; y: number } | undefined;
    for (let tries = 0; tries < 200 && !spot; tries++) {
      const a = rng.range(0, 2 * Math.PI), d = 0.8 * Math.sqrt(rng.next());
      const x = d * Math.cos(a), y = d * Math.sin(a);
      const inside = Math.abs(x) + footprint < GROUND_HALF - 0.05 && Math.abs(y) + footprint < GROUND_HALF - 0.05;
      if (inside && placed.every((p) => Math.hypot(p.x - x, p.y - y) > p.r + footprint + 0.06)) spot = { x, y };
    }
    if (!spot) return undefined;
    placed.push({ ...spot, r: footprint });
    const [colourName, base] = colours[i]!;
    const light: Rgb = [0.5 + 0.5 * base[0], 0.5 + 0.5 * base[1], 0.5 + 0.5 * base[2]];
    const dark: Rgb = [0.35 * base[0], 0.35 * base[1], 0.35 * base[2]];
    objects.push({
      id: i + 1,
      name: `${colourName} ${spec.kind}`,
      shape,
      texture: makeTexture(spec.texture, base, spec.texture === 'checker' ? light : dark, rng),
      colour: base.map((v) => Math.round(v * 255)) as [number, number, number],
      centre: [spot.x, spot.y, hz],
      rotation,
    });
  }
  return objects;
}

function makeTexture(kind: TextureKind, a: Rgb, b: Rgb, rng: Random): Texture {
  switch (kind) {
    case 'checker':
      return { kind, scale: rng.range(7, 10), a, b };
    case 'stripes':
      return { kind, scale: rng.range(6, 9), axis: unit([rng.range(-0.5, 0.5), rng.range(-0.5, 0.5), 1]), a, b };
    case 'noise':
      return { kind, scale: rng.range(5, 8), a, b, seed: rng.uint32() & 0xffff };
  }
}

/**
 * `count` cameras on the hemisphere around the target: azimuths by the
 * golden angle (from a seeded start), elevations spread evenly in area over
 * the band, every 8th view test. Names follow the Blender layout per split.
 */
export function sceneViews(count: number, size: number, seed: number): SceneView[] {
  const rng = new Random(seed, 0);
  const start = rng.range(0, 2 * Math.PI);
  const golden = Math.PI * (3 - Math.sqrt(5));
  const s0 = Math.sin((RIG.minElevationDeg * Math.PI) / 180), s1 = Math.sin((RIG.maxElevationDeg * Math.PI) / 180);
  const f = (0.5 * size) / Math.tan(0.5 * RIG.cameraAngleX);
  const counters: Record<string, number> = { train: 0, test: 0 };
  const views: SceneView[] = [];
  for (let i = 0; i < count; i++) {
    const azimuth = start + i * golden;
    // Interleave elevations so neighbours in index differ in height too.
    const band = ((i * 0.618033988749895) % 1 + 0.5 / count) % 1;
    const elevation = Math.asin(s0 + (s1 - s0) * band);
    const eye: [number, number, number] = [
      RIG.target[0] + RIG.radius * Math.cos(elevation) * Math.cos(azimuth),
      RIG.target[1] + RIG.radius * Math.cos(elevation) * Math.sin(azimuth),
      RIG.target[2] + RIG.radius * Math.sin(elevation),
    ];
    const split: ViewSplit = i % TEST_EVERY === 0 ? 'test' : 'train';
    views.push({
      name: `${split}/r_${counters[split]!++}`,
      split,
      camera: { width: size, height: size, fx: f, fy: f, cx: size / 2, cy: size / 2, cameraToWorld: lookAt(eye, RIG.target) },
    });
  }
  return views;
}

/** OpenGL camera-to-world for an eye looking at a target with +Z up. */
export function lookAt(eye: [number, number, number], target: [number, number, number]): number[] {
  const f = unit([target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]]);
  const r = unit([f[1], -f[0], 0]); // f x (0, 0, 1)
  const u: [number, number, number] = [r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]];
  return [r[0], u[0], -f[0], eye[0], r[1], u[1], -f[1], eye[1], r[2], u[2], -f[2], eye[2], 0, 0, 0, 1];
}

function unit(v: [number, number, number]): [number, number, number] {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
}
