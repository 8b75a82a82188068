// Outputs handed to nodes are immutable. Plain objects and arrays are frozen
// deeply; typed arrays cannot be frozen, so their contents are guarded by a
// checksum when the executor runs with `guardInputs` (tests and debugging).

const ARRAY_VIEW = Object.getPrototypeOf(Uint8Array);

function isTypedArray(v: unknown): v is ArrayBufferView {
  return v instanceof ARRAY_VIEW;
}

export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || isTypedArray(value)) return value;
  if (value instanceof ArrayBuffer) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

/** Every typed array reachable from `value` (depth-limited, cycle-safe). */
export function typedArraysIn(value: unknown, found: ArrayBufferView[] = [], seen = new Set<unknown>(), depth = 0): ArrayBufferView[] {
  if (value === null || typeof value !== 'object' || seen.has(value) || depth > 8) return found;
  seen.add(value);
  if (isTypedArray(value)) {
    found.push(value);
    return found;
  }
  for (const key of Object.keys(value)) typedArraysIn((value as Record<string, unknown>)[key], found, seen, depth + 1);
  return found;
}

export function checksum(view: ArrayBufferView): number {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 16777619);
  return h >>> 0;
}
