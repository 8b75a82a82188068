// The procedural scene: same seed same bytes, depth and instance masks that
// agree with the geometry, a guaranteed partial occlusion, and the files read
// back through the Blender reader; `samnerf scene` through a child process.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ViewsValue } from '../../engine/values';
import { buildSceneDataset, renderView, sdf, type SceneLayout } from '../../nodes/scene';
import { unproject } from '../../nodes/views';
import { REPO_ROOT } from '../helpers/shared';
import { runLoader, write } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'samnerf-scene-'));
const small = { views: 16, size: 48, seed: 5 };
const scene = buildSceneDataset(small);

/** Signed distance from a world point to an object of the layout. */
function distanceTo(layout: SceneLayout, id: number, p: readonly number[]): number {
  const o = layout.objects[id - 1]!;
  const c = Math.cos(o.rotation), s = Math.sin(o.rotation);
  const rx = p[0]! - o.centre[0], ry = p[1]! - o.centre[1];
  return sdf(o.shape, c * rx + s * ry, -s * rx + c * ry, p[2]! - o.centre[2]);
}

describe('scene generator', () => {
  it('is deterministic: the same seed gives the same bytes, another seed other bytes', () => {
    const again = buildSceneDataset(small);
    expect(again.files.map((f) => f.path)).toEqual(scene.files.map((f) => f.path));
    for (let i = 0; i < scene.files.length; i++) expect(Buffer.compare(again.files[i]!.bytes, scene.files[i]!.bytes), scene.files[i]!.path).toBe(0);
    const other = buildSceneDataset({ ...small, seed: 6 });
    expect(Buffer.compare(other.files[0]!.bytes, scene.files[0]!.bytes)).not.toBe(0);
  });

  it('has five distinct shapes with distinct colours and textures on the ground', () => {
    const objects = scene.layout.objects;
    expect(new Set(objects.map((o) => o.shape.kind)).size).toBe(5);
    expect(new Set(objects.map((o) => o.name.split(' ')[0])).size).toBe(5);
    expect(new Set(objects.map((o) => o.texture.kind)).size).toBe(3);
    for (const o of objects) expect(o.centre[2]).toBeGreaterThan(0);
  });

  it('depth re-projects onto the surface of the object the instance mask names', () => {
    let checked = 0, ground = 0, empty = 0;
    scene.views.forEach((view, v) => {
      const r = scene.renders[v]!;
      for (let i = v % 7; i < r.depth.length; i += 7) {
        const u = i % r.width, y = Math.floor(i / r.width);
        const id = r.instances[i]!, d = r.depth[i]!;
        if (d === 0) {
          expect(r.rgba[i * 4 + 3]).toBe(0);
          empty++;
          continue;
        }
        const p = unproject(view.camera, u, y, d);
        if (id === 0) {
          expect(Math.abs(p[2])).toBeLessThan(2e-5);
          expect(Math.max(Math.abs(p[0]), Math.abs(p[1]))).toBeLessThanOrEqual(scene.layout.ground.halfSize + 1e-5);
          ground++;
        } else {
          expect(Math.abs(distanceTo(scene.layout, id, p)), `${view.name} pixel ${u},${y} id ${id}`).toBeLessThan(2e-5);
          // ... and inside no other object.
          for (const o of scene.layout.objects) if (o.id !== id) expect(distanceTo(scene.layout, o.id, p)).toBeGreaterThan(-2e-5);
          checked++;
        }
      }
    });
    expect(checked).toBeGreaterThan(300);
    expect(ground).toBeGreaterThan(300);
    expect(empty).toBeGreaterThan(100);
  });

  it('guarantees an object partly hidden by another in some view, confirmed by rendering it alone', () => {
    expect(scene.occlusions.length).toBeGreaterThan(0);
    const o = scene.occlusions[0]!;
    const v = scene.views.findIndex((view) => view.name === o.view);
    const count = (ids: Uint16Array) => ids.reduce((n, id) => n + (id === o.object ? 1 : 0), 0);
    const together = count(scene.renders[v]!.instances);
    const alone = count(renderView({ ...scene.layout, objects: scene.layout.objects.filter((x) => x.id === o.object) }, scene.views[v]!.camera).instances);
    expect(together).toBe(o.visible);
    expect(alone).toBeGreaterThan(together * 1.1);
    expect(together).toBeGreaterThan(0);
    const json = JSON.parse(new TextDecoder().decode(scene.files.find((f) => f.path === 'scene.json')!.bytes));
    expect(json.occlusions[0]).toMatchObject({ view: o.view, object: o.object });
    expect(json.objects.map((x: { id: number }) => x.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads back through ImageLoader (Blender format) with depth and instances intact', async () => {
    const root = join(dir, 'readback');
    for (const f of scene.files) write(join(root, f.path), f.bytes);
    const { views } = (await runLoader({ path: root })) as { views: ViewsValue };
    expect(views.format).toBe('blender');
    expect(views.views).toHaveLength(16);
    expect(views.views.filter((v) => v.split === 'test').map((v) => v.name)).toEqual(['test/r_0', 'test/r_1']);
    for (const view of views.views) {
      const i = scene.views.findIndex((s) => s.name === view.name);
      const r = scene.renders[i]!;
      expect(view.camera.fx).toBeCloseTo(scene.views[i]!.camera.fx, 9);
      expect(view.camera.cameraToWorld).toEqual(scene.views[i]!.camera.cameraToWorld);
      expect(Buffer.compare(Buffer.from(view.depth!.buffer, view.depth!.byteOffset, view.depth!.byteLength), Buffer.from(r.depth.buffer))).toBe(0);
      expect([...view.instances!]).toEqual([...r.instances]);
      expect([...view.alpha!]).toEqual([...r.rgba].filter((_, k) => k % 4 === 3));
    }
    // The 16-bit depth PNG agrees with the float depth to its 1/1000 step.
    const png = readFileSync(join(root, 'train/r_0_depth.png'));
    const { decodeRawPng } = await import('../../nodes/views');
    const d16 = decodeRawPng(png).data;
    const ref = views.views.find((v) => v.name === 'train/r_0')!.depth!;
    for (let k = 0; k < ref.length; k++) expect(Math.abs(d16[k]! / 1000 - ref[k]!)).toBeLessThanOrEqual(0.0005 + 1e-7);
  });
});

describe('samnerf scene', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(REPO_ROOT, 'cli', 'bin.js'), 'scene', ...args], { cwd: REPO_ROOT }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  it('writes the dataset (same bytes on a second run), and exits 2 on bad options or a foreign folder', async () => {
    const out = join(dir, 'cli');
    const first = await run([out, '--views', '8', '--size', '32', '--seed', '2']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/8 views \(7 train, 1 test\) at 32x32, seed 2/);
    expect(first.stdout).toMatch(/partial occlusions: [1-9]/);
    const files = readdirSync(out).sort();
    expect(files).toEqual(['scene.json', 'test', 'train', 'transforms_test.json', 'transforms_train.json']);
    const before = readFileSync(join(out, 'train/r_3.png'));
    expect((await run([out, '--views', '8', '--size', '32', '--seed', '2'])).code).toBe(0);
    expect(Buffer.compare(readFileSync(join(out, 'train/r_3.png')), before)).toBe(0);
    expect(readdirSync(dir).filter((n) => n.includes('partial') || n.includes('.old-'))).toEqual([]);

    const bad = await run([join(dir, 'x'), '--size', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--size 3: expected an integer from 8 to 4096');
    const foreign = join(dir, 'foreign');
    write(join(foreign, 'keep.txt'), 'mine');
    const refused = await run([foreign]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('holds no generated scene');
  });
});
