// The editor's device menu and 3D orbit view, end to end in headless
// Chromium: a generated scene uploaded as a folder, a tiny NeRF trained in
// the worker on the CPU, the orbit view rendered, dragged and clicked, and
// the click recorded as a world point of LiftPrompts. The expected object
// pixel and surface point come from the scene generator's exact render of
// the orbit camera, never from the field itself.

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphJson } from '../../engine';
import { distanceInside } from '../../nodes/lock3d/self-prompt';
import { halfExtents, renderView, sdf, type SceneObject } from '../../nodes/scene';
import { unproject } from '../../nodes/views/camera';
import { orbitCamera, orbitFromViews, type Orbit } from '../../editor/orbit';
import { makeScene, type TestScene } from '../lock3d/helpers';
import { buildAndServe, hasChromium, launchChromium, REPO_ROOT, type LaunchedBrowser, type Served } from './harness';

const ARTIFACTS = join(REPO_ROOT, 'test-results');

/** Signed distance from a world point to a scene object's surface (its shape, placed and turned about +Z). */
function objectDistance(o: SceneObject, p: readonly number[]): number {
  const dx = p[0]! - o.centre[0], dy = p[1]! - o.centre[1], dz = p[2]! - o.centre[2];
  const c = Math.cos(o.rotation), s = Math.sin(o.rotation);
  return sdf(o.shape, c * dx + s * dy, -s * dx + c * dy, dz);
}
/** The idle frame size on the CPU path (OrbitView's FULL_CPU). */
const FULL = 160;

if (!hasChromium) console.warn('orbit e2e skipped: /usr/bin/chromium is missing (apt-get install -y chromium)');

describe.skipIf(!hasChromium)('device menu and 3D orbit view in Chromium', () => {
  let served: Served;
  let browser: LaunchedBrowser;
  let page: Page;
  let t: TestScene;
  const pageErrors: string[] = [];

  const graph = () => page.evaluate(() => (window as unknown as { samnerf: { toGraph(): GraphJson } }).samnerf.toGraph());
  const paramsOf = async (p: Page, id: string) =>
    (await p.evaluate(() => (window as unknown as { samnerf: { toGraph(): GraphJson } }).samnerf.toGraph())).nodes.find((n) => n.id === id)!.params ?? {};
  const params = (id: string) => paramsOf(page, id);
  const waitStatus = (id: string, pattern: string, timeout = 30_000) => page.waitForSelector(`[data-testid=node-${id}][data-status=${pattern}]`, { timeout });
  const canvasVersion = async () => Number((await page.getAttribute('[data-testid=orbit-canvas]', 'data-version')) ?? 0);
  const pixels = () =>
    page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid=orbit-canvas]')!;
      return { width: c.width, height: c.height, data: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
    });

  async function openScene(p: Page, steps: number) {
    const folder = basename(t.dir);
    const g: GraphJson = {
      format: 'samnerf.graph',
      version: 1,
      name: 'orbit',
      nodes: [
        { id: 'data', type: 'ImageLoader', version: 1, params: { path: folder, splits: 'train,test' }, ui: { x: 0, y: 0 } },
        {
          id: 'nerf',
          type: 'NeRFTrainer',
          version: 1,
          params: { steps, maxSeconds: 40, raysPerBatch: 256, hashLevels: 8, log2TableSize: 14, evalViews: 0 },
          ui: { x: 340, y: 0 },
        },
        { id: 'lift', type: 'LiftPrompts', version: 1, params: {}, ui: { x: 680, y: 0 } },
      ],
      edges: [
        { from: 'data.views', to: 'nerf.views' },
        { from: 'data.views', to: 'lift.views' },
        { from: 'nerf.field', to: 'lift.field' },
      ],
    };
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'orbit-graph.json');
    writeFileSync(file, JSON.stringify(g));
    await p.setInputFiles('[data-testid=open-file]', file);
    await p.waitForSelector('[data-testid=node-lift]');
    // The dataset goes to the worker as a folder.
    await p.setInputFiles('[data-testid=folder-data-path]', t.dir);
    await expect.poll(async () => (await paramsOf(p, 'data')).path).toBe(folder);
    // The param is set once every file is in the worker (an edit: after a run it would re-run).
    await expect.poll(() => p.textContent('[data-testid=notice]').catch(() => ''), { timeout: 30_000 }).toMatch(new RegExp(`Folder ${folder}: \\d+ files`));
  }

  beforeAll(async () => {
    t = await makeScene({ views: 24, size: 64, seed: 3 });
    served = await buildAndServe();
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=palette-item-NeRFTrainer]');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  it('shows the worker\'s WebGPU adapter state: none in Chromium without --enable-unsafe-webgpu, with the reason', async () => {
    const adapter = page.locator('[data-testid=gpu-adapter]');
    await expect.poll(() => adapter.getAttribute('data-state')).toBe('none');
    expect(await adapter.textContent()).toMatch(/WebGPU: none \((navigator\.gpu gave no adapter|navigator\.gpu is missing)/);
    expect(await page.locator('[data-testid=device-menu] option').allTextContents()).toEqual(['auto', 'cpu', 'webgpu']);
    expect(await page.inputValue('[data-testid=device-menu]')).toBe('auto');
  });

  it('trains a tiny field on an uploaded scene; webgpu without an adapter fails on the node, naming the menu; the saved graph keeps its device', async () => {
    await openScene(page, 150);

    await page.selectOption('[data-testid=device-menu]', 'webgpu');
    expect(await page.textContent('[data-testid=device-override-nerf]')).toBe("runs on webgpu (toolbar's device menu)");
    await page.click('[data-testid=run]');
    await waitStatus('nerf', 'error');
    expect(await page.textContent('[data-testid=message-nerf]')).toMatch(/cannot train on webgpu: .*no WebGPU adapter|cannot train on webgpu: .*not available/);
    expect(await page.textContent('[data-testid=message-nerf]')).toMatch(/device "webgpu" chosen in the toolbar's device menu.*choose auto or cpu in the toolbar's device menu/);
    // The menu does not edit the document.
    expect((await params('nerf')).device).toBeUndefined();

    // cpu: re-runs by itself (re-run on edit), trains, and LiftPrompts waits for a prompt.
    const t0 = Date.now();
    await page.selectOption('[data-testid=device-menu]', 'cpu');
    expect(await page.textContent('[data-testid=device-override-nerf]')).toMatch(/runs on cpu/);
    await waitStatus('nerf', 'done', 120_000);
    console.log(`tiny NeRF trained in the browser worker in ${((Date.now() - t0) / 1000).toFixed(1)} s (150 steps)`);
    await waitStatus('lift', 'error');
    expect(await page.textContent('[data-testid=message-lift]')).toMatch(/no clicks/);
  }, 240_000);

  it('opens the 3D view, renders, changes the picture when dragged, and records a click on an object as a world point near its surface', async () => {
    await page.click('[data-testid=orbit-open-nerf]');
    await page.waitForSelector(`[data-testid=orbit-canvas][data-width="${FULL}"]`, { timeout: 60_000 });
    const first = await pixels();
    expect(first.width).toBe(FULL);
    // An image, not a blank: the trained scene shows several colours.
    const colours = new Set<number>();
    for (let i = 0; i < first.data.length; i += 4) colours.add((first.data[i]! >> 4) * 256 + (first.data[i + 1]! >> 4) * 16 + (first.data[i + 2]! >> 4));
    expect(colours.size).toBeGreaterThan(20);
    const caption = (await page.textContent('[data-testid=orbit-caption]'))!;
    console.log(`first orbit frame: ${caption.trim()}`);
    expect(caption).toMatch(/160×160 · \d+ ms · cpu/);

    // Drag: a draft frame while moving, then a sharp one when idle; the picture changes.
    const stage = (await page.locator('[data-testid=orbit-stage]').boundingBox())!;
    const before = await canvasVersion();
    await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width / 2 + 40, stage.y + stage.height / 2 + 10, { steps: 4 });
    await page.mouse.move(stage.x + stage.width / 2 + 70, stage.y + stage.height / 2 + 15, { steps: 4 });
    await page.mouse.up();
    await expect.poll(canvasVersion, { timeout: 30_000 }).toBeGreaterThan(before);
    await page.waitForSelector('[data-testid=orbit-canvas][data-width="96"]', { timeout: 30_000 });
    console.log(`draft orbit frame while dragging: ${(await page.textContent('[data-testid=orbit-caption]'))!.trim()}`);
    // The sharp frame comes IDLE_MS (250 ms) after the last move.
    await page.waitForTimeout(400);
    await expect
      .poll(async () => (await page.locator('[data-testid=orbit-busy]').count()) === 0 && (await page.getAttribute('[data-testid=orbit-canvas]', 'data-width')) === String(FULL), { timeout: 60_000 })
      .toBe(true);
    const moved = await pixels();
    expect(moved.width).toBe(FULL);
    let changed = 0;
    for (let i = 0; i < moved.data.length; i += 4) if (Math.abs(moved.data[i]! - first.data[i]!) + Math.abs(moved.data[i + 1]! - first.data[i + 1]!) > 30) changed++;
    expect(changed).toBeGreaterThan(FULL * FULL * 0.02);
    await page.screenshot({ path: join(ARTIFACTS, 'editor-orbit.png') });

    // Where the objects are in this orbit camera, from the scene generator's exact render.
    const state = JSON.parse((await page.getAttribute('[data-testid=orbit-stage]', 'data-orbit'))!);
    const orbit: Orbit = { ...orbitFromViews(t.views), ...state };
    const cam = orbitCamera(orbit, FULL);
    const gt = renderView(t.scene.layout, cam);
    let best = 0, bestArea = 0;
    for (const o of t.scene.layout.objects) {
      let a = 0;
      for (const id of gt.instances) if (id === o.id) a++;
      if (a > bestArea) [best, bestArea] = [o.id, a];
    }
    expect(bestArea, 'an object is in view').toBeGreaterThan(200);
    const inside = distanceInside(Uint8Array.from(gt.instances, (id) => (id === best ? 1 : 0)), FULL, FULL);
    let c = 0;
    for (let p = 0; p < inside.length; p++) if (inside[p]! > inside[c]!) c = p;
    const u = c % FULL, v = Math.floor(c / FULL);
    const surface = unproject(cam, u, v, gt.depth[c]!);
    const toCss = (px: number) => ((px + 0.5) / FULL) * stage.width;

    // Empty space first: refused with the reason, nothing recorded.
    // The empty pixel farthest from every surface (away from the rounded corners of the stage).
    const far = distanceInside(Uint8Array.from(gt.depth, (d) => (d === 0 ? 1 : 0)), FULL, FULL);
    let empty = -1;
    for (let p = 0; p < far.length; p++) {
      const x = p % FULL, y = Math.floor(p / FULL);
      if (x < 12 || y < 12 || x >= FULL - 12 || y >= FULL - 12) continue;
      if (empty < 0 || far[p]! > far[empty]!) empty = p;
    }
    expect(far[empty]!, 'part of the view sees nothing').toBeGreaterThan(8);
    await page.mouse.click(stage.x + toCss(empty % FULL), stage.y + toCss(Math.floor(empty / FULL)));
    await expect.poll(() => page.textContent('[data-testid=notice][data-kind=error]'), { timeout: 30_000 }).toMatch(/No 3D prompt added: empty space under the click: accumulation 0\.\d\d < minAccumulation 0\.5/);
    expect((await params('lift')).worldPoints).toBeUndefined();

    // The stage must not have moved (nothing above it changes size while rendering).
    expect(await page.locator('[data-testid=orbit-stage]').boundingBox()).toEqual(stage);
    await page.mouse.click(stage.x + toCss(u), stage.y + toCss(v));
    await expect.poll(async () => ((await params('lift')).worldPoints as unknown[] | undefined)?.length ?? 0, { timeout: 30_000 }).toBe(1);
    const [point] = (await params('lift')).worldPoints as Array<{ xyz: number[]; label: number; object: number }>;
    expect(point!.label).toBe(1);
    expect(point!.object).toBe(1);
    const error = Math.hypot(point!.xyz[0]! - surface[0], point!.xyz[1]! - surface[1], point!.xyz[2]! - surface[2]);
    const object = t.scene.layout.objects.find((o) => o.id === best)!;
    const size = Math.max(...halfExtents(object.shape));
    const off = objectDistance(object, point!.xyz);
    const steps = (await page.textContent('[data-testid=orbit-caption]'))!.match(/field of (\d+) steps/)?.[1];
    console.log(
      `orbit click on object ${best} (${object.name}, half size ${size.toFixed(2)}): lifted point ${error.toFixed(3)} from the exact surface point on the ray, ${off.toFixed(3)} from the object's surface (field of ${steps} steps; camera distance ${orbit.radius.toFixed(2)})`,
    );
    // On the clicked object: within half its half size of its surface (a field of 150 steps puts the
    // expected depth a little behind the surface), and nearer to it than to any other object.
    expect(Math.abs(off)).toBeLessThan(0.5 * size);
    for (const o of t.scene.layout.objects) if (o.id !== best) expect(objectDistance(o, point!.xyz)).toBeGreaterThan(Math.abs(off));
    expect(await page.locator('[data-testid=orbit-point-0]').count()).toBe(1);

    // The edit re-runs LiftPrompts only: it lifts the world point; the field comes from the cache.
    await waitStatus('lift', 'done', 60_000);
    expect(await page.getAttribute('[data-testid=node-nerf]', 'data-status')).toBe('cached');

    // Shift-click: a background point.
    await page.keyboard.down('Shift');
    await page.mouse.click(stage.x + toCss(u), stage.y + toCss(v));
    await page.keyboard.up('Shift');
    await expect.poll(async () => ((await params('lift')).worldPoints as Array<{ label: number }>).map((p) => p.label), { timeout: 30_000 }).toEqual([1, 0]);
    // Another prompt group: the panel's object field.
    await page.fill('[data-testid=orbit-object]', '2');
    await page.locator('[data-testid=orbit-object]').blur();
    expect(await page.locator('[data-testid=orbit-stage]').boundingBox()).toEqual(stage);
    expect(JSON.parse((await page.getAttribute('[data-testid=orbit-stage]', 'data-orbit'))!)).toEqual(state);
    await page.mouse.click(stage.x + toCss(u), stage.y + toCss(v));
    await expect
      .poll(async () => ((await params('lift')).worldPoints as Array<{ label: number; object: number }>).map((p) => [p.label, p.object]), { timeout: 30_000 })
      .toEqual([[1, 1], [0, 1], [1, 2]]);
    // Same pixel, same field, same camera: the same world point each time.
    const all = (await params('lift')).worldPoints as Array<{ xyz: number[] }>;
    expect(all[1]!.xyz).toEqual(all[0]!.xyz);
    expect(all[2]!.xyz).toEqual(all[0]!.xyz);
    await waitStatus('lift', 'done', 60_000);
    await page.screenshot({ path: join(ARTIFACTS, 'editor-orbit-click.png') });
    expect(pageErrors).toEqual([]);
  }, 240_000);

  it('while NeRFTrainer trains (400 steps), the 3D view shows its field snapshots: the picture changes before training ends; a click lifts on the snapshot without stopping training; the final field replaces it', async () => {
    if ((await page.locator('[data-testid=orbit-close]').count()) > 0) await page.click('[data-testid=orbit-close]');
    await openScene(page, 400);
    expect(await page.inputValue('[data-testid=device-menu]')).toBe('cpu');
    await page.evaluate(() => {
      // The nodes' status over time, to show that training ran once.
      const w = window as unknown as { statusLog: string[] };
      w.statusLog = [];
      const t = performance.now();
      new MutationObserver(() => {
        const st = ['nerf', 'lift'].map((id) => document.querySelector(`[data-testid=node-${id}]`)?.getAttribute('data-status')).join('/');
        if (w.statusLog.at(-1)?.endsWith(st)) return;
        w.statusLog.push(`${((performance.now() - t) / 1000).toFixed(1)} ${st}`);
      }).observe(document.body, { attributes: true, subtree: true, attributeFilter: ['data-status'] });
    });
    const t0 = Date.now();
    await page.click('[data-testid=run]');
    // The button opens once the first snapshot exists, while the node still runs.
    await waitStatus('nerf', 'running', 60_000);
    await page.waitForSelector('[data-testid=orbit-open-nerf]:not([disabled])', { timeout: 60_000 });
    expect(await page.getAttribute('[data-testid=node-nerf]', 'data-status')).toBe('running');
    await page.click('[data-testid=orbit-open-nerf]');
    await page.waitForSelector('[data-testid=orbit-canvas][data-snapshot-step]', { timeout: 60_000 });
    const step1 = Number(await page.getAttribute('[data-testid=orbit-canvas]', 'data-snapshot-step'));
    const first = await pixels();
    const firstAt = (Date.now() - t0) / 1000;
    expect(await page.textContent('[data-testid=orbit-live]')).toMatch(/training: snapshot at step \d+ · batch PSNR \d+\.\d\d dB/);

    // A later snapshot re-renders the same camera, before the node finishes; the picture changes.
    await expect
      .poll(async () => Number((await page.getAttribute('[data-testid=orbit-canvas]', 'data-snapshot-step')) ?? 0), { timeout: 120_000 })
      .toBeGreaterThan(step1);
    const step2 = Number(await page.getAttribute('[data-testid=orbit-canvas]', 'data-snapshot-step'));
    const second = await pixels();
    expect(await page.getAttribute('[data-testid=node-nerf]', 'data-status')).toBe('running');
    expect(second.width).toBe(first.width);
    let changed = 0;
    for (let i = 0; i < second.data.length; i += 4) if (Math.abs(second.data[i]! - first.data[i]!) + Math.abs(second.data[i + 1]! - first.data[i + 1]!) + Math.abs(second.data[i + 2]! - first.data[i + 2]!) > 30) changed++;
    console.log(`live 3D view: first snapshot frame (step ${step1}) ${firstAt.toFixed(1)} s after Run, a later one (step ${step2}) ${((Date.now() - t0) / 1000).toFixed(1)} s; ${changed} of ${second.width * second.height} pixels changed; node still running`);
    expect(changed).toBeGreaterThan(second.width * second.height * 0.01);
    await page.screenshot({ path: join(ARTIFACTS, 'editor-orbit-live.png') });

    // A click on the largest object lifts on the snapshot: recorded, said so, and training goes on.
    const state = JSON.parse((await page.getAttribute('[data-testid=orbit-stage]', 'data-orbit'))!);
    const size = second.width;
    const cam = orbitCamera({ ...orbitFromViews(t.views), ...state }, size);
    const gt = renderView(t.scene.layout, cam);
    let best = 0, bestArea = 0;
    for (const o of t.scene.layout.objects) {
      let a = 0;
      for (const id of gt.instances) if (id === o.id) a++;
      if (a > bestArea) [best, bestArea] = [o.id, a];
    }
    const inside = distanceInside(Uint8Array.from(gt.instances, (id) => (id === best ? 1 : 0)), size, size);
    let c = 0;
    for (let p = 0; p < inside.length; p++) if (inside[p]! > inside[c]!) c = p;
    const stage = (await page.locator('[data-testid=orbit-stage]').boundingBox())!;
    await page.mouse.click(stage.x + (((c % size) + 0.5) / size) * stage.width, stage.y + ((Math.floor(c / size) + 0.5) / size) * stage.height);
    await expect
      .poll(async () => (((await params('lift')).worldPoints as unknown[] | undefined)?.length ?? 0) > 0 || /No 3D prompt added/.test((await page.textContent('[data-testid=notice]').catch(() => '')) ?? ''), { timeout: 30_000 })
      .toBe(true);
    const notice = (await page.textContent('[data-testid=notice]'))!;
    console.log(`click during training: ${notice}`);
    expect(notice).toMatch(/added to lift\.worldPoints, placed on an unfinished field \(step \d+\): training goes on, lift re-runs when it ends/);
    expect(await page.locator('[data-testid=orbit-unfinished]').count()).toBe(1);
    // Not cancelled by the edit.
    await page.waitForTimeout(1500);
    expect(await page.getAttribute('[data-testid=node-nerf]', 'data-status')).toBe('running');

    // Training ends: the final field replaces the snapshot; then LiftPrompts runs with the point.
    await waitStatus('nerf', 'done', 240_000);
    const trained = (Date.now() - t0) / 1000;
    await page.waitForSelector('[data-testid=orbit-canvas]:not([data-snapshot-step])', { timeout: 60_000 });
    await expect.poll(() => page.textContent('[data-testid=orbit-caption]'), { timeout: 60_000 }).toMatch(/field of 400 steps/);
    expect(await page.locator('[data-testid=orbit-live]').count()).toBe(0);
    await waitStatus('lift', 'done', 120_000);
    const log = await page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog);
    console.log(`nerf/lift status over time (s): ${log.join(' | ')}`);
    expect(await page.getAttribute('[data-testid=node-nerf]', 'data-status')).toBe('cached');
    // Trained once: the click did not cancel and restart training (one 'running' spell, then done, then cached).
    const nerfStates = log.map((e) => e.split(' ')[1]!.split('/')[0]).filter((x, i, a) => i === 0 || x !== a[i - 1]);
    expect(nerfStates.filter((x) => x === 'running')).toHaveLength(1);
    expect(nerfStates.slice(nerfStates.indexOf('running'))).toEqual(['running', 'done', 'queued', 'cached']);
    console.log(`400 steps trained in the browser worker with the live view open: ${trained.toFixed(1)} s`);
    expect(pageErrors).toEqual([]);
  }, 420_000);

  it('with --enable-unsafe-webgpu: the worker finds SwiftShader (software); device webgpu trains and the 3D view renders and lifts on it', async () => {
    const gpuBrowser = await launchChromium(['--enable-unsafe-webgpu']);
    try {
      const p = await gpuBrowser.context.newPage();
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(served.url);
      const adapter = p.locator('[data-testid=gpu-adapter]');
      await expect.poll(() => adapter.getAttribute('data-state'), { timeout: 30_000 }).not.toBe('unknown');
      console.log(`with --enable-unsafe-webgpu: ${await adapter.textContent()}`);
      expect(await adapter.getAttribute('data-state')).toBe('available');
      expect(await adapter.getAttribute('data-software')).toBe('true');
      expect(await adapter.textContent()).toMatch(/WebGPU: .*swiftshader.*\(software\)/i);

      // SwiftShader runs the WGSL kernels on the CPU, slowly: a handful of steps.
      await openScene(p, 6);
      await p.selectOption('[data-testid=device-menu]', 'webgpu');
      const t0 = Date.now();
      await p.click('[data-testid=run]');
      await p.waitForSelector('[data-testid=node-nerf][data-status=done]', { timeout: 240_000 });
      const metrics = JSON.parse(
        await p.evaluate(async () => {
          const s = (window as unknown as { samnerf: { readOutput(n: string, f: string): Promise<Uint8Array | undefined> } }).samnerf;
          return new TextDecoder().decode(await s.readOutput('nerf', 'metrics.json'));
        }),
      );
      console.log(`6 steps on WebGPU (SwiftShader) in the browser worker: ${((Date.now() - t0) / 1000).toFixed(1)} s; ${metrics.evaluator}`);
      expect(metrics.evaluator).toMatch(/^webgpu \(.*swiftshader/i);
      expect(metrics.steps).toBe(6);

      await p.click('[data-testid=orbit-open-nerf]');
      await p.waitForSelector('[data-testid=orbit-canvas][data-width]', { timeout: 180_000 });
      const caption = (await p.textContent('[data-testid=orbit-caption]'))!;
      console.log(`orbit frame on WebGPU: ${caption.trim()}`);
      expect(caption).toMatch(/ · webgpu \(.*swiftshader/i);
      // A click renders one ray on the GPU: a world point, or (6 steps make a faint field) a refusal with the reason.
      const stage = (await p.locator('[data-testid=orbit-stage]').boundingBox())!;
      await p.mouse.click(stage.x + stage.width / 2, stage.y + stage.height / 2);
      await expect
        .poll(
          async () =>
            (((await paramsOf(p, 'lift')).worldPoints as unknown[] | undefined)?.length ?? 0) === 1 ||
            /No 3D prompt added: empty space under the click/.test((await p.textContent('[data-testid=notice]').catch(() => '')) ?? ''),
          { timeout: 120_000 },
        )
        .toBe(true);
      console.log(`GPU click: ${JSON.stringify((await paramsOf(p, 'lift')).worldPoints ?? (await p.textContent('[data-testid=notice]')))}`);
      expect(errors).toEqual([]);
    } finally {
      await gpuBrowser.close();
    }
  }, 480_000);
});
