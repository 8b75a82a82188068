// The generated scene exported as an instant-ngp / nerfstudio capture (OpenCV
// distortion rendered in, two cameras, per-frame intrinsics, no split lists)
// and as an LLFF capture (forward-facing, poses_bounds.npy, images_4/), read
// back through ImageLoader: the cameras must put the generator's exact depth
// on the surface of the object the generator hit. Then every format's clear
// errors on damaged copies, and `samnerf scene --format`.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Camera, ViewsValue } from '../../engine/values';
import { boxDownscale, buildSceneCapture, sdf, type SceneCapture, type SceneLayout } from '../../nodes/scene';
import { project, readNpy, unproject } from '../../nodes/views';
import { pixelRay } from '../../runtime-gpu/nerf/rays';
import { REPO_ROOT } from '../helpers/shared';
import { failure, runLoader, write } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'samnerf-captures-'));

function writeCapture(capture: SceneCapture, root: string): string {
  rmSync(root, { recursive: true, force: true });
  for (const f of capture.files) write(join(root, f.path), f.bytes);
  return root;
}

/** Signed distance from a world point to object `id` of the layout (0: the ground plane z = 0). */
function distanceTo(layout: SceneLayout, id: number, p: readonly number[]): number {
  if (id === 0) return p[2]!;
  const o = layout.objects[id - 1]!;
  const c = Math.cos(o.rotation), s = Math.sin(o.rotation);
  const rx = p[0]! - o.centre[0], ry = p[1]! - o.centre[1];
  return sdf(o.shape, c * rx + s * ry, -s * rx + c * ry, p[2]! - o.centre[2]);
}

/** OpenCV's forward model, written out here independently of the code under test: pixel (continuous) of a world point. */
function projectDistorted(c: Camera, p: readonly number[]): [number, number] {
  const m = c.cameraToWorld;
  const d = [p[0]! - m[3]!, p[1]! - m[7]!, p[2]! - m[11]!];
  const xc = m[0]! * d[0]! + m[4]! * d[1]! + m[8]! * d[2]!;
  const yc = m[1]! * d[0]! + m[5]! * d[1]! + m[9]! * d[2]!;
  const zc = m[2]! * d[0]! + m[6]! * d[1]! + m[10]! * d[2]!;
  const x = xc / -zc, y = -yc / -zc; // OpenCV: y down, z forward
  const { k1, k2, p1, p2 } = c.distortion!;
  const r2 = x * x + y * y, radial = 1 + k1 * r2 + k2 * r2 * r2;
  const xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
  const yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
  return [c.fx * xd + c.cx, c.fy * yd + c.cy];
}

describe('instant-ngp / nerfstudio capture of the generated scene', () => {
  const capture = buildSceneCapture({ format: 'ngp', views: 16, size: 48, seed: 3 });
  const root = writeCapture(capture, join(dir, 'ngp'));

  it('loads with both cameras\' intrinsics and distortion, the hold-out split, the aabb_scale box and the exact depth', async () => {
    const json = JSON.parse(readFileSync(join(root, 'transforms.json'), 'utf8'));
    expect(json).toMatchObject({ camera_model: 'OPENCV', w: 48, h: 48, aabb_scale: 1 });
    expect(json.train_filenames ?? json.test_filenames).toBeUndefined();
    expect(json.frames[1].fl_x).toBeGreaterThan(json.fl_x * 1.1); // per-frame intrinsics on odd frames
    expect(json.frames[0].fl_x).toBeUndefined();

    const { views } = (await runLoader({ path: root })) as { views: ViewsValue };
    expect(views.format).toBe('nerfstudio');
    expect(views.sceneKind).toBe('object');
    expect(views.bounds.max[0]).toBeCloseTo(0.5 / 0.33, 9);
    expect(views.views.map((v) => v.name)).toEqual(capture.views.map((v) => v.name));
    expect(views.views.map((v) => v.split)).toEqual(capture.views.map((v) => v.split));
    expect(views.views.filter((v) => v.split === 'test').map((v) => v.name)).toEqual(['images/frame_00000', 'images/frame_00008']);
    views.views.forEach((v, i) => {
      const g = capture.views[i]!.camera;
      expect(v.camera).toEqual(g); // intrinsics, distortion and pose, exactly
      expect(Buffer.compare(Buffer.from(v.depth!.buffer, v.depth!.byteOffset, v.depth!.byteLength), Buffer.from(capture.renders[i]!.depth.buffer))).toBe(0);
      expect([...v.alpha!]).toEqual([...capture.renders[i]!.rgba].filter((_, k) => k % 4 === 3));
    });
    expect(views.views[1]!.camera.fx).not.toBe(views.views[0]!.camera.fx);
  });

  it("the NeRF's rays through the loaded cameras meet the surface the generator hit, and the forward OpenCV model maps it back to the pixel", async () => {
    const { views } = (await runLoader({ path: root })) as { views: ViewsValue };
    const ray = new Float64Array(6);
    let checked = 0, pinholeMisses = 0, maxPixelError = 0;
    views.views.forEach((v, i) => {
      const r = capture.renders[i]!;
      for (let k = i % 5; k < r.depth.length; k += 5) {
        const depth = r.depth[k]!;
        if (!depth) continue;
        const u = k % r.width, y = Math.floor(k / r.width), id = r.instances[k]!;
        const zFactor = pixelRay(v.camera, u, y, ray);
        const t = depth / zFactor;
        const p = [ray[0]! + t * ray[3]!, ray[1]! + t * ray[4]!, ray[2]! + t * ray[5]!];
        expect(Math.abs(distanceTo(capture.layout, id, p)), `${v.name} pixel ${u},${y}`).toBeLessThan(1e-4);
        const [px, py] = projectDistorted(v.camera, p);
        maxPixelError = Math.max(maxPixelError, Math.hypot(px - (u + 0.5), py - (y + 0.5)));
        // The same pixel read as a plain pinhole (distortion ignored) lands off the surface near the edges.
        const pin = unproject({ ...v.camera, distortion: undefined }, u, y, depth);
        if (Math.abs(distanceTo(capture.layout, id, pin)) > 2e-3) pinholeMisses++;
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(1500);
    expect(maxPixelError).toBeLessThan(1e-6);
    expect(pinholeMisses / checked).toBeGreaterThan(0.2);
  });

  it('clear errors on damaged copies: a missing frame, a 3x4 matrix, an image of the wrong size, a depth map of the wrong shape', async () => {
    const bad = join(dir, 'ngp-bad');
    const reset = () => {
      rmSync(bad, { recursive: true, force: true });
      cpSync(root, bad, { recursive: true });
    };
    const transforms = () => JSON.parse(readFileSync(join(bad, 'transforms.json'), 'utf8'));

    reset();
    rmSync(join(bad, 'images/frame_00005.png'));
    let e = await failure(runLoader({ path: bad }));
    expect(e.param).toBe('path');
    expect(e.message).toMatch(/transforms\.json frame 5: the image "images\/frame_00005\.png" does not exist.*restore the file or remove the frame/);

    reset();
    const t = transforms();
    t.frames[2].transform_matrix = t.frames[2].transform_matrix.slice(0, 3);
    writeFileSync(join(bad, 'transforms.json'), JSON.stringify(t));
    e = await failure(runLoader({ path: bad }));
    expect(e.message).toMatch(/transforms\.json frame 2 \("images\/frame_00002\.png"\): transform_matrix expected 4x4, got 3x4.*4x4 camera-to-world/);

    reset();
    const small = buildSceneCapture({ format: 'ngp', views: 16, size: 40, seed: 3 });
    write(join(bad, 'images/frame_00004.png'), small.files.find((f) => f.path === 'images/frame_00004.png')!.bytes);
    e = await failure(runLoader({ path: bad }));
    expect(e.message).toMatch(/frame_00004\.png" is 40x40 but transforms\.json \(w, h\) says 48x48.*fix the intrinsics/);

    reset();
    const t2 = transforms();
    t2.frames[3].w = 50; // a per-frame size that disagrees with that frame's image
    writeFileSync(join(bad, 'transforms.json'), JSON.stringify(t2));
    e = await failure(runLoader({ path: bad }));
    expect(e.message).toMatch(/frame_00003\.png" is 48x48 but transforms\.json \(w, h\) says 50x48/);

    reset();
    write(join(bad, 'depth/frame_00006.npy'), readFileSync(join(dir, 'ngp', 'depth/frame_00006.npy')).subarray(0, 128));
    e = await failure(runLoader({ path: bad }));
    expect(e.message).toMatch(/depth file ".*frame_00006\.npy" cannot be read: truncated data.*/);
    // ... which groundTruth off skips.
    const { views } = (await runLoader({ path: bad, groundTruth: false })) as { views: ViewsValue };
    expect(views.views).toHaveLength(16);
  });
});

describe('LLFF capture of the generated scene', () => {
  const capture = buildSceneCapture({ format: 'llff', views: 12, size: 96, seed: 3, llffFactor: 4 });
  const root = writeCapture(capture, join(dir, 'llff'));

  it('writes poses_bounds.npy (N x 17, float64), images/ and images_4/', () => {
    const pb = readNpy(readFileSync(join(root, 'poses_bounds.npy')));
    expect(pb).toMatchObject({ shape: [12, 17], dtype: 'float64' });
    expect([pb.data[4], pb.data[9]]).toEqual([72, 96]); // h, w of the full-size images
    expect(readdirSync(join(root, 'images'))).toHaveLength(12);
    expect(readdirSync(join(root, 'images_4'))).toHaveLength(12);
    // The near and far columns bracket the exact depth of each view.
    for (let i = 0; i < 12; i++) {
      const d = capture.renders[i]!.depth.filter((x) => x > 0);
      expect(pb.data[i * 17 + 15]).toBeCloseTo(Math.min(...d), 5);
      expect(pb.data[i * 17 + 16]).toBeCloseTo(Math.max(...d), 5);
    }
  });

  it('full size: forward-facing, the generator\'s cameras, and the exact depth unprojects onto the surface hit', async () => {
    const { views } = (await runLoader({ path: root })) as { views: ViewsValue };
    expect(views).toMatchObject({ format: 'llff', sceneKind: 'forward' });
    expect(views.views.map((v) => v.name)).toEqual(capture.views.map((v) => v.name));
    expect(views.views.map((v) => v.split)).toEqual(capture.views.map((v) => v.split));
    let checked = 0;
    views.views.forEach((v, i) => {
      const g = capture.views[i]!.camera;
      expect(v.camera).toMatchObject({ width: 96, height: 72, fx: g.fx, fy: g.fy, cx: 48, cy: 36 });
      v.camera.cameraToWorld.forEach((x, k) => expect(x).toBeCloseTo(g.cameraToWorld[k]!, 12));
      const r = capture.renders[i]!;
      for (let k = i % 3; k < r.depth.length; k += 3) {
        if (!r.depth[k]) continue;
        const p = unproject(v.camera, k % r.width, Math.floor(k / r.width), r.depth[k]!);
        expect(Math.abs(distanceTo(capture.layout, r.instances[k]!, p))).toBeLessThan(1e-4);
        checked++;
      }
      // Opaque: the sky fills what misses the ground.
      expect(v.alpha).toBeUndefined();
    });
    expect(checked).toBeGreaterThan(10000);
    // The scene lies inside the box around the frusta between near and far.
    for (const o of capture.layout.objects) for (let a = 0; a < 3; a++) {
      expect(o.centre[a]).toBeGreaterThan(views.bounds.min[a]!);
      expect(o.centre[a]).toBeLessThan(views.bounds.max[a]!);
    }
  });

  it('scale 0.25 reads images_4/ (4x4 block means) with intrinsics / 4: a known point projects to a quarter of its full-size pixel', async () => {
    const { views } = (await runLoader({ path: root, scale: 0.25 })) as { views: ViewsValue };
    const full = capture.views;
    views.views.forEach((v, i) => {
      expect(v.image).toMatchObject({ width: 24, height: 18 });
      const r = capture.renders[i]!;
      const rgb = new Uint8Array(96 * 72 * 3);
      for (let p = 0; p < 96 * 72; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = r.rgba[4 * p + c]!;
      expect([...v.image.data]).toEqual([...boxDownscale(rgb, 96, 72, 4)]);
      for (const o of capture.layout.objects) {
        const a = project(v.camera, o.centre), b = project(full[i]!.camera, o.centre);
        expect(a.x).toBeCloseTo(b.x / 4, 9);
        expect(a.y).toBeCloseTo(b.y / 4, 9);
        expect(a.depth).toBeCloseTo(b.depth, 9);
      }
    });
  });

  it('clear errors on damaged copies: a missing frame, a matrix of the wrong shape, an image of the wrong size', async () => {
    const bad = join(dir, 'llff-bad');
    const reset = () => {
      rmSync(bad, { recursive: true, force: true });
      cpSync(root, bad, { recursive: true });
    };
    reset();
    rmSync(join(bad, 'images_4/img_007.png'));
    let e = await failure(runLoader({ path: bad, scale: 0.25 }));
    expect(e).toMatchObject({ param: 'path' });
    expect(e.message).toMatch(/poses_bounds\.npy has 12 poses but images_4\/ holds 11 images.*one image per pose/);

    reset();
    const pb = readNpy(readFileSync(join(root, 'poses_bounds.npy')));
    const { writeNpy } = await import('../../nodes/views');
    writeFileSync(join(bad, 'poses_bounds.npy'), writeNpy(pb.data as Float64Array, [6, 34]));
    e = await failure(runLoader({ path: bad }));
    expect(e.message).toMatch(/poses_bounds\.npy has shape \(6, 34\); LLFF expects \(N, 17\)/);

    reset();
    write(join(bad, 'images/img_002.png'), readFileSync(join(root, 'images_4/img_002.png')));
    e = await failure(runLoader({ path: bad }));
    expect(e.message).toMatch(/img_002\.png" is 24x18 but poses_bounds\.npy \(h, w\) says 96x72/);
  });
});

describe('Blender: an image whose size disagrees with the intrinsics', () => {
  it('is refused when the transforms file declares w and h', async () => {
    const capture = buildSceneCapture({ format: 'blender', views: 8, size: 32, seed: 1 });
    const root = writeCapture(capture, join(dir, 'blender-size'));
    const t = JSON.parse(readFileSync(join(root, 'transforms_train.json'), 'utf8'));
    writeFileSync(join(root, 'transforms_train.json'), JSON.stringify({ ...t, fl_x: 40, w: 32, h: 30 }));
    const e = await failure(runLoader({ path: root }));
    expect(e.param).toBe('path');
    expect(e.message).toMatch(/r_\d+\.png" is 32x32 but transforms_train\.json \(w, h\) says 32x30.*fix the intrinsics/);
  });
});

describe('samnerf scene --format', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(REPO_ROOT, 'cli', 'bin.js'), 'scene', ...args], { cwd: REPO_ROOT }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  it('writes ngp and llff captures that auto-detect, and refuses bad options with exit 2', async () => {
    const ngp = join(dir, 'cli-ngp');
    const a = await run([ngp, '--format', 'ngp', '--views', '8', '--size', '24', '--seed', '2']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/ngp, 8 views \(7 train, 1 test\) at 24x24/);
    expect(readdirSync(ngp).sort()).toEqual(['depth', 'images', 'scene.json', 'transforms.json']);
    expect(((await runLoader({ path: ngp })) as { views: ViewsValue }).views.format).toBe('nerfstudio');

    const llff = join(dir, 'cli-llff');
    const b = await run([llff, '--format', 'llff', '--views', '9', '--size', '64', '--llff-factor', '2']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/llff, 9 views \(7 train, 2 test\) at 64x48 \(and 1\/2 in images_2\/\)/);
    expect(existsSync(join(llff, 'poses_bounds.npy'))).toBe(true);
    const { views } = (await runLoader({ path: llff, scale: 0.5 })) as { views: ViewsValue };
    expect(views).toMatchObject({ format: 'llff', sceneKind: 'forward' });
    expect(views.views[0]!.image).toMatchObject({ width: 32, height: 24 });

    const c = await run([join(dir, 'x'), '--format', 'colmap']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--format colmap: expected one of blender, ngp, llff');
    const d = await run([join(dir, 'y'), '--format', 'llff', '--size', '66']);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('size 66 must be a multiple of llffFactor 4');
  }, 60_000);
});
