// `samnerf demo [dir]`: the main job offline, right after `npm ci`. Generates
// a scene (nodes/scene) into <dir>/scene, unless the same one is there, and
// runs presets/samnerf-no-distill.json on it (NeRF training, then 3D
// segmentation from one click), with a click chosen from the scene's ground
// truth (nodes/lock3d/demo.ts); prints where the results are and their IoU.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Executor } from '../engine';
import { createNodeRegistry } from '../nodes';
import { demoPrompt } from '../nodes/lock3d/demo';
import { buildSceneDataset } from '../nodes/scene';
import { CliError, EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED } from './exit-codes';
import { formatErrors, readGraphFile } from './load-graph';
import { createNodeHost } from './node-host';
import { writeFileAtomic } from './node-files';
import { chooseMode, createReporter } from './reporter';

const PRESETS = new URL('../presets/', import.meta.url);

function integer(name: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} ${text}: expected an integer from ${min} to ${max}`);
    return n;
  };
}

interface DemoOptions {
  views: number;
  size: number;
  seed: number;
  depth: string;
  seconds: string;
  json?: boolean;
}

export function registerDemoCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('demo')
    .description('generate a scene and segment one of its objects in 3D from a single click (presets/samnerf-no-distill.json); prints where the results are')
    .argument('[dir]', 'folder for the scene and the results', 'samnerf-demo')
    .option('--views <n>', 'cameras of the generated scene', integer('views', 4, 256), 24)
    .option('--size <px>', 'image width and height', integer('size', 32, 512), 112)
    .option('--seed <k>', 'scene seed', integer('seed', 0, 2 ** 31 - 1), 0)
    .option('--depth <source>', 'field: train a NeRF and use its depth (the real pipeline); dataset: the scene\'s exact depth, no training', 'field')
    .option('--seconds <s>', 'NeRF training time in seconds', '60')
    .option('--json', 'print one JSON event per line instead of progress')
    .action(async (dir: string, opts: DemoOptions) => {
      if (opts.depth !== 'field' && opts.depth !== 'dataset') throw new CliError(`--depth ${opts.depth}: choose field or dataset`);
      const seconds = Number(opts.seconds);
      if (!(seconds > 0)) throw new CliError(`--seconds ${opts.seconds}: expected a positive number`);
      const root = resolve(dir);
      const sceneDir = join(root, 'scene');
      const out = join(root, 'out');
      const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(line + '\n');

      const scene = buildSceneDataset({ views: opts.views, size: opts.size, seed: opts.seed });
      const description = scene.files.find((f) => f.path === 'scene.json')!.bytes;
      const existing = join(sceneDir, 'scene.json');
      if (!existsSync(existing) || !Buffer.from(readFileSync(existing)).equals(Buffer.from(description))) {
        if (existsSync(sceneDir) && !existsSync(existing)) throw new CliError(`${sceneDir} exists and holds no generated scene; choose another folder`);
        for (const f of scene.files) await writeFileAtomic(join(sceneDir, f.path), f.bytes);
        say(`scene: ${sceneDir} (${opts.views} views of ${opts.size}x${opts.size}, seed ${opts.seed}; objects ${scene.layout.objects.map((o) => o.name).join(', ')})`);
      } else say(`scene: ${sceneDir} (already generated)`);

      const prompt = demoPrompt(scene);
      say(`prompt: one click at (${prompt.x}, ${prompt.y}) in ${prompt.view}, on the ${prompt.name} (partly hidden by other objects in ${scene.occlusions.filter((o) => o.object === prompt.object).length} views)`);
      const preset = new URL(opts.depth === 'field' ? 'samnerf-no-distill.json' : 'samnerf-no-distill-gt.json', PRESETS);
      const sets = [
        `data.path=${sceneDir}`,
        `prompt.view=${prompt.view}`,
        `prompt.points=${JSON.stringify([{ x: prompt.x, y: prompt.y, label: 1 }])}`,
        `prompt.names=${JSON.stringify([prompt.name])}`,
        ...(opts.depth === 'field' ? [`nerf.maxSeconds=${seconds}`, 'nerf.steps=0'] : []),
      ];
      const registry = createNodeRegistry();
      const loaded = await readGraphFile(fileURLToPath(preset), registry, sets);
      if (!loaded.validation?.compiled) {
        process.stderr.write(`samnerf: the demo graph is not valid:\n${formatErrors(loaded.errors)}\n`);
        return setExit(EXIT_INVALID);
      }
      const executor = new Executor({ host: await createNodeHost({ out, device: 'auto' }) });
      const reporter = createReporter(chooseMode(!!opts.json));
      executor.events.on((e) => reporter.handle(e));
      const result = await executor.run(loaded.validation.compiled);
      reporter.close();
      if (result.status !== 'done') {
        for (const [node, failure] of result.failures) process.stderr.write(`samnerf: node ${node} failed: ${failure.message}\n`);
        return setExit(EXIT_RUN_FAILED);
      }
      const results = join(out, 'render');
      const metrics = JSON.parse(readFileSync(join(results, 'metrics.json'), 'utf8')) as { objects: Array<{ name: string; meanIoU: number | null; iou: Record<string, number> }> };
      say(`results: ${results}/`);
      say('  overlays/<view>.png, masks/<view>.png  the object in every view (train and held-out test views)');
      say('  orbit.png                             animated orbit preview (APNG)');
      say('  object.ply                            the object as a coloured point cloud');
      say('  mask-grid.npy, mask-grid.json         the 3D mask');
      say('  metrics.json                          per-view IoU against the scene\'s instance masks');
      for (const o of metrics.objects)
        if (o.meanIoU !== null) say(`${o.name}: mean IoU ${o.meanIoU.toFixed(3)} over ${Object.keys(o.iou).length} views (depth from ${opts.depth === 'field' ? 'the NeRF' : 'the dataset'})`);
      if (opts.depth === 'field') say(`NeRF: ${join(out, 'nerf')}/ (field.ckpt, metrics.json, renders/)`);
      setExit(EXIT_OK);
    });
}
