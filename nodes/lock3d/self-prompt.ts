// Cross-view self-prompting (SA3D): positive SAM points for a view from the
// 3D mask rendered into it. The first point is the most confident pixel
// (ties go to the most interior one); each next point is the best-scoring
// pixel outside squares blocked around the points so far, where a pixel's
// score is its mask confidence minus its normalised (x, y, depth) distance
// to the nearest chosen point, so prompts grow over the object's surface
// instead of jumping to stray pixels. Stops when no score is positive.
// Unlike SA3D, no decoder runs between points (one decoder run per view).

import type { PromptPoint } from '../../engine/values';
import { KNOWN, type RenderedMask } from './mask-grid';

/** Chamfer (3-4) distance to the nearest pixel outside the mask, in pixels. */
export function distanceInside(mask: Uint8Array, width: number, height: number): Float32Array {
  const big = 1e9;
  const d = new Float32Array(width * height);
  for (let p = 0; p < d.length; p++) d[p] = mask[p] ? big : 0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : d[y * width + x]!);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (!d[p]) continue;
      d[p] = Math.min(d[p]!, at(x - 1, y) + 3, at(x, y - 1) + 3, at(x - 1, y - 1) + 4, at(x + 1, y - 1) + 4);
    }
  for (let y = height - 1; y >= 0; y--)
    for (let x = width - 1; x >= 0; x--) {
      const p = y * width + x;
      if (!d[p]) continue;
      d[p] = Math.min(d[p]!, at(x + 1, y) + 3, at(x, y + 1) + 3, at(x + 1, y + 1) + 4, at(x - 1, y + 1) + 4);
    }
  for (let p = 0; p < d.length; p++) d[p] /= 3;
  return d;
}

export function selfPrompt(rendered: RenderedMask, depth: Float32Array, maxPoints: number): PromptPoint[] {
  const { width, height, logit, state } = rendered;
  const n = width * height;
  const score = new Float32Array(n).fill(-Infinity);
  const inside = new Uint8Array(n);
  let area = 0, maxDepth = 0;
  for (let p = 0; p < n; p++) {
    if (state[p] !== KNOWN) continue;
    score[p] = 2 / (1 + Math.exp(-logit[p]!)) - 1;
    if (score[p]! > 0) {
      inside[p] = 1;
      area++;
    }
    if (depth[p]! > maxDepth) maxDepth = depth[p]!;
  }
  if (area === 0 || maxPoints < 1) return [];
  const dist = distanceInside(inside, width, height);
  let maxDist = 0;
  for (let p = 0; p < n; p++) if (dist[p]! > maxDist) maxDist = dist[p]!;
  let first = -1, firstScore = -Infinity;
  for (let p = 0; p < n; p++) {
    if (!inside[p]) continue;
    const s = score[p]! + 1e-3 * (dist[p]! / maxDist);
    if (s > firstScore) {
      firstScore = s;
      first = p;
    }
  }
  const points: PromptPoint[] = [{ x: first % width, y: Math.floor(first / width), label: 1 }];
  const half = Math.max(Math.floor(Math.floor(Math.sqrt(area / Math.PI)) / 2), 2);
  const blocked = new Uint8Array(n);
  const best = new Float32Array(n).fill(-Infinity);
  const maxScore = Math.max(0, firstScore);
  const depthScale = maxDepth > 0 ? 1 / maxDepth : 0;
  while (points.length < maxPoints) {
    const last = points[points.length - 1]!;
    for (let y = Math.max(0, last.y - half); y <= Math.min(height - 1, last.y + half); y++)
      for (let x = Math.max(0, last.x - half); x <= Math.min(width - 1, last.x + half); x++) blocked[y * width + x] = 1;
    // Normalised (x, y, depth) distance to the last point, rescaled to [0, 1] over the view.
    const lp = last.y * width + last.x;
    const ld = depth[lp]! * depthScale;
    const dist3 = new Float32Array(n);
    let lo = Infinity, hi = -Infinity;
    for (let p = 0; p < n; p++) {
      const dx = (p % width - last.x) / width, dy = (Math.floor(p / width) - last.y) / height, dz = depth[p]! * depthScale - ld;
      const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
      dist3[p] = d;
      if (d < lo) lo = d;
      if (d > hi) hi = d;
    }
    const range = hi > lo ? hi - lo : 1;
    let pick = -1, pickScore = 0;
    for (let p = 0; p < n; p++) {
      if (blocked[p] || state[p] !== KNOWN) continue;
      const s = score[p]! - ((dist3[p]! - lo) / range) * maxScore;
      if (s > best[p]!) best[p] = s;
      if (best[p]! > pickScore) {
        pickScore = best[p]!;
        pick = p;
      }
    }
    if (pick < 0) break;
    points.push({ x: pick % width, y: Math.floor(pick / width), label: 1 });
  }
  return points;
}
