// The generated scene exported in the other dataset formats ImageLoader reads
// (docs/scene-generator.md), so that every reader and the NeRF can be tested
// on a capture whose geometry is known exactly:
//
//   ngp   instant-ngp / nerfstudio transforms.json: OpenCV intrinsics
//         (fl_x fl_y cx cy w h k1 k2 p1 p2) rendered *with* the lens
//         distortion, two physical cameras (odd frames override the
//         intrinsics per frame), aabb_scale, no split lists (the reader holds
//         out every 8th view), RGBA images, planar depth .npy per frame.
//   llff  poses_bounds.npy (N x 17, float64) with a forward-facing rig,
//         opaque images with a sky at infinity, images/ at full size and
//         images_<k>/ box-filtered copies, near/far from the exact depth.
//
// Same seed, same bytes; nothing platform-specific (the caller writes files).

import type { Camera, ViewSplit } from '../../engine/values';
import { writeNpy } from '../views/npy';
import { encodeRawPng } from '../views/png-raw';
import { buildSceneDataset, describeScene, findOcclusions, SCENE_DEFAULTS, type Occlusion, type SceneDataset, type SceneOptions } from './dataset';
import { layoutScene, lookAt, RIG, sceneViews, TEST_EVERY, type SceneLayout, type SceneView } from './layout';
import { Random } from './random';
import { renderView, type RenderOptions, type ViewRender } from './render';

export type SceneFormat = 'blender' | 'ngp' | 'llff';
export const SCENE_FORMATS: readonly SceneFormat[] = ['blender', 'ngp', 'llff'];

export interface CaptureOptions extends SceneOptions {
  format: SceneFormat;
  /** LLFF: images_<llffFactor>/ holds the full-size images box-filtered by this factor (LLFF's images_4, images_8). */
  llffFactor: number;
}

export const CAPTURE_DEFAULTS: CaptureOptions = { ...SCENE_DEFAULTS, format: 'blender', llffFactor: 4 };

export interface SceneCapture extends SceneDataset {
  format: SceneFormat;
  /** LLFF: the downscale factor of images_<k>/; 1 otherwise. */
  factor: number;
}

/** instant-ngp: the unit cube is [0, 1]^3 after p * 0.33 + 0.5, so aabb_scale 1 is the ±1.52 box around the origin. */
export const NGP_AABB_SCALE = 1;
/** LLFF rig: the centre camera's elevation, and the half-extents of the grid of camera positions (world units). */
export const LLFF_RIG = { elevationDeg: 28, halfWidth: 0.6, halfHeight: 0.3, depthJitter: 0.1, convergence: 0.5 };

const MAX_ATTEMPTS = 20;

export function buildSceneCapture(options: Partial<CaptureOptions> = {}): SceneCapture {
  const o: CaptureOptions = { ...CAPTURE_DEFAULTS, ...options };
  if (!SCENE_FORMATS.includes(o.format)) throw new RangeError(`format must be one of ${SCENE_FORMATS.join(', ')}, got ${o.format}`);
  const scene: SceneOptions = { views: o.views, size: o.size, seed: o.seed };
  if (o.format === 'blender') return { ...buildSceneDataset(scene), format: 'blender', factor: 1 };
  if (!Number.isInteger(o.views) || o.views < 1) throw new RangeError(`views must be a positive integer, got ${o.views}`);
  if (!Number.isInteger(o.size) || o.size < 8) throw new RangeError(`size must be an integer of at least 8, got ${o.size}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${o.seed}`);
  if (o.format === 'ngp') {
    const views = ngpViews(o.views, o.size, o.seed);
    const found = searchLayout(o.seed, views, {});
    return { ...found, views, files: ngpFiles(found.layout, views, found.renders, found.occlusions, scene), format: 'ngp', factor: 1 };
  }
  const k = o.llffFactor;
  if (!Number.isInteger(k) || k < 1 || k > 16) throw new RangeError(`llffFactor must be an integer from 1 to 16, got ${k}`);
  if (o.size % k !== 0 || o.size / k < 8) throw new RangeError(`LLFF: size ${o.size} must be a multiple of llffFactor ${k} with at least 8 pixels left (e.g. ${Math.max(8, Math.ceil(o.size / k)) * k})`);
  const views = llffViews(o.views, o.size, k, o.seed);
  const found = searchLayout(o.seed, views, { background: 'sky' });
  return { ...found, views, files: llffFiles(found.layout, views, found.renders, found.occlusions, scene, k), format: 'llff', factor: k };
}

/**
 * The first layout of the seed in which some view shows an object partly
 * hidden by another (as the Blender export guarantees); when none of
 * MAX_ATTEMPTS does (a forward-facing rig sees the objects from one side
 * only), the first layout, with an empty occlusion list.
 */
function searchLayout(seed: number, views: SceneView[], render: RenderOptions) {
  const t0 = now();
  let first: { layout: SceneLayout; renders: ViewRender[] } | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const layout = layoutScene(seed, attempt);
    const renders = views.map((v) => renderView(layout, v.camera, render));
    const occlusions = findOcclusions(layout, views, renders);
    if (occlusions.length) return { layout, renders, occlusions, attempts: attempt + 1, renderMs: now() - t0 };
    first ??= { layout, renders };
  }
  return { ...first!, occlusions: [] as Occlusion[], attempts: MAX_ATTEMPTS, renderMs: now() - t0 };
}

/** The two physical cameras of the ngp export (intrinsics in pixels for a size x size image). */
export function ngpIntrinsics(size: number, odd: boolean): Pick<Camera, 'fx' | 'fy' | 'cx' | 'cy'> & { distortion: NonNullable<Camera['distortion']> } {
  const f = (0.5 * size) / Math.tan(0.5 * RIG.cameraAngleX);
  return odd
    ? { fx: 1.12 * f, fy: 1.12 * 0.997 * f, cx: size * (0.5 - 0.011), cy: size * (0.5 + 0.007), distortion: { k1: 0.06, k2: -0.01, p1: -0.0006, p2: 0.001 } }
    : { fx: f, fy: 1.004 * f, cx: size * (0.5 + 0.013), cy: size * (0.5 - 0.009), distortion: { k1: -0.12, k2: 0.03, p1: 0.0012, p2: -0.0008 } };
}

/** The hemisphere rig of the Blender export with the ngp cameras' intrinsics; names images/frame_00000 ... (test: every 8th). */
export function ngpViews(count: number, size: number, seed: number): SceneView[] {
  return sceneViews(count, size, seed).map((v, i) => ({
    name: `images/frame_${String(i).padStart(5, '0')}`,
    split: v.split,
    camera: { ...v.camera, ...ngpIntrinsics(size, i % 2 === 1) },
  }));
}

function ngpFiles(layout: SceneLayout, views: SceneView[], renders: ViewRender[], occlusions: Occlusion[], options: SceneOptions): SceneDataset['files'] {
  const files: SceneDataset['files'] = [];
  const intrinsics = (c: Camera) => ({ fl_x: c.fx, fl_y: c.fy, cx: c.cx, cy: c.cy, k1: c.distortion!.k1, k2: c.distortion!.k2, p1: c.distortion!.p1, p2: c.distortion!.p2 });
  const frames = views.map((view, i) => {
    const r = renders[i]!;
    files.push({ path: `${view.name}.png`, bytes: encodeRawPng({ width: r.width, height: r.height, channels: 4, data: r.rgba }) });
    const depth = `depth/${view.name.slice('images/'.length)}.npy`;
    files.push({ path: depth, bytes: writeNpy(r.depth, [r.height, r.width]) });
    const m = view.camera.cameraToWorld;
    return {
      file_path: `${view.name}.png`,
      transform_matrix: [0, 1, 2, 3].map((row) => m.slice(row * 4, row * 4 + 4)),
      depth_file_path: depth,
      // The second camera's intrinsics override the file's, per frame (allowed by both instant-ngp and nerfstudio).
      ...(i % 2 === 1 ? intrinsics(view.camera) : {}),
    };
  });
  const size = options.size;
  const transforms = {
    camera_model: 'OPENCV',
    ...intrinsics(views.find((_, i) => i % 2 === 0)!.camera),
    w: size,
    h: size,
    aabb_scale: NGP_AABB_SCALE,
    frames,
  };
  files.push({ path: 'transforms.json', bytes: json(transforms) });
  const description = describeScene(layout, sceneViews(0, size, options.seed), occlusions, options);
  files.push({
    path: 'scene.json',
    bytes: json({
      ...description,
      format: 'ngp',
      cameras: {
        ...description.cameras,
        count: views.length,
        intrinsics: 'two cameras: even frames use the top-level fl_x fl_y cx cy k1 k2 p1 p2, odd frames override them; images are rendered with the OpenCV distortion',
        testEvery: TEST_EVERY,
      },
      files: {
        transforms: 'transforms.json: camera_model OPENCV, intrinsics, w, h, aabb_scale, frames {file_path, transform_matrix, depth_file_path, per-frame intrinsics on odd frames}; no split lists: every 8th frame (sorted by name) is test',
        image: 'images/frame_<k>.png: 8-bit RGBA, alpha 0 where no surface',
        depthNpy: 'depth/frame_<k>.npy: float32 [H, W], planar depth along the camera -Z axis, 0 = no surface',
      },
    }),
  });
  return files;
}

/**
 * A forward-facing rig: every camera looks the same way (towards the target
 * from the seeded azimuth, LLFF_RIG.elevationDeg above the horizon), from
 * positions on a jittered grid in the plane across the view, converging a
 * little (each looks at the target moved by half its offset). Full size
 * `size` x 3/4 size (rounded to the factor); views 0, 8, 16, ... are test.
 */
export function llffViews(count: number, size: number, factor: number, seed: number): SceneView[] {
  const rng = new Random(seed, 7);
  const azimuth = rng.range(0, 2 * Math.PI);
  const el = (LLFF_RIG.elevationDeg * Math.PI) / 180;
  const t = RIG.target;
  const centre: [number, number, number] = [t[0] + RIG.radius * Math.cos(el) * Math.cos(azimuth), t[1] + RIG.radius * Math.cos(el) * Math.sin(azimuth), t[2] + RIG.radius * Math.sin(el)];
  const base = lookAt(centre, t);
  const right = [base[0]!, base[4]!, base[8]!], up = [base[1]!, base[5]!, base[9]!], back = [base[2]!, base[6]!, base[10]!];
  const width = size, height = factor * Math.round((0.75 * size) / factor);
  const f = (0.5 * width) / Math.tan(0.5 * RIG.cameraAngleX);
  const cols = Math.max(1, Math.ceil(Math.sqrt(2 * count))), rows = Math.max(1, Math.ceil(count / cols));
  const views: SceneView[] = [];
  for (let i = 0; i < count; i++) {
    const gx = cols > 1 ? ((i % cols) + rng.range(-0.3, 0.3)) / (cols - 1) : 0.5;
    const gy = rows > 1 ? (Math.floor(i / cols) + rng.range(-0.3, 0.3)) / (rows - 1) : 0.5;
    const x = (2 * gx - 1) * LLFF_RIG.halfWidth, y = (2 * gy - 1) * LLFF_RIG.halfHeight, z = rng.range(-1, 1) * LLFF_RIG.depthJitter;
    const eye = [0, 1, 2].map((a) => centre[a]! + x * right[a]! + y * up[a]! + z * back[a]!) as [number, number, number];
    const look = [0, 1, 2].map((a) => t[a]! + LLFF_RIG.convergence * (eye[a]! - centre[a]!)) as [number, number, number];
    const split: ViewSplit = i % TEST_EVERY === 0 ? 'test' : 'train';
    views.push({ name: `images/img_${String(i).padStart(3, '0')}`, split, camera: { width, height, fx: f, fy: f, cx: width / 2, cy: height / 2, cameraToWorld: lookAt(eye, look) } });
  }
  return views;
}

/** One LLFF row: [-up | right | back | centre | (H, W, f)] row by row, then near and far. */
export function llffRow(camera: Camera, near: number, far: number): number[] {
  const m = camera.cameraToWorld;
  const hwf = [camera.height, camera.width, camera.fx];
  const row: number[] = [];
  for (let r = 0; r < 3; r++) row.push(0 - m[r * 4 + 1]!, m[r * 4]!, m[r * 4 + 2]!, m[r * 4 + 3]!, hwf[r]!);
  row.push(near, far);
  return row;
}

function llffFiles(layout: SceneLayout, views: SceneView[], renders: ViewRender[], occlusions: Occlusion[], options: SceneOptions, factor: number): SceneDataset['files'] {
  const files: SceneDataset['files'] = [];
  const table = new Float64Array(views.length * 17);
  views.forEach((view, i) => {
    const r = renders[i]!;
    const rgb = new Uint8Array(r.width * r.height * 3);
    for (let p = 0; p < r.width * r.height; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = r.rgba[4 * p + c]!;
    const stem = view.name.slice('images/'.length);
    files.push({ path: `images/${stem}.png`, bytes: encodeRawPng({ width: r.width, height: r.height, channels: 3, data: rgb }) });
    if (factor > 1) {
      const small = boxDownscale(rgb, r.width, r.height, factor);
      files.push({ path: `images_${factor}/${stem}.png`, bytes: encodeRawPng({ width: r.width / factor, height: r.height / factor, channels: 3, data: small }) });
    }
    // LLFF's bounds are depth percentiles of the sparse points a view sees; ours are the exact nearest and farthest surface.
    let near = Infinity, far = 0;
    for (const d of r.depth) if (d > 0) (near = Math.min(near, d)), (far = Math.max(far, d));
    if (!(far > 0)) (near = 1), (far = 2 * RIG.radius);
    table.set(llffRow(view.camera, near, far), i * 17);
  });
  files.push({ path: 'poses_bounds.npy', bytes: writeNpy(table, [views.length, 17]) });
  const description = describeScene(layout, sceneViews(0, options.size, options.seed), occlusions, options);
  files.push({
    path: 'scene.json',
    bytes: json({
      ...description,
      format: 'llff',
      factor,
      cameras: { count: views.length, rig: 'forward-facing', ...LLFF_RIG, radius: RIG.radius, target: RIG.target, cameraAngleX: RIG.cameraAngleX, testEvery: TEST_EVERY },
      background: 'sky at infinity: a colour per ray direction, depth 0',
      files: {
        poses: 'poses_bounds.npy: float64 [N, 17]: per image the 3x5 matrix [down, right, back, centre, (H, W, focal)] row by row, then near and far (the nearest and farthest surface it sees)',
        image: 'images/img_<k>.png: 8-bit RGB at full size',
        ...(factor > 1 ? { downscaled: `images_${factor}/img_<k>.png: the same, each ${factor}x${factor} block averaged` } : {}),
      },
    }),
  });
  return files;
}

/** Averages each k x k block (exact for the pixel-centre convention: intrinsics scale by 1/k). */
export function boxDownscale(rgb: Uint8Array, width: number, height: number, k: number): Uint8Array {
  const w = width / k, h = height / k;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) s += rgb[((y * k + dy) * width + x * k + dx) * 3 + c]!;
        out[(y * w + x) * 3 + c] = Math.round(s / (k * k));
      }
  return out;
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
