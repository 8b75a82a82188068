// Paths inside a dataset folder, platform-neutral ('/' separators, which
// Node accepts on every OS), and a cache of folder listings so that checking
// hundreds of frame files costs one listing per folder instead of one stat each.

import type { FileAccess } from '../host';

export function joinPath(root: string, relative: string): string {
  const rel = relative.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  if (/^([a-zA-Z]:)?\//.test(rel)) return rel; // already absolute
  return `${root.replace(/[\\/]+$/, '')}/${rel}`;
}

/** "./train/r_0.png" -> "train/r_0.png": '/' separators, no "." segments, ".." resolved where possible. */
export function normalizeRelative(path: string): string {
  const out: string[] = [];
  for (const part of path.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

export function dirname(path: string): string {
  const i = path.replace(/[\\/]+$/, '').search(/[\\/][^\\/]*$/);
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

export function basename(path: string): string {
  return path.replace(/[\\/]+$/, '').replace(/^.*[\\/]/, '');
}

/** "train/r_0.png" -> "train/r_0"; names without an image extension are kept whole ("r_0.5" stays). */
export function stripImageExtension(path: string): string {
  return path.replace(/\.(png|jpe?g|webp|exr|tiff?)$/i, '');
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

export class FolderIndex {
  private readonly listings = new Map<string, Promise<Set<string>>>();
  constructor(readonly files: FileAccess) {}

  /** Names in a folder; empty when it does not exist. */
  list(folder: string): Promise<Set<string>> {
    let entry = this.listings.get(folder);
    if (!entry) {
      entry = this.files.list(folder).then((names) => new Set(names), () => new Set<string>());
      this.listings.set(folder, entry);
    }
    return entry;
  }

  async exists(path: string): Promise<boolean> {
    return (await this.list(dirname(path))).has(basename(path));
  }

  /**
   * The file for an image reference: the path itself when it exists, else
   * the path with the first of .png/.jpg/.jpeg/.webp that exists (Blender
   * transforms leave the extension out). undefined when none does.
   */
  async resolveImage(path: string): Promise<string | undefined> {
    if (await this.exists(path)) return path;
    for (const ext of IMAGE_EXTENSIONS) if (await this.exists(path + ext)) return path + ext;
    const upper = await this.list(dirname(path));
    const base = basename(path).toLowerCase();
    for (const name of upper) if (isImageName(name) && stripImageExtension(name).toLowerCase() === base) return `${dirname(path)}/${name}`;
    return undefined;
  }
}
