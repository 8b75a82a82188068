// Shared set-up for the editor's browser tests: build the app (mode "e2e",
// which adds the demo nodes) into a temporary folder, serve it with Vite's
// preview server (cross-origin isolation headers included), and drive
// Debian's Chromium through playwright-core.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';

export const CHROMIUM = '/usr/bin/chromium';
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const hasChromium = existsSync(CHROMIUM);

export interface Served {
  url: string;
  close(): Promise<void>;
}

export async function buildAndServe(): Promise<Served> {
  const outDir = mkdtempSync(join(tmpdir(), 'samnerf-editor-'));
  const configFile = join(REPO_ROOT, 'vite.config.ts');
  await build({ configFile, mode: 'e2e', logLevel: 'error', build: { outDir, emptyOutDir: true } });
  const server: PreviewServer = await preview({ configFile, mode: 'e2e', logLevel: 'error', build: { outDir }, preview: { port: 0, host: '127.0.0.1', strictPort: false } });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('the preview server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: async () => {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh profile each time (playwright passes it as --user-data-dir). */
export async function launchChromium(extraArgs: string[] = []): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'samnerf-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1500, height: 950 },
    acceptDownloads: true,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
