// The `samnerf` command through a child process: every exit code, JSON
// outputs, --set, --until and the event stream.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, needsShared, REPO_ROOT, sharedPath } from './helpers/shared';

interface Result { code: number; stdout: string; stderr: string }

function samnerf(args: string[], cwd = REPO_ROOT): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'cli', 'bin.js'), ...args], { cwd, env: { ...process.env, CI: '1' }, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'samnerf-cli-'));
function graphFile(name: string, graph: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof graph === 'string' ? graph : JSON.stringify(graph));
  return path;
}

describe('samnerf validate', () => {
  it('reports every error code of a malformed graph as JSON, with exit 2', async () => {
    const bad = graphFile('bad.json', {
      format: 'samnerf.graph',
      version: 1,
      nodes: [
        { id: 'photo', type: 'ImageLoader', params: { index: -1 } },
        { id: 'photo', type: 'ImageLoader' },
        { id: 'mystery', type: 'SamEncodr' },
        { id: 'enc', type: 'SamEncoder' },
        { id: 'dec', type: 'SamDecoder' },
        { id: 'p1', type: 'PromptToPoints', params: { threshold: 2 } },
        { id: 'r1', type: 'MaskRenderer', params: { colormap: 'rainbow' } },
        { id: 'r2', type: 'MaskRenderer' },
      ],
      edges: [
        { from: 'photo.image', to: 'enc.image' },
        { from: 'photo.picture', to: 'p1.image' },
        { from: 'photo.image', to: 'dec.embedding' },
        { from: 'r1.overlay', to: 'r2.image' },
        { from: 'r2.overlay', to: 'r1.image' },
      ],
    });
    const r = await samnerf(['validate', bad, '--json']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as { ok: boolean; errors: Array<{ code: string; node?: string; message: string }> };
    expect(report.ok).toBe(false);
    const codes = new Set(report.errors.map((e) => e.code));
    for (const code of ['duplicate_node_id', 'unknown_node_type', 'unknown_port', 'missing_input', 'type_mismatch', 'cycle', 'invalid_param'])
      expect(codes, `${code} in ${r.stdout}`).toContain(code);
    expect(report.errors.find((e) => e.code === 'unknown_node_type')!.message).toContain('did you mean "SamEncoder"');
    expect(report.errors.find((e) => e.code === 'type_mismatch')!.message).toContain('dec.embedding');
    expect(report.errors.every((e) => e.message.length > 10)).toBe(true);
  });

  it('reports malformed JSON and an unsupported version with exit 2', async () => {
    const broken = await samnerf(['validate', graphFile('broken.json', '{"format": "samnerf.graph", '), '--json']);
    expect(broken.code).toBe(2);
    expect(JSON.parse(broken.stdout).errors[0].code).toBe('malformed_json');
    const future = await samnerf(['validate', graphFile('future.json', { format: 'samnerf.graph', version: 7, nodes: [], edges: [] }), '--json']);
    expect(future.code).toBe(2);
    expect(JSON.parse(future.stdout).errors[0].code).toBe('unsupported_version');
  });

  it('accepts the shipped presets', async () => {
    for (const preset of ['sam-points.json', 'sam-text.json']) {
      const r = await samnerf(['validate', join('presets', preset)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('ok');
    }
  });
});

describe('samnerf nodes', () => {
  it('lists every definition with ports and params as JSON', async () => {
    const r = await samnerf(['nodes', '--json']);
    expect(r.code).toBe(0);
    const nodes = JSON.parse(r.stdout) as Array<{ type: string; params: Record<string, { default: unknown }> }>;
    const types = nodes.map((n) => n.type);
    for (const t of ['ImageLoader', 'SamEncoder', 'SamDecoder', 'PromptToPoints', 'ClipSegEncoder', 'MaskRenderer']) expect(types).toContain(t);
    expect(nodes.find((n) => n.type === 'PromptToPoints')!.params.threshold!.default).toBe(0.5);
    const text = await samnerf(['nodes']);
    expect(text.stdout).toContain('param threshold: number [0..1] = 0.5');
  });
});

describe('samnerf run', () => {
  it('exits 2 on a bad command line or an invalid graph, and runs nothing', async () => {
    expect((await samnerf(['frobnicate'])).code).toBe(2);
    expect((await samnerf(['run'])).code).toBe(2);
    const out = join(dir, 'never');
    const badSet = await samnerf(['run', 'presets/sam-points.json', '--set', 'nosuch.path=x', '--out', out]);
    expect(badSet.code).toBe(2);
    expect(badSet.stderr).toContain('no node "nosuch"');
    const badParam = await samnerf(['run', 'presets/sam-points.json', '--set', 'prompt.threshold=7', '--out', out]);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toContain('node prompt: param "threshold" 7 is above the maximum 1');
    const badDevice = await samnerf(['run', 'presets/sam-points.json', '--device', 'tpu', '--out', out]);
    expect(badDevice.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 1 when a node fails, naming the node and the fix, and skips only its descendants', async () => {
    const r = await samnerf(['run', 'presets/sam-points.json', '--set', `photo.path=${join(dir, 'missing.jpg')}`, '--out', join(dir, 'out-fail')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error {2}photo \(ImageLoader\): ".*missing.jpg" does not exist/);
    expect(r.stderr).toContain('node photo failed');
    expect(r.stdout).toContain('skip   encode: skipped: upstream node photo failed');
  });

  it.skipIf(!HAS_SHARED)(needsShared('runs the points preset on a photo, with --until and --json events'), async () => {
    const out = join(dir, 'out-until');
    const partial = await samnerf(['run', 'presets/sam-points.json', '--set', `photo.path=${sharedPath('data/images/dog.jpg')}`, '--set', 'prompt.points=[{"x":400,"y":300,"label":1}]', '--until', 'prompt', '--json', '--out', out]);
    expect(partial.code, partial.stderr).toBe(0);
    const events = partial.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; node?: string; status?: string });
    expect(events[0]).toMatchObject({ type: 'run-start', target: 'prompt' });
    expect(events.filter((e) => e.type === 'node-done').map((e) => e.node).sort()).toEqual(['photo', 'prompt']);
    expect(events.at(-1)).toMatchObject({ type: 'run-done', status: 'done' });
  });

  it.skipIf(!HAS_SHARED)(needsShared('writes mask.png, overlay.png and result.json for a click (exit 0)'), { timeout: 120_000 }, async () => {
    const out = join(dir, 'out-full');
    const r = await samnerf(['run', 'presets/sam-points.json', '--set', `photo.path=${sharedPath('data/images/truck.jpg')}`, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'render', 'result.json'), 'utf8'));
    expect(result.score).toBeGreaterThan(0.9);
    for (const f of ['mask.png', 'overlay.png']) expect(existsSync(join(out, 'render', f))).toBe(true);
  });
});
