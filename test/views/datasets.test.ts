// Dataset readers: NeRF Blender (the shared lego), nerfstudio / instant-ngp
// and LLFF folders written here, and every bad-input error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ViewsValue } from '../../engine/values';
import { cameraCentre, project, unproject, readNpy, writeNpy, decodeRawPng, encodeRawPng, llffPoseToCameraToWorld } from '../../nodes/views';
import { HAS_SHARED, needsShared, sharedPath } from '../helpers/shared';
import { failure, npyFloat64, runLoader, solidPng, write } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'samnerf-views-'));

describe.skipIf(!HAS_SHARED)(needsShared('NeRF Blender: lego_200'), () => {
  const lego = sharedPath('data/lego_200');

  it('loads every split with focal from camera_angle_x, names, poses and the Blender scene box', async () => {
    const t0 = performance.now();
    const { views, image } = (await runLoader({ path: lego })) as { views: ViewsValue; image: { name: string } };
    console.log(`lego_200, 400 views with 200 depth maps: ${Math.round(performance.now() - t0)} ms`);
    const count = (s: string) => views.views.filter((v) => v.split === s).length;
    expect([count('train'), count('val'), count('test')]).toEqual([100, 100, 200]);
    expect(views).toMatchObject({ format: 'blender', near: 2, far: 6, sceneKind: 'object', bounds: { min: [-1.5, -1.5, -1.5], max: [1.5, 1.5, 1.5] } });
    const first = views.views[0]!;
    expect(first.name).toBe('train/r_0');
    expect(image.name).toBe('train/r_0');
    expect(first.camera).toMatchObject({ width: 200, height: 200, cx: 100, cy: 100 });
    expect(first.camera.fx).toBeCloseTo((0.5 * 200) / Math.tan(0.5 * 0.6911112070083618), 6);
    expect(Math.hypot(...cameraCentre(first.camera))).toBeCloseTo(4.031, 2);
    expect(views.views.find((v) => v.name === 'test/r_5')?.split).toBe('test');
    // The cameras circle the object: the world origin projects near the image centre in every view.
    for (const v of views.views.filter((_, i) => i % 37 === 0)) {
      const p = project(v.camera, [0, 0, 0]);
      expect(Math.hypot(p.x - 100, p.y - 100)).toBeLessThan(3);
      expect(p.depth).toBeGreaterThan(3.5);
    }
    // Alpha survives next to the composited image; a corner is background (white).
    expect(first.alpha![0]).toBe(0);
    expect([...first.image.data.subarray(0, 3)]).toEqual([255, 255, 255]);
  });

  it('maps the 8-bit test depth PNGs to planar depth that agrees across views', async () => {
    const { views } = (await runLoader({ path: lego, splits: 'test' })) as { views: ViewsValue };
    expect(views.views.every((v) => v.depth)).toBe(true);
    // Unproject view A's depth, project into B, compare with B's depth where B sees the same surface.
    const errors: number[] = [];
    for (const [a, b] of [[0, 3], [50, 53], [100, 104], [150, 152]] as const) {
      const A = views.views[a]!, B = views.views[b]!;
      for (let i = 0; i < 200 * 200; i += 7) {
        const d = A.depth![i]!;
        if (!d) continue;
        const p = unproject(A.camera, i % 200, Math.floor(i / 200), d);
        const q = project(B.camera, p);
        const u = Math.floor(q.x), v = Math.floor(q.y);
        if (u < 0 || v < 0 || u >= 200 || v >= 200) continue;
        const db = B.depth![v * 200 + u]!;
        if (db) errors.push(Math.abs(q.depth - db) / db);
      }
    }
    errors.sort((x, y) => x - y);
    expect(errors.length).toBeGreaterThan(2000);
    // One 8-bit step is 8/255 ≈ 0.031 units, about 0.8% at depth 4: the median error stays below a step.
    expect(errors[errors.length >> 1]!).toBeLessThan(0.008);
  });

  it('scale 0.5 halves sizes and intrinsics; splits limits what is read', async () => {
    const { views } = (await runLoader({ path: lego, scale: 0.5, splits: 'train', view: 'train/r_7' })) as { views: ViewsValue };
    expect(views.views).toHaveLength(100);
    const v = views.views[0]!;
    expect(v.image).toMatchObject({ width: 100, height: 100 });
    expect(v.image.data).toHaveLength(100 * 100 * 3);
    expect(v.camera).toMatchObject({ width: 100, height: 100, cx: 50, cy: 50 });
    expect(v.camera.fx).toBeCloseTo((0.5 * 100) / Math.tan(0.5 * 0.6911112070083618), 6);
    expect(v.alpha).toHaveLength(100 * 100);
  });
});

describe('nerfstudio / instant-ngp transforms.json', () => {
  const root = join(dir, 'ns');
  const pose = (i: number) => [[1, 0, 0, 0.1 * i], [0, 1, 0, 0.2], [0, 0, 1, 3], [0, 0, 0, 1]];
  const frames = Array.from({ length: 10 }, (_, i) => ({ file_path: `images/frame_${String(i).padStart(5, '0')}.png`, transform_matrix: pose(i), ...(i === 3 ? { fl_x: 12 } : {}) })).reverse();
  const transforms = { camera_model: 'OPENCV', fl_x: 10, fl_y: 11, cx: 4.2, cy: 2.9, w: 8, h: 6, k1: 0.1, k2: -0.01, p1: 0, p2: 0, aabb_scale: 4, frames };

  it('reads intrinsics (per-frame overrides), poses, names and holds out every 8th view', async () => {
    write(join(root, 'transforms.json'), JSON.stringify(transforms));
    for (let i = 0; i < 10; i++) await solidPng(join(root, `images/frame_${String(i).padStart(5, '0')}.png`), 8, 6, [200, 10, 10]);
    const { views, image } = (await runLoader({ path: root })) as { views: ViewsValue; image: { name: string } };
    expect(views.format).toBe('nerfstudio');
    expect(views.views.map((v) => v.name)).toEqual(Array.from({ length: 10 }, (_, i) => `images/frame_${String(i).padStart(5, '0')}`));
    expect(views.views.filter((v) => v.split === 'test').map((v) => v.name)).toEqual(['images/frame_00000', 'images/frame_00008']);
    expect(image.name).toBe('images/frame_00000');
    const v3 = views.views[3]!;
    expect(v3.camera).toMatchObject({ width: 8, height: 6, fx: 12, fy: 11, cx: 4.2, cy: 2.9, distortion: { k1: 0.1, k2: -0.01, p1: 0, p2: 0 } });
    expect(views.views[4]!.camera.fx).toBe(10);
    expect(v3.camera.cameraToWorld).toEqual(pose(3).flat());
    // instant-ngp's box: aabb_scale 4 unit cubes of 1/0.33 world units around the origin.
    expect(views.bounds.max[0]).toBeCloseTo(2 / 0.33, 6);
    expect(views.bounds.min[2]).toBeCloseTo(-2 / 0.33, 6);
    expect(views.sceneKind).toBe('forward');
  });

  it('scale 0.5 reads images_2/ when present (else resizes) and halves the intrinsics', async () => {
    const { views: resized } = (await runLoader({ path: root, scale: 0.5, splits: 'train' })) as { views: ViewsValue };
    expect(resized.views[0]!.image).toMatchObject({ width: 4, height: 3 });
    expect([...resized.views[0]!.image.data.subarray(0, 3)]).toEqual([200, 10, 10]);
    for (let i = 0; i < 10; i++) await solidPng(join(root, `images_2/frame_${String(i).padStart(5, '0')}.png`), 4, 3, [10, 200, 10]);
    const { views } = (await runLoader({ path: root, scale: 0.5, evalEvery: 0 })) as { views: ViewsValue };
    expect(views.views.every((v) => v.split === 'train')).toBe(true);
    const v = views.views[3]!;
    expect(v.name).toBe('images/frame_00003');
    expect([...v.image.data.subarray(0, 3)]).toEqual([10, 200, 10]);
    expect(v.camera).toMatchObject({ width: 4, height: 3, fx: 6, fy: 5.5, cx: 2.1, cy: 1.45 });
    rmSync(join(root, 'images_2'), { recursive: true });
  });

  it('refuses an image whose size disagrees with w/h, naming the file and the fix', async () => {
    const bad = join(dir, 'ns-size');
    write(join(bad, 'transforms.json'), JSON.stringify({ ...transforms, w: 10, frames: frames.slice(0, 2) }));
    for (const f of frames.slice(0, 2)) await solidPng(join(bad, f.file_path), 8, 6, [0, 0, 0]);
    const e = await failure(runLoader({ path: bad }));
    expect(e.param).toBe('path');
    expect(e.message).toMatch(/frame_0000\d\.png" is 8x6 but transforms\.json \(w, h\) says 10x6.*fix the intrinsics/);
  });
});

describe('LLFF poses_bounds.npy', () => {
  const root = join(dir, 'llff');
  // Row 1 by hand: LLFF columns (down, right, back) = ((0,0,-1), (0,1,0), (1,0,0)): the camera looks along world -X with +Z up.
  const llffRotation = [[0, 0, 1], [0, 1, 0], [-1, 0, 0]];
  const identity = [[0, 1, 0], [-1, 0, 0], [0, 0, 1]]; // ours = identity
  const row = (r: number[][], t: number[], hwf = [6, 8, 7], bounds = [1, 5]) => [...[0, 1, 2].flatMap((i) => [...r[i]!, t[i]!, hwf[i]!]), ...bounds];

  it('converts poses to the OpenGL convention, scene bounds from the bounds column', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => (i === 1 ? row(llffRotation, [2, 0.5, 0.3]) : row(identity, [0.1 * i, 0, 0], [6, 8, 7], [1 + i * 0.1, 5 + i])));
    write(join(root, 'poses_bounds.npy'), npyFloat64(rows.flat(), [10, 17]));
    for (let i = 0; i < 10; i++) await solidPng(join(root, `images/IMG_${1000 + i}.JPG`.replace('.JPG', '.png')), 8, 6, [5, 5, 250]);
    const { views } = (await runLoader({ path: root })) as { views: ViewsValue };
    expect(views.format).toBe('llff');
    const v1 = views.views[1]!;
    expect(v1.name).toBe('images/IMG_1001');
    expect(v1.split).toBe('train');
    expect(views.views[0]!.split).toBe('test');
    expect(views.views[8]!.split).toBe('test');
    expect(v1.camera).toMatchObject({ width: 8, height: 6, fx: 7, fy: 7, cx: 4, cy: 3 });
    expect(v1.camera.cameraToWorld).toEqual([0, 0, 1, 2, 1, 0, 0, 0.5, 0, 1, 0, 0.3, 0, 0, 0, 1]);
    expect(views.views[0]!.camera.cameraToWorld).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    // 3 units ahead (-X), 0.4 to the camera's right (+Y world), 0.6 up (+Z world).
    const p = project(v1.camera, [2 - 3, 0.5 + 0.4, 0.3 + 0.6]);
    expect(p.depth).toBeCloseTo(3, 12);
    expect(p.x).toBeCloseTo(4 + (7 * 0.4) / 3, 12);
    expect(p.y).toBeCloseTo(3 - (7 * 0.6) / 3, 12);
    // One camera looks 90° away from the others: not a forward-facing capture.
    expect(views.sceneKind).toBe('unbounded');
    expect(views.near).toBeCloseTo(0.9 * 1, 12);
    expect(views.far).toBeCloseTo(1.1 * 14, 12);
    expect(llffPoseToCameraToWorld(row(identity, [0, 0, 0]))).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('a forward-facing rig: the box around every frustum between near and far', async () => {
    const fwd = join(dir, 'llff-forward');
    write(join(fwd, 'poses_bounds.npy'), npyFloat64([row(identity, [0, 0, 0], [6, 8, 8], [2, 10]), row(identity, [1, 0, 0], [6, 8, 8], [2, 10])].flat(), [2, 17]));
    for (const n of ['a', 'b']) await solidPng(join(fwd, `images/${n}.png`), 8, 6, [0, 0, 0]);
    const { views } = (await runLoader({ path: fwd })) as { views: ViewsValue };
    expect(views.sceneKind).toBe('forward');
    // far 1.1 * 10 = 11 units ahead (-Z); half width there 11 * 4 / 8 = 5.5, plus the 1-unit baseline.
    expect(views.bounds.min[2]).toBeCloseTo(-11, 9);
    expect(views.bounds.max[0]).toBeCloseTo(1 + 5.5, 9);
    expect(views.bounds.min[0]).toBeCloseTo(-5.5, 9);
  });

  it('reads images_2/ for scale 0.5 with intrinsics from hwf / 2', async () => {
    for (let i = 0; i < 10; i++) await solidPng(join(root, `images_2/IMG_${1000 + i}.png`), 4, 3, [250, 5, 5]);
    const { views } = (await runLoader({ path: root, scale: 0.5, splits: 'train' })) as { views: ViewsValue };
    const v = views.views[0]!;
    expect(v.name).toBe('images/IMG_1001');
    expect([...v.image.data.subarray(0, 3)]).toEqual([250, 5, 5]);
    expect(v.camera).toMatchObject({ width: 4, height: 3, fx: 3.5, cx: 2, cy: 1.5 });
  });

  it('errors: matrix of the wrong shape, image count, image size', async () => {
    const bad = join(dir, 'llff-bad');
    write(join(bad, 'poses_bounds.npy'), npyFloat64(new Array(30).fill(1), [2, 15]));
    await solidPng(join(bad, 'images/a.png'), 8, 6, [0, 0, 0]);
    let e = await failure(runLoader({ path: bad }));
    expect(e).toMatchObject({ param: 'path' });
    expect(e.message).toMatch(/poses_bounds\.npy has shape \(2, 15\); LLFF expects \(N, 17\)/);

    write(join(bad, 'poses_bounds.npy'), npyFloat64([row(identity, [0, 0, 0]), row(identity, [1, 0, 0])].flat(), [2, 17]));
    e = await failure(runLoader({ path: bad }));
    expect(e.message).toMatch(/has 2 poses but images\/ holds 1 images/);

    await solidPng(join(bad, 'images/b.png'), 9, 6, [0, 0, 0]);
    e = await failure(runLoader({ path: bad, splits: 'train,test' }));
    expect(e.message).toMatch(/b\.png" is 9x6 but poses_bounds\.npy \(h, w\) says 8x6/);
  });
});

describe('bad input', () => {
  it('a missing frame file and a 3x4 matrix in a Blender dataset', async () => {
    const root = join(dir, 'blender-bad');
    const m = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]];
    write(join(root, 'transforms_train.json'), JSON.stringify({ camera_angle_x: 0.7, frames: [{ file_path: './train/r_0', transform_matrix: m }, { file_path: './train/r_1', transform_matrix: m }] }));
    await solidPng(join(root, 'train/r_0.png'), 4, 4, [1, 2, 3]);
    let e = await failure(runLoader({ path: root }));
    expect(e.param).toBe('path');
    expect(e.message).toMatch(/transforms_train\.json frame 1: the image "\.\/train\/r_1" does not exist.*restore the file or remove the frame/);

    write(join(root, 'transforms_train.json'), JSON.stringify({ camera_angle_x: 0.7, frames: [{ file_path: './train/r_0', transform_matrix: m.slice(0, 3) }] }));
    e = await failure(runLoader({ path: root }));
    expect(e.message).toMatch(/frame 0 \("\.\/train\/r_0"\): transform_matrix expected 4x4, got 3x4/);

    write(join(root, 'transforms_train.json'), JSON.stringify({ camera_angle_x: 0.7, frames: [{ file_path: './train/r_0', transform_matrix: m }] }));
    const { views } = (await runLoader({ path: join(root, 'transforms_train.json') })) as { views: ViewsValue };
    expect(views.views.map((v) => v.name)).toEqual(['train/r_0']);
    e = await failure(runLoader({ path: root, splits: 'test' }));
    expect(e).toMatchObject({ param: 'splits' });
    e = await failure(runLoader({ path: root, splits: 'train,tset' }));
    expect(e).toMatchObject({ param: 'splits', message: expect.stringContaining('unknown split "tset"') });
    e = await failure(runLoader({ path: root, view: 'train/r_9' }));
    expect(e).toMatchObject({ param: 'view' });
    e = await failure(runLoader({ path: root, index: 3 }));
    expect(e).toMatchObject({ param: 'index', message: expect.stringContaining('use 0 to 0') });
  });

  it('an unknown format, and a format that does not match the folder', async () => {
    const root = join(dir, 'unknown');
    write(join(root, 'cameras.txt'), '# COLMAP text model');
    let e = await failure(runLoader({ path: root }));
    expect(e.param).toBe('format');
    expect(e.message).toMatch(/holds no PNG or JPEG images and no dataset.*"format" can be auto, image, blender, nerfstudio or llff/);
    e = await failure(runLoader({ path: root, format: 'llff' }));
    expect(e).toMatchObject({ param: 'format', message: expect.stringContaining('has no poses_bounds.npy') });
    e = await failure(runLoader({ path: root, format: 'blender' }));
    expect(e).toMatchObject({ param: 'format' });
  });
});

describe('file formats', () => {
  it('.npy: float32 round trip, float64 by hand, refusals', () => {
    const a = new Float32Array([1.5, -2, 3.25, 0, 1e-7, 7]);
    const r = readNpy(writeNpy(a, [2, 3]));
    expect(r.shape).toEqual([2, 3]);
    expect(r.dtype).toBe('float32');
    expect([...r.data]).toEqual([...a]);
    expect(writeNpy(a, [2, 3]).indexOf(0x0a)).toBe(127); // header ends at a 64-byte boundary, as numpy writes it
    expect([...readNpy(npyFloat64([1, 2, 3], [3])).data]).toEqual([1, 2, 3]);
    const be = Buffer.from(npyFloat64([1], [1])).toString('latin1').replace("'<f8'", "'>f8'");
    expect(() => readNpy(Buffer.from(be, 'latin1'))).toThrow(/dtype >f8 is not supported/);
    const fortran = Buffer.from(npyFloat64([1], [1])).toString('latin1').replace('False', 'True ');
    expect(() => readNpy(Buffer.from(fortran, 'latin1'))).toThrow(/Fortran order/);
  });

  it('raw PNG: 8- and 16-bit samples round-trip exactly, and sharp agrees', async () => {
    const d16 = Uint16Array.from({ length: 7 * 5 }, (_, i) => (i * 1871) % 65536);
    const back = decodeRawPng(encodeRawPng({ width: 7, height: 5, channels: 1, data: d16 }));
    expect(back).toMatchObject({ width: 7, height: 5, channels: 1, bitDepth: 16 });
    expect([...back.data]).toEqual([...d16]);
    const rgba = Uint8Array.from({ length: 6 * 4 * 4 }, (_, i) => (i * 37) % 256);
    const png = encodeRawPng({ width: 6, height: 4, channels: 4, data: rgba });
    expect([...decodeRawPng(png).data]).toEqual([...rgba]);
    expect([...decodeRawPng(png, 'x', true).data]).toEqual([...rgba].filter((_, i) => i % 4 === 0));
    const ga16 = Uint16Array.from({ length: 5 * 3 * 2 }, (_, i) => (i * 4099) % 65536);
    const first = decodeRawPng(encodeRawPng({ width: 5, height: 3, channels: 2, data: ga16 }), 'x', true);
    expect(first).toMatchObject({ channels: 1, bitDepth: 16 });
    expect([...first.data]).toEqual([...ga16].filter((_, i) => i % 2 === 0));
    const { default: sharp } = await import('sharp');
    const raw = await sharp(png).raw().toBuffer();
    expect([...raw]).toEqual([...rgba]);
    // And a PNG written by sharp (adaptive filters) decodes to the same samples.
    const bySharp = await sharp(Buffer.from(rgba), { raw: { width: 6, height: 4, channels: 4 } }).png({ adaptiveFiltering: true }).toBuffer();
    expect([...decodeRawPng(bySharp).data]).toEqual([...rgba]);
    expect([...decodeRawPng(bySharp, 'x', true).data]).toEqual([...rgba].filter((_, i) => i % 4 === 0));
  });
});

describe('plain images', () => {
  it('a photo keeps image and alpha, and gives a one-view "images" Views with a placeholder camera', async () => {
    const { default: sharp } = await import('sharp');
    const rgba = Buffer.alloc(6 * 4 * 4, 255);
    rgba[3] = 0; // pixel (0, 0) transparent
    const path = join(dir, 'photos', 'cat.png');
    write(path, await sharp(rgba, { raw: { width: 6, height: 4, channels: 4 } }).png().toBuffer());
    const out = (await runLoader({ path })) as { image: { width: number; name: string }; alpha: { data: Uint8Array }; views: ViewsValue };
    expect(out.image).toMatchObject({ width: 6, name: path });
    expect([...out.alpha.data.subarray(0, 2)]).toEqual([0, 1]);
    expect(out.views).toMatchObject({ format: 'images', sceneKind: 'forward', views: [{ name: 'cat', split: 'train', camera: { width: 6, height: 4, fx: 6, cx: 3, cy: 2 } }] });
    const half = (await runLoader({ path: join(dir, 'photos'), scale: 0.5 })) as { image: { width: number; height: number }; alpha: { data: Uint8Array } };
    expect(half.image).toMatchObject({ width: 3, height: 2 });
    expect(half.alpha.data).toHaveLength(6);
  });
});
