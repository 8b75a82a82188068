// Pinhole intrinsics as nerfstudio / instant-ngp (and some Blender exporters)
// write them: fl_x, fl_y, cx, cy, w, h, OpenCV k1 k2 p1 p2, or
// camera_angle_x / camera_angle_y. A frame's own keys override the file's.

import { NodeError } from '../../engine';
import type { Camera } from '../../engine/values';
import { finiteNumber } from './plan';

export interface IntrinsicsSpec {
  flX?: number;
  flY?: number;
  cx?: number;
  cy?: number;
  w?: number;
  h?: number;
  angleX?: number;
  angleY?: number;
  distortion?: { k1: number; k2: number; p1: number; p2: number };
  /** Distortion terms present but not representable (k3, k4, ...), for a note. */
  ignored: string[];
  cameraModel?: string;
}

export function readIntrinsics(frame: Record<string, unknown>, top: Record<string, unknown>): IntrinsicsSpec {
  const pick = (key: string) => (key in frame ? frame[key] : top[key]);
  const num = (key: string) => finiteNumber(pick(key));
  const k = { k1: num('k1') ?? 0, k2: num('k2') ?? 0, p1: num('p1') ?? 0, p2: num('p2') ?? 0 };
  const spec: IntrinsicsSpec = {
    flX: num('fl_x'),
    flY: num('fl_y'),
    cx: num('cx'),
    cy: num('cy'),
    w: num('w'),
    h: num('h'),
    angleX: num('camera_angle_x'),
    angleY: num('camera_angle_y'),
    ignored: ['k3', 'k4'].filter((key) => (num(key) ?? 0) !== 0),
    cameraModel: typeof pick('camera_model') === 'string' ? (pick('camera_model') as string) : undefined,
  };
  if (k.k1 !== 0 || k.k2 !== 0 || k.p1 !== 0 || k.p2 !== 0) spec.distortion = k;
  return spec;
}

/** Whether an object carries any intrinsics key (so a Blender file with fl_x is read the nerfstudio way). */
export function hasIntrinsics(obj: Record<string, unknown>): boolean {
  return ['fl_x', 'fl_y', 'w', 'h', 'cx', 'cy'].some((k) => k in obj);
}

/**
 * The camera for an image of width x height described by `spec` (whose w/h,
 * if any, have already been checked against the image). Missing centres
 * default to the image centre; a missing fl_y to fl_x.
 */
export function cameraFromSpec(spec: IntrinsicsSpec, width: number, height: number, cameraToWorld: number[], where: string): Camera {
  let fx = spec.flX ?? (spec.angleX !== undefined ? (0.5 * width) / Math.tan(0.5 * spec.angleX) : undefined);
  let fy = spec.flY ?? (spec.angleY !== undefined ? (0.5 * height) / Math.tan(0.5 * spec.angleY) : undefined);
  fx ??= fy;
  fy ??= fx;
  if (fx === undefined || fy === undefined || !(fx > 0) || !(fy > 0))
    throw new NodeError(`${where}: no usable focal length (fl_x, fl_y or camera_angle_x)`, { param: 'path', fix: 'add "fl_x" (pixels) or "camera_angle_x" (radians) to the transforms file' });
  const camera: Camera = { width, height, fx, fy, cx: spec.cx ?? width / 2, cy: spec.cy ?? height / 2, cameraToWorld };
  if (spec.distortion) camera.distortion = spec.distortion;
  return camera;
}
