// The orbit view's camera: azimuth / elevation / distance around the scene
// centre, about the mean up direction of the dataset's cameras. Pure maths
// in the project's camera convention (engine/values.ts Camera, docs/cameras.md),
// shared by the UI (drag, wheel) and the worker (rendering, click lifting).

import type { Camera, ViewsValue } from '../engine/values';
import { lookAt } from '../runtime-gpu/nerf/rays';

export type Vec3 = [number, number, number];

/** Where the orbit camera is; plain JSON, so it crosses to the worker as is. */
export interface Orbit {
  centre: Vec3;
  /** Unit up direction (the dataset cameras' mean +Y). */
  up: Vec3;
  /** Unit vector orthogonal to `up`: azimuth 0 looks from centre + radius * ref (at elevation 0). */
  ref: Vec3;
  /** Radians about `up`. */
  azimuth: number;
  /** Radians above the plane orthogonal to `up`, within +-MAX_ELEVATION. */
  elevation: number;
  radius: number;
  /** Vertical field of view in radians (the first dataset view's). */
  fovY: number;
  /** Radius limits for the wheel. */
  minRadius: number;
  maxRadius: number;
}

export const MAX_ELEVATION = (89 * Math.PI) / 180;
/** Radians per CSS pixel of drag. */
export const DRAG_RADIANS_PER_PIXEL = 0.01;

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
function normalize(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return n > 0 ? [v[0] / n, v[1] / n, v[2] / n] : [0, 0, 0];
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * The starting orbit of a dataset: centred on its content box, at the
 * median distance of its cameras, looking from the first camera's azimuth
 * and elevation with its vertical field of view.
 */
export function orbitFromViews(views: Pick<ViewsValue, 'views' | 'bounds'>): Orbit {
  const { min, max } = views.bounds;
  const centre: Vec3 = [(min[0] + max[0]) / 2, (min[1] + max[1]) / 2, (min[2] + max[2]) / 2];
  if (views.views.length === 0) {
    // No cameras known (a field alone): +Z up, 30 degrees above, twice the box's diagonal away.
    const diagonal = Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]) || 1;
    return { centre, up: [0, 0, 1], ref: [1, 0, 0], azimuth: 0, elevation: Math.PI / 6, radius: 2 * diagonal, fovY: (50 * Math.PI) / 180, minRadius: diagonal / 8, maxRadius: 8 * diagonal };
  }
  let up = normalize(views.views.reduce<Vec3>((u, v) => [u[0] + v.camera.cameraToWorld[1]!, u[1] + v.camera.cameraToWorld[5]!, u[2] + v.camera.cameraToWorld[9]!], [0, 0, 0]));
  if (!(Math.hypot(...up) > 0.5)) up = [0, 0, 1];
  const offsets = views.views.map((v) => {
    const m = v.camera.cameraToWorld;
    return [m[3]! - centre[0], m[7]! - centre[1], m[11]! - centre[2]] as Vec3;
  });
  const size = Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]) || 1;
  const radius = median(offsets.map((o) => Math.hypot(...o))) || size;
  const o0 = offsets[0]!;
  const along = dot(o0, up);
  let ref = normalize([o0[0] - along * up[0], o0[1] - along * up[1], o0[2] - along * up[2]]);
  let elevation = Math.asin(Math.max(-1, Math.min(1, along / (Math.hypot(...o0) || 1))));
  if (!(Math.hypot(...ref) > 0.5)) {
    // The first camera looks straight down or up: any horizontal reference will do.
    ref = normalize(Math.abs(up[0]) < 0.9 ? cross(up, [1, 0, 0]) : cross(up, [0, 1, 0]));
    elevation = Math.sign(along) * MAX_ELEVATION;
  }
  const first = views.views[0]!.camera;
  const fovY = 2 * Math.atan(first.height / 2 / first.fy);
  return {
    centre,
    up,
    ref,
    azimuth: 0,
    elevation: clampElevation(elevation),
    radius,
    fovY,
    minRadius: Math.min(radius, size / 2) * 0.25,
    maxRadius: radius * 4,
  };
}

function clampElevation(e: number): number {
  return Math.max(-MAX_ELEVATION, Math.min(MAX_ELEVATION, e));
}

/** Unit vector from the centre to the eye. */
export function orbitDirection(o: Pick<Orbit, 'up' | 'ref' | 'azimuth' | 'elevation'>): Vec3 {
  const side = cross(o.up, o.ref);
  const ca = Math.cos(o.azimuth), sa = Math.sin(o.azimuth), ce = Math.cos(o.elevation), se = Math.sin(o.elevation);
  return [0, 1, 2].map((k) => ce * (ca * o.ref[k]! + sa * side[k]!) + se * o.up[k]!) as Vec3;
}

/**
 * The orbit's camera at `width` x `height` pixels: at centre + radius *
 * direction, looking at the centre (its -Z axis), +Y towards `up`, square
 * pixels with the orbit's vertical field of view.
 */
export function orbitCamera(o: Orbit, width: number, height = width): Camera {
  const z = orbitDirection(o);
  const eye: Vec3 = [o.centre[0] + o.radius * z[0], o.centre[1] + o.radius * z[1], o.centre[2] + o.radius * z[2]];
  return lookAt(eye, o.centre, o.up, width, height, height / 2 / Math.tan(o.fovY / 2));
}

/** A drag of (dx, dy) CSS pixels: right turns the scene right (the eye goes left), down tilts it towards the viewer (the eye goes up). */
export function dragOrbit(o: Orbit, dx: number, dy: number, radiansPerPixel = DRAG_RADIANS_PER_PIXEL): Orbit {
  return { ...o, azimuth: wrapAngle(o.azimuth - dx * radiansPerPixel), elevation: clampElevation(o.elevation + dy * radiansPerPixel) };
}

/** A wheel step: deltaY > 0 (scrolling down) moves away, within the orbit's radius limits. */
export function zoomOrbit(o: Orbit, deltaY: number): Orbit {
  const radius = Math.max(o.minRadius, Math.min(o.maxRadius, o.radius * Math.exp(deltaY * 0.001)));
  return { ...o, radius };
}

function wrapAngle(a: number): number {
  const t = 2 * Math.PI;
  return ((((a + Math.PI) % t) + t) % t) - Math.PI;
}

/**
 * The one-pixel camera that sees exactly pixel (floor(x), floor(y)) of
 * `camera`: same pose and focal length, principal point shifted so that its
 * only pixel's centre is that pixel's centre. A click is lifted by
 * rendering this camera (one ray) instead of the whole view.
 */
export function pixelCamera(camera: Camera, x: number, y: number): Camera {
  const u = Math.floor(x), v = Math.floor(y);
  return { ...camera, width: 1, height: 1, cx: camera.cx - u, cy: camera.cy - v, distortion: undefined };
}

/** A click on an element of `shownWidth` x `shownHeight` CSS pixels showing a `width` x `height` render, in render pixels. */
export function clickToPixel(offsetX: number, offsetY: number, shownWidth: number, shownHeight: number, width: number, height: number): { x: number; y: number } {
  return {
    x: Math.min(width - 1e-3, Math.max(0, (offsetX / shownWidth) * width)),
    y: Math.min(height - 1e-3, Math.max(0, (offsetY / shownHeight) * height)),
  };
}
