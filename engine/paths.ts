// Platform-neutral path joining for params of type "path": the engine runs
// in browsers too, so it cannot use node:path. Relative paths in a graph
// resolve against the folder of the graph file that holds them.

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\') || /^[a-z][a-z0-9+.-]*:\/\//i.test(p);
}

export function resolvePath(baseDir: string | undefined, p: string): string {
  if (!baseDir || isAbsolutePath(p)) return p;
  const parts = (baseDir.replace(/[\\/]+$/, '') + '/' + p).split(/[\\/]+/);
  const out: string[] = [];
  for (const part of parts) {
    if (part === '.' || (part === '' && out.length > 0)) continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..' && out[out.length - 1] !== '') out.pop();
    else out.push(part);
  }
  return out.join('/') || '/';
}
