// Cache signatures: a node's signature hashes its type, version, params and
// the signatures of what feeds it, so a change anywhere upstream changes
// every signature downstream (the dirty cone) and nothing else. Layout (ui)
// never enters it.

/** JSON with sorted keys, so {a,b} and {b,a} hash alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/**
 * cyrb53 over a sequence of strings (a 53-bit hash; collisions are
 * negligible for cache keys). Hashing the parts in place avoids building
 * concatenated strings, which dominated the engine's per-node cost.
 */
export function hashParts(parts: ReadonlyArray<string>, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let p = 0; p < parts.length; p++) {
    const text = parts[p]!;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    // A separator between parts, so ["ab","c"] and ["a","bc"] differ.
    h1 = Math.imul(h1 ^ 0x1f, 2654435761);
    h2 = Math.imul(h2 ^ 0x1f, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

export function hashString(text: string, seed = 0): string {
  return hashParts([text], seed);
}

/**
 * The part of a signature fixed at compile time: type, version and params.
 * Hashed once per compiled node, so a run hashes only short strings.
 */
export function staticSignature(type: string, version: number, paramsKey: string): string {
  return hashString(`${type}@${version}|${paramsKey}`);
}

/**
 * A node's signature from its static part, its inputs (for each connected
 * port in a fixed order: port name, upstream signature, upstream port) and what the
 * definition's cacheKey() returned (file stamps and the like).
 */
export function nodeSignature(staticPart: string, inputs: ReadonlyArray<string>, extra?: string): string {
  const parts = extra === undefined ? [staticPart, ...inputs] : [staticPart, ...inputs, '#', extra];
  return hashParts(parts);
}
