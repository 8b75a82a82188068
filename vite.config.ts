import { fileURLToPath } from 'node:url';
import { svelte, vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';
import { ISOLATION_HEADERS, samnerfAssets } from './editor/vite-assets.ts';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  // The editor app (npm run editor / npm run build) lives in editor/.
  root: 'editor',
  base: '/',
  publicDir: false,
  // vitePreprocess: Rete's Svelte presets style their components with SCSS.
  plugins: [svelte({ configFile: false, preprocess: vitePreprocess() }), samnerfAssets(repoRoot)],
  resolve: {
    alias: [
      // The non-bundled onnxruntime-web: it loads its wasm glue from ort.env.wasm.wasmPaths
      // (served by samnerfAssets) instead of a copy the bundler would duplicate.
      { find: /^onnxruntime-web$/, replacement: fileURLToPath(new URL('./node_modules/onnxruntime-web/dist/ort.min.mjs', import.meta.url)) },
      // elkjs's default entry wants a web-worker polyfill; the bundled build runs in place.
      { find: /^elkjs$/, replacement: 'elkjs/lib/elk.bundled.js' },
    ],
  },
  // Rete's presets use Sass features that Sass now deprecates; their warnings are not ours to fix.
  css: { preprocessorOptions: { scss: { quietDeps: true, silenceDeprecations: ['import', 'global-builtin', 'color-functions'] } } },
  cacheDir: fileURLToPath(new URL('./node_modules/.vite', import.meta.url)),
  optimizeDeps: {
    // Listed up front so the first `npm run editor` does not discover them late and reload the page mid-run.
    include: [
      'comlink',
      'fflate',
      'rete',
      'rete-area-plugin',
      'rete-connection-plugin',
      'rete-history-plugin',
      'rete-context-menu-plugin',
      'rete-minimap-plugin',
      'rete-auto-arrange-plugin',
      'rete-render-utils',
      'elkjs/lib/elk.bundled.js',
    ],
    exclude: ['onnxruntime-web'],
  },
  server: { headers: ISOLATION_HEADERS, fs: { allow: [repoRoot] } },
  preview: { headers: ISOLATION_HEADERS },
  worker: { format: 'es' },
  build: { outDir: '../dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
  test: {
    // Tests live at the repository level, not under the app's root.
    root: repoRoot,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real-model tests run ONNX sessions that use both cores; running files
    // one at a time keeps their timing sane on the 2-core CI machine.
    fileParallelism: false,
  },
});
