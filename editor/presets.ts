// The built-in graphs of presets/, bundled as text so they go through the
// same loadGraph (and its migrations) as any opened file.

const files = import.meta.glob('../presets/*.json', { eager: true, query: '?raw', import: 'default' }) as Record<string, string>;

export interface Preset {
  /** File name without the folder, e.g. "sam-points.json". */
  file: string;
  text: string;
}

export const PRESETS: Preset[] = Object.entries(files)
  .map(([path, text]) => ({ file: path.slice(path.lastIndexOf('/') + 1), text }))
  .sort((a, b) => a.file.localeCompare(b.file));
