// A minimal NeRF-Blender reader for the NeRF tests and bench/nerf.ts
// (transforms_<split>.json + RGBA PNGs composited on white), producing the
// ViewsValue shape. The full reader with every format lives in nodes/views.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { View, ViewSplit, ViewsValue } from '../../engine/values';

interface Transforms {
  camera_angle_x: number;
  frames: Array<{ file_path: string; transform_matrix: number[][] }>;
}

export interface BlenderOptions {
  splits?: ViewSplit[];
  /** Keep every n-th frame of each split (by file order), per split. */
  every?: Partial<Record<ViewSplit, number>>;
  /** Downscale factor (integer >= 1). */
  downscale?: number;
}

export async function loadBlender(dir: string, options: BlenderOptions = {}): Promise<ViewsValue> {
  const views: View[] = [];
  for (const split of options.splits ?? ['train', 'test']) {
    const meta = JSON.parse(readFileSync(join(dir, `transforms_${split}.json`), 'utf8')) as Transforms;
    const every = options.every?.[split] ?? 1;
    const frames = meta.frames.filter((_, i) => i % every === 0);
    const loaded = await Promise.all(
      frames.map(async (frame) => {
        const name = frame.file_path.replace(/^\.\//, '');
        let img = sharp(join(dir, `${name}.png`)).ensureAlpha();
        const info = await img.metadata();
        const down = options.downscale ?? 1;
        const width = Math.round(info.width! / down), height = Math.round(info.height! / down);
        if (down !== 1) img = img.resize(width, height, { kernel: 'cubic' });
        const rgba = await img.raw().toBuffer();
        const rgb = new Uint8Array(width * height * 3);
        const alpha = new Uint8Array(width * height);
        for (let i = 0; i < width * height; i++) {
          const a = rgba[4 * i + 3]!;
          alpha[i] = a;
          for (let c = 0; c < 3; c++) rgb[3 * i + c] = Math.round((rgba[4 * i + c]! * a + 255 * (255 - a)) / 255);
        }
        const focal = (0.5 * width) / Math.tan(0.5 * meta.camera_angle_x);
        const view: View = {
          name,
          split,
          image: { kind: 'Image', width, height, data: rgb, name },
          alpha,
          camera: { width, height, fx: focal, fy: focal, cx: width / 2, cy: height / 2, cameraToWorld: frame.transform_matrix.flat() },
        };
        return view;
      }),
    );
    views.push(...loaded);
  }
  return { kind: 'Views', views, bounds: { min: [-1.5, -1.5, -1.5], max: [1.5, 1.5, 1.5] }, near: 2, far: 6, sceneKind: 'object', source: dir, format: 'blender' };
}
