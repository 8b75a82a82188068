// `samnerf run --device <d>` (cpu, webgpu, cuda; auto leaves the graph as
// saved) sets the device param of every node that has
// one (NeRFTrainer, ViewRenderer); `--set node.device=...` wins for its node;
// a node whose device param lacks the value keeps its own, with a note. End
// to end: an LLFF capture (contract mode) trained and rendered on WebGPU
// (SwiftShader) through the command line.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGraphFile } from '../../cli/load-graph';
import { createNodeRegistry } from '../../nodes';
import { buildSceneCapture } from '../../nodes/scene';
import { SWIFTSHADER_ICD } from '../../runtime-gpu/webgpu/node/gpu';
import { REPO_ROOT } from '../helpers/shared';
import { write } from '../views/helpers';
import { testGpu } from './gpu-context';

const gpu = await testGpu();
const dir = mkdtempSync(join(tmpdir(), 'samnerf-cli-device-'));
const capture = join(dir, 'llff');
for (const f of buildSceneCapture({ format: 'llff', views: 12, size: 96, seed: 3, llffFactor: 4 }).files) write(join(capture, f.path), f.bytes);
const graph = {
  format: 'samnerf.graph',
  version: 1,
  nodes: [
    { id: 'data', type: 'ImageLoader', params: { path: capture, scale: 0.25, splits: 'train,test' } },
    { id: 'nerf', type: 'NeRFTrainer', params: { hashLevels: 4, log2TableSize: 12, raysPerBatch: 64, steps: 4, maxSeconds: 0, evalViews: 0, device: 'cpu' } },
    { id: 'render', type: 'ViewRenderer', params: { split: 'test', maxFrames: 1 } },
  ],
  edges: [{ from: 'data.views', to: 'nerf.views' }, { from: 'nerf.field', to: 'render.field' }, { from: 'data.views', to: 'render.views' }],
};
const graphPath = join(dir, 'graph.json');
writeFileSync(graphPath, JSON.stringify(graph));

function samnerf(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'cli', 'bin.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, CI: '1', ...env }, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('--device', () => {
  it('sets every device param; --set wins; a node without the value keeps its own, with a note', async () => {
    const registry = createNodeRegistry();
    const device = (loaded: Awaited<ReturnType<typeof readGraphFile>>, id: string) => loaded.graph!.nodes.find((n) => n.id === id)!.params!.device;
    const all = await readGraphFile(graphPath, registry, [], { device: 'webgpu' });
    expect(all.errors).toEqual([]);
    expect([device(all, 'nerf'), device(all, 'render')]).toEqual(['webgpu', 'webgpu']);
    const set = await readGraphFile(graphPath, registry, ['nerf.device=cpu'], { device: 'webgpu' });
    expect([device(set, 'nerf'), device(set, 'render')]).toEqual(['cpu', 'webgpu']);
    const notes: string[] = [];
    const cuda = await readGraphFile(graphPath, registry, [], { device: 'cuda', notes });
    expect([device(cuda, 'nerf'), device(cuda, 'render')]).toEqual(['cuda', undefined]);
    expect(notes).toEqual(['--device cuda: node render (ViewRenderer) offers auto, cpu, webgpu; it keeps device auto']);
    // Without --device the graph's own values stay.
    const none = await readGraphFile(graphPath, registry, []);
    expect(device(none, 'nerf')).toBe('cpu');
  });

  it.skipIf(!!gpu.skip)('samnerf run --device webgpu trains (contract mode) and renders on the WebGPU adapter', async () => {
    const out = join(dir, 'out');
    const r = await samnerf(['run', graphPath, '--device', 'webgpu', '--out', out, '--json'], { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD });
    expect(r.code, r.stderr).toBe(0);
    const logs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; node?: string; message?: string }).filter((e) => e.type === 'node-log');
    const said = (node: string) => logs.filter((e) => e.node === node).map((e) => e.message).join('\n');
    expect(said('nerf')).toMatch(/WebGPU on .*swiftshader/i);
    expect(said('render')).toMatch(/rendering 1 frames with WebGPU on .*swiftshader/i);
    expect(JSON.parse(readFileSync(join(out, 'nerf', 'metrics.json'), 'utf8'))).toMatchObject({ steps: 4, evaluator: expect.stringMatching(/^webgpu/) });
    expect(existsSync(join(out, 'render', 'preview.png'))).toBe(true);
  }, 240_000);
});
