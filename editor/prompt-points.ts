// Click-to-prompt: a click on an image preview adds a point to the
// PromptToPoints node wired to that preview's pipeline. Pure functions over
// node ids and edges, so the rule "which prompt node does this click feed"
// is tested without a canvas.

export const PROMPT_NODE_TYPE = 'PromptToPoints';
export const POINTS_PARAM = 'points';

export interface PromptPointJson {
  x: number;
  y: number;
  /** 1 = foreground, 0 = background. */
  label: 0 | 1;
  [extra: string]: unknown;
}

interface NodeRef {
  id: string;
  type: string;
}

interface EdgeRef {
  source: string;
  target: string;
}

/**
 * The PromptToPoints node nearest to `from` over wires in either direction
 * (the image loader upstream of the decoder, the renderer downstream of it:
 * all belong to one pipeline). Ties go to the node listed first. undefined
 * when the preview's pipeline has none.
 */
export function findPromptNode(nodes: readonly NodeRef[], edges: readonly EdgeRef[], from: string, promptType = PROMPT_NODE_TYPE): string | undefined {
  const typeOf = new Map(nodes.map((n) => [n.id, n.type]));
  const order = new Map(nodes.map((n, i) => [n.id, i]));
  const neighbours = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    if (!neighbours.has(a)) neighbours.set(a, []);
    neighbours.get(a)!.push(b);
  };
  for (const e of edges) {
    link(e.source, e.target);
    link(e.target, e.source);
  }
  let frontier = [from];
  const seen = new Set(frontier);
  while (frontier.length > 0) {
    const hits = frontier.filter((id) => typeOf.get(id) === promptType);
    if (hits.length > 0) return hits.sort((a, b) => order.get(a)! - order.get(b)!)[0];
    const next: string[] = [];
    for (const id of frontier) {
      for (const n of neighbours.get(id) ?? []) {
        if (!seen.has(n)) {
          seen.add(n);
          next.push(n);
        }
      }
    }
    frontier = next;
  }
  return undefined;
}

/** The points a param value holds; anything that is not a list of points counts as none. */
export function pointsOf(value: unknown): PromptPointJson[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (p): p is PromptPointJson =>
      typeof p === 'object' && p !== null && Number.isFinite((p as PromptPointJson).x) && Number.isFinite((p as PromptPointJson).y),
  );
}

/** A new list with one more point, at whole-pixel coordinates. */
export function addPoint(value: unknown, x: number, y: number, label: 0 | 1): PromptPointJson[] {
  return [...pointsOf(value), { x: Math.round(x), y: Math.round(y), label }];
}

export function removePoint(value: unknown, index: number): PromptPointJson[] {
  return pointsOf(value).filter((_, i) => i !== index);
}

/** Index of the point within `radius` pixels of (x, y), the nearest one; -1 if none. */
export function pointAt(value: unknown, x: number, y: number, radius: number): number {
  let best = -1;
  let bestD = radius * radius;
  pointsOf(value).forEach((p, i) => {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d <= bestD) [best, bestD] = [i, d];
  });
  return best;
}

/**
 * A click on an element showing an image of `width` x `height` pixels,
 * displayed at `shownWidth` x `shownHeight` CSS pixels, to image pixels.
 */
export function toImagePixels(offsetX: number, offsetY: number, shownWidth: number, shownHeight: number, width: number, height: number): { x: number; y: number } {
  const x = Math.min(width - 1, Math.max(0, (offsetX / shownWidth) * width));
  const y = Math.min(height - 1, Math.max(0, (offsetY / shownHeight) * height));
  return { x, y };
}
