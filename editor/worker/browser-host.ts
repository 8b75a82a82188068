// SamnerfHost for the editor's worker: files come from the user's uploads
// (bytes sent by the UI) and otherwise from fetch relative to the app; nodes'
// output files stay in memory for previews and downloads; models are the
// registered ones, served by the app itself, run with onnxruntime-web.

import type { FileAccess, FileStat, ModelProvider, ModelRequest, OutputWriter, SamnerfHost } from '../../nodes/host';
import { getSession, type Device, type InferenceSession } from '../../runtime-gpu/backend';
import type { ImageCodec } from '../../runtime-gpu/image/codec';
import { getModelSpec, modelFile, verifySignature, type ModelFile, type ModelSpec } from '../../runtime-gpu/models/registry';

/** fetch needs its global as `this`; a bare reference stored on an object throws "Illegal invocation". */
const defaultFetch: typeof fetch = (input, init) => fetch(input, init);

interface Upload {
  bytes: Uint8Array;
  mtimeMs: number;
}

/** Uploaded files by the name a path param holds, then fetch for anything else. */
export class UploadFiles implements FileAccess {
  private readonly uploads = new Map<string, Upload>();
  constructor(private readonly baseUrl: string, private readonly fetcher: typeof fetch = defaultFetch) {}

  put(name: string, bytes: Uint8Array): void {
    // A fresh mtime makes nodes whose cache key reads stat() re-run on a re-upload.
    const previous = this.uploads.get(name)?.mtimeMs ?? 0;
    this.uploads.set(name, { bytes, mtimeMs: Math.max(Date.now(), previous + 1) });
  }

  names(): string[] {
    return [...this.uploads.keys()].sort();
  }

  async readFile(path: string): Promise<Uint8Array> {
    const upload = this.uploads.get(path);
    if (upload) return upload.bytes;
    const url = new URL(path, this.baseUrl);
    let response: Response;
    try {
      response = await this.fetcher(url);
    } catch (e) {
      throw new Error(`cannot read "${path}": ${(e as Error).message}; pick the file with the node's file button`);
    }
    if (!response.ok)
      throw new Error(`cannot read "${path}" (HTTP ${response.status} from ${url.pathname}); in the editor, pick the file with the node's file button`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const upload = this.uploads.get(path);
    if (upload) return { size: upload.bytes.length, mtimeMs: upload.mtimeMs, isDirectory: false };
    if (this.listSync(path).length > 0) return { size: 0, mtimeMs: 0, isDirectory: true };
    try {
      const response = await this.fetcher(new URL(path, this.baseUrl), { method: 'HEAD' });
      if (!response.ok) return undefined;
      const modified = Date.parse(response.headers.get('last-modified') ?? '');
      return { size: Number(response.headers.get('content-length') ?? 0), mtimeMs: Number.isFinite(modified) ? modified : 0, isDirectory: false };
    } catch {
      return undefined;
    }
  }

  /** Uploads whose names sit directly in `folder` (a folder upload sends "folder/name" paths). */
  async list(folder: string): Promise<string[]> {
    return this.listSync(folder);
  }

  private listSync(folder: string): string[] {
    const prefix = folder.replace(/\/+$/, '') + '/';
    return this.names()
      .filter((n) => n.startsWith(prefix) && !n.slice(prefix.length).includes('/'))
      .map((n) => n.slice(prefix.length));
  }
}

/** Output files in memory, by node and relative path. */
export class MemoryOutput implements OutputWriter {
  readonly files = new Map<string, Uint8Array>();

  async write(nodeId: string, relativePath: string, bytes: Uint8Array | string): Promise<string> {
    const key = `${nodeId}/${relativePath}`;
    this.files.set(key, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
    return key;
  }
}

/** Where the app serves a model file: its own copy for npm-shipped models, else the file's public URL. */
export function modelFileUrl(spec: ModelSpec, file: ModelFile, baseUrl: string): string {
  if (spec.npmPackage) return new URL(`models/${spec.id}/${file.name}`, baseUrl).href;
  if (file.url) return file.url;
  throw new Error(`model ${spec.id}: the editor has no URL for its file ${file.name}; choose a model file with the node's model picker`);
}

export class FetchModels implements ModelProvider {
  constructor(
    private readonly baseUrl: string,
    private readonly files: UploadFiles,
    private readonly device: () => Device | 'auto',
    private readonly fetcher: typeof fetch = defaultFetch,
  ) {}

  async session(request: ModelRequest, signal?: AbortSignal): Promise<InferenceSession> {
    const spec = getModelSpec(request.id);
    const key = request.path ? `${request.id}:${request.path}` : request.id;
    const session = await getSession(
      key,
      () => (request.path ? this.files.readFile(request.path) : this.fetchBytes(modelFileUrl(spec, modelFile(spec), this.baseUrl), signal)),
      this.device(),
    );
    verifySignature(spec, session);
    return session;
  }

  async file(request: ModelRequest, role: string): Promise<Uint8Array> {
    const spec = getModelSpec(request.id);
    const file = spec.files.find((f) => f.role === role);
    if (!file) throw new Error(`model ${spec.id} has no ${role} file (it has ${spec.files.map((f) => f.role).join(', ')})`);
    return this.fetchBytes(modelFileUrl(spec, file, this.baseUrl));
  }

  private async fetchBytes(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.fetcher(url, { signal });
    if (!response.ok) throw new Error(`cannot download model file ${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
}

export interface BrowserHost extends SamnerfHost {
  files: UploadFiles;
  output: MemoryOutput;
}

export function createBrowserHost(baseUrl: string, images: ImageCodec, device: Device | 'auto' = 'auto', fetcher: typeof fetch = defaultFetch): BrowserHost {
  const files = new UploadFiles(baseUrl, fetcher);
  const host: BrowserHost = {
    files,
    output: new MemoryOutput(),
    images,
    models: new FetchModels(baseUrl, files, () => host.device, fetcher),
    device,
  };
  return host;
}
