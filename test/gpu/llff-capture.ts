// A small forward-facing capture for the contract-mode GPU tests: the
// generated scene exported as LLFF (`samnerf scene --format llff`), read back
// by ImageLoader (images_4/, 48 x 36), as test/nerf/captures.test.ts does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ViewsValue } from '../../engine/values';
import { buildSceneCapture } from '../../nodes/scene';
import { runLoader, write } from '../views/helpers';

let pending: Promise<ViewsValue> | undefined;

export function llffCapture(): Promise<ViewsValue> {
  pending ??= (async () => {
    const root = mkdtempSync(join(tmpdir(), 'samnerf-gpu-llff-'));
    for (const f of buildSceneCapture({ format: 'llff', views: 24, size: 192, seed: 3, llffFactor: 4 }).files) write(join(root, f.path), f.bytes);
    const out = await runLoader({ path: root, scale: 0.25, splits: 'train,test' });
    return out.views as ViewsValue;
  })();
  return pending;
}
