// The WebGPU kernels in headless Chromium (--enable-unsafe-webgpu, its
// SwiftShader adapter): browser-checks.ts is bundled and served from a
// localhost origin (WebGPU needs a secure context); the same tolerances as
// the Node tests. Skips, saying why, only when Chromium is not installed.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { checkFailures, TOLERANCES } from './browser-checks';

const CHROMIUM = '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
if (missing) console.warn(`browser WebGPU tests skipped: ${CHROMIUM} is not installed`);

describe.skipIf(missing)('WebGPU kernels in headless Chromium vs the CPU reference', () => {
  it('hash encoding, field forward/backward, Adam and a GpuNerf render agree', async () => {
    const bundle = await build({ entryPoints: [join(import.meta.dirname, 'browser-checks.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, target: 'es2022' });
    const code = bundle.outputFiles[0]!.text;
    const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'samnerf-webgpu-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.route('http://localhost/**', (route) => {
        const url = route.request().url();
        if (url.endsWith('/checks.js')) return route.fulfill({ body: code, contentType: 'text/javascript' });
        return route.fulfill({ body: '<!doctype html><script type="module" src="/checks.js"></script>', contentType: 'text/html' });
      });
      await page.goto('http://localhost/index.html');
      await page.waitForFunction(() => typeof (globalThis as { runChecks?: unknown }).runChecks === 'function', undefined, { timeout: 30_000 });
      const r = await page.evaluate(() => (globalThis as unknown as { runChecks(): Promise<Record<string, number | string>> }).runChecks());
      console.log('Chromium WebGPU checks:', JSON.stringify(r));
      expect(errors).toEqual([]);
      expect(typeof r.adapter).toBe('string');
      expect(checkFailures(r)).toEqual([]);
      // The tolerances hold every measured error.
      for (const k of Object.keys(TOLERANCES)) expect(typeof r[k]).toBe('number');
    } finally {
      await context.close();
    }
  }, 180_000);
});
