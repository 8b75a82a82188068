// The file-system side of SamnerfHost: reading inputs and writing outputs
// atomically (temporary file in the same folder, then rename).

import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { FileAccess, OutputWriter } from '../nodes/host';

export const nodeFiles: FileAccess = {
  async readFile(path) {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  },
  async stat(path) {
    try {
      const s = await stat(path);
      return { size: s.size, mtimeMs: s.mtimeMs, isDirectory: s.isDirectory() };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  },
  async list(folder) {
    return (await readdir(folder)).sort();
  },
};

export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

export class FolderOutputWriter implements OutputWriter {
  readonly root: string;
  /** Every file written, for the run summary. */
  readonly written: string[] = [];

  constructor(root: string) {
    this.root = resolve(root);
  }

  async write(nodeId: string, relativePath: string, bytes: Uint8Array | string): Promise<string> {
    const folder = join(this.root, nodeId);
    const target = resolve(folder, relativePath);
    // A node must not write outside its own folder (e.g. through "../").
    if (!target.startsWith(folder + sep)) throw new Error(`output path "${relativePath}" of node ${nodeId} leaves its folder ${folder}`);
    await writeFileAtomic(target, bytes);
    this.written.push(target);
    return target;
  }
}
