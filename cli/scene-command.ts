// `samnerf scene <dir>`: writes the procedural scene (nodes/scene) as a NeRF
// Blender dataset with depth and instance masks, or (--format) as an
// instant-ngp / nerfstudio capture or an LLFF capture. The folder appears whole or
// not at all: files go to a sibling temporary folder renamed at the end.

import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildSceneCapture, CAPTURE_DEFAULTS, SCENE_DEFAULTS, SCENE_FORMATS, type SceneFormat } from '../nodes/scene';
import { CliError, EXIT_OK } from './exit-codes';
import { writeFileAtomic } from './node-files';

function integer(name: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} ${text}: expected an integer from ${min} to ${max}`);
    return n;
  };
}

export function registerSceneCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('scene')
    .description('generate a synthetic scene with ground truth, as a NeRF Blender dataset (depth, instance masks), an instant-ngp capture or an LLFF capture')
    .argument('<dir>', 'output folder (created; an earlier generated scene there is replaced)')
    .option('--views <n>', 'number of cameras on the hemisphere (every 8th is test)', integer('views', 1, 4096), SCENE_DEFAULTS.views)
    .option('--size <px>', 'image width and height', integer('size', 8, 4096), SCENE_DEFAULTS.size)
    .option('--seed <k>', 'random seed (same seed, same files)', integer('seed', 0, 2 ** 31 - 1), SCENE_DEFAULTS.seed)
    .option('--format <f>', 'blender (transforms_{train,test}.json), ngp (instant-ngp / nerfstudio transforms.json, OpenCV-distorted, two cameras) or llff (poses_bounds.npy, forward-facing)', format, CAPTURE_DEFAULTS.format)
    .option('--llff-factor <k>', 'llff: images_<k>/ holds the images downscaled by k (--size is the full width and must be a multiple of k)', integer('llff-factor', 1, 16), CAPTURE_DEFAULTS.llffFactor)
    .action(async (dir: string, opts: { views: number; size: number; seed: number; format: SceneFormat; llffFactor: number }) => {
      const target = resolve(dir);
      await checkTarget(target);
      const t0 = performance.now();
      let scene;
      try {
        scene = buildSceneCapture(opts);
      } catch (e) {
        if (e instanceof RangeError) throw new CliError(e.message);
        throw e;
      }
      const staging = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
      try {
        await rm(staging, { recursive: true, force: true });
        await mkdir(staging, { recursive: true });
        for (const file of scene.files) await writeFileAtomic(join(staging, file.path), file.bytes);
        const old = existsSync(target) ? join(dirname(target), `.${basename(target)}.old-${process.pid}`) : undefined;
        if (old) await rename(target, old);
        await rename(staging, target);
        if (old) await rm(old, { recursive: true, force: true });
      } catch (e) {
        await rm(staging, { recursive: true, force: true });
        throw e;
      }
      const seconds = (performance.now() - t0) / 1000;
      const first = scene.occlusions[0];
      const { width, height } = scene.views[0]!.camera;
      const lines = [
        `${target}: ${opts.format}, ${opts.views} views (${scene.views.filter((v) => v.split === 'train').length} train, ${scene.views.filter((v) => v.split === 'test').length} test) at ${width}x${height}${scene.factor > 1 ? ` (and 1/${scene.factor} in images_${scene.factor}/)` : ''}, seed ${opts.seed}`,
        `objects: ${scene.layout.objects.map((o) => `${o.id} ${o.name}`).join(', ')}`,
        first ? `partial occlusions: ${scene.occlusions.length} (e.g. ${first.name} ${Math.round((100 * first.visible) / first.silhouette)}% visible in ${first.view})` : 'partial occlusions: none seen from this rig',
        `rendered in ${(scene.renderMs / 1000).toFixed(2)} s, written in ${seconds.toFixed(2)} s (${scene.files.length} files)`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
      setExit(EXIT_OK);
    });
}

function format(text: string): SceneFormat {
  if (!(SCENE_FORMATS as readonly string[]).includes(text)) throw new CliError(`--format ${text}: expected one of ${SCENE_FORMATS.join(', ')}`);
  return text as SceneFormat;
}

/** Refuses to replace a folder that holds anything but an earlier generated scene. */
async function checkTarget(target: string): Promise<void> {
  const s = await stat(target).catch(() => undefined);
  if (!s) return;
  if (!s.isDirectory()) throw new CliError(`${target} exists and is not a folder`);
  const entries = await readdir(target);
  if (entries.length > 0 && !entries.includes('scene.json'))
    throw new CliError(`${target} is not empty and holds no generated scene (no scene.json); choose another folder`);
}
