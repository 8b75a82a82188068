// A small forward-facing capture for the contract-mode GPU checks: the
// generated scene exported as LLFF (`samnerf scene --format llff`), written
// to a temporary folder and read back by ImageLoader (images_4/, 48 x 36),
// as test/nerf/captures.test.ts does. No vitest and no sharp: PNGs through
// pngjs (the device pack runs it through device-checks.ts, without sharp).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { NodeContext } from '../../engine';
import type { ViewsValue } from '../../engine/values';
import { nodeFiles } from '../../cli/node-files';
import type { SamnerfHost } from '../../nodes/host';
import { ImageLoader } from '../../nodes/image-loader';
import { buildSceneCapture } from '../../nodes/scene';
import { pngjsImageCodec } from '../../runtime-gpu/image/codec-pngjs';

let pending: Promise<ViewsValue> | undefined;

export function llffCapture(): Promise<ViewsValue> {
  pending ??= (async () => {
    const root = mkdtempSync(join(tmpdir(), 'samnerf-gpu-llff-'));
    for (const f of buildSceneCapture({ format: 'llff', views: 24, size: 192, seed: 3, llffFactor: 4 }).files) {
      const path = join(root, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.bytes);
    }
    const host = { files: nodeFiles, images: pngjsImageCodec } as unknown as SamnerfHost;
    const ctx: NodeContext<SamnerfHost> = {
      nodeId: 'load', signal: new AbortController().signal, progress: () => {}, log: () => {}, host,
      inputSignature: () => undefined, memo: (_key, compute) => compute(),
    };
    const defaults = Object.fromEntries(Object.entries(ImageLoader.params).map(([k, spec]) => [k, spec.default]));
    const out = await ImageLoader.run(ctx, {}, { ...defaults, path: root, scale: 0.25, splits: 'train,test' });
    return out.views as ViewsValue;
  })();
  return pending;
}
