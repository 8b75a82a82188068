// The orbit view's pictures and clicks, computed in the worker: a field
// rendered at the orbit camera as RGB, colour-mapped depth, or RGB with the
// fused 3D mask tinted over it; and a click lifted to the world point under
// it (one ray at the clicked pixel). Platform-neutral; the renderer is handed
// in (CPU Nerf or GpuNerf), so tests drive it with an analytic scene.

import type { Camera, MaskFieldValue } from '../../engine/values';
import type { DepthRender } from '../../nodes/lock3d/geometry';
import { objectColor, renderObjects } from '../../nodes/lock3d/mask-field';
import { liftClick } from '../../nodes/lock3d/project';
import { colormapLut } from '../../runtime-gpu/image/draw';
import { orbitCamera, pixelCamera, type Orbit, type Vec3 } from '../orbit';

export type OrbitMode = 'rgb' | 'depth' | 'mask';
export const ORBIT_MODES: readonly OrbitMode[] = ['rgb', 'depth', 'mask'];

/** Renders a camera: planar depth, accumulation and (for 'rgb'/'mask') colour. */
export type CameraRenderer = (camera: Camera, signal?: AbortSignal) => Promise<DepthRender>;

export interface OrbitFrame {
  width: number;
  height: number;
  /** RGBA8, width * height * 4. */
  rgba: Uint8ClampedArray;
  mode: OrbitMode;
  /** Pixels the 3D mask covers (mask mode). */
  maskPixels?: number;
  /** Planar depth range shown in depth mode. */
  depthRange?: [number, number];
  ms: number;
}

export interface ComposeOptions {
  camera: Camera;
  mask?: MaskFieldValue;
  minAccumulation: number;
  /** Tint opacity of the mask overlay. */
  opacity?: number;
}

const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A render -> the picture of a mode (RGBA8). */
export function composeFrame(render: DepthRender, mode: OrbitMode, options: ComposeOptions): Omit<OrbitFrame, 'ms'> {
  const { width, height } = render;
  const n = width * height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) rgba[4 * p + 3] = 255;
  if (mode === 'depth') {
    let lo = Infinity, hi = -Infinity;
    for (let p = 0; p < n; p++) {
      const d = render.depth[p]!;
      if (d > 0 && render.accumulation[p]! >= options.minAccumulation) {
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
    }
    const lut = colormapLut('viridis');
    const span = hi > lo ? hi - lo : 1;
    for (let p = 0; p < n; p++) {
      const d = render.depth[p]!, a = render.accumulation[p]!;
      if (!(d > 0) || !(a >= options.minAccumulation)) {
        rgba[4 * p] = rgba[4 * p + 1] = rgba[4 * p + 2] = 20;
        continue;
      }
      // Near = bright (yellow), far = dark (purple).
      const i = Math.min(255, Math.max(0, Math.floor((1 - (d - lo) / span) * 255)));
      rgba[4 * p] = lut[3 * i]!;
      rgba[4 * p + 1] = lut[3 * i + 1]!;
      rgba[4 * p + 2] = lut[3 * i + 2]!;
    }
    return { width, height, rgba, mode, depthRange: Number.isFinite(lo) ? [lo, hi] : undefined };
  }
  const rgb = render.rgb;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) rgba[4 * p + c] = rgb ? Math.round(Math.min(1, Math.max(0, rgb[3 * p + c]!)) * 255) : Math.round(render.accumulation[p]! * 255);
  }
  if (mode === 'rgb' || !options.mask) return { width, height, rgba, mode };
  const objects = renderObjects(options.mask, options.camera, render, options.minAccumulation, 2);
  const alpha = options.opacity ?? 0.5;
  let maskPixels = 0;
  for (let p = 0; p < n; p++) {
    const label = objects.labels[p]!;
    if (!label) continue;
    maskPixels++;
    const color = options.mask.objects[label - 1]?.color ?? objectColor(label - 1);
    for (let c = 0; c < 3; c++) rgba[4 * p + c] = Math.round((1 - alpha) * rgba[4 * p + c]! + alpha * color[c]!);
  }
  return { width, height, rgba, mode, maskPixels };
}

/** Renders the orbit camera at `size` x `size` pixels and composes the mode's picture. */
export async function renderOrbitFrame(
  renderer: CameraRenderer,
  orbit: Orbit,
  size: number,
  mode: OrbitMode,
  options: { mask?: MaskFieldValue; minAccumulation: number; signal?: AbortSignal },
): Promise<OrbitFrame> {
  const t0 = clock();
  const camera = orbitCamera(orbit, size);
  const render = await renderer(camera, options.signal);
  const frame = composeFrame(render, mode, { camera, mask: options.mask, minAccumulation: options.minAccumulation });
  return { ...frame, ms: clock() - t0 };
}

export type OrbitLift =
  | { ok: true; xyz: Vec3; depth: number; accumulation: number; pixel: { x: number; y: number } }
  | { ok: false; reason: string; pixel: { x: number; y: number } };

/**
 * The world point under pixel (x, y) of the orbit camera at `size` pixels:
 * one ray through the pixel's centre, at its rendered planar depth. A pixel
 * less opaque than `minAccumulation` has no surface: refused with the
 * reason, as LiftPrompts refuses such clicks.
 */
export async function liftOrbitClick(renderer: CameraRenderer, orbit: Orbit, size: number, x: number, y: number, minAccumulation: number, signal?: AbortSignal): Promise<OrbitLift> {
  const camera = orbitCamera(orbit, size);
  const pixel = { x: Math.floor(x), y: Math.floor(y) };
  if (pixel.x < 0 || pixel.y < 0 || pixel.x >= size || pixel.y >= size) return { ok: false, reason: `(${x}, ${y}) is outside the ${size}x${size} view`, pixel };
  const one = pixelCamera(camera, x, y);
  const render = await renderer(one, signal);
  const lifted = liftClick(one, render, 0, 0, minAccumulation);
  if (!lifted.ok) return { ok: false, reason: `empty space under the click: ${lifted.reason}`, pixel };
  return { ok: true, xyz: lifted.position, depth: lifted.depth, accumulation: lifted.accumulation, pixel };
}
