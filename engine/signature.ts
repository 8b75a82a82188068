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

/** cyrb53: a fast 53-bit string hash; collisions are negligible for cache keys. */
export function hashString(text: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

export interface SignatureParts {
  type: string;
  version: number;
  params: unknown;
  /** Input port -> "<upstream signature>.<upstream port>", absent ports omitted. */
  inputs: Record<string, string>;
  /** What the definition's cacheKey() returned (file stamps and the like). */
  extra?: string;
}

export function nodeSignature(parts: SignatureParts): string {
  const ports = Object.keys(parts.inputs).sort();
  let text = `${parts.type}@${parts.version}|${canonicalJson(parts.params)}|`;
  for (const p of ports) text += `${p}=${parts.inputs[p]};`;
  if (parts.extra !== undefined) text += `|${parts.extra}`;
  return hashString(text);
}
