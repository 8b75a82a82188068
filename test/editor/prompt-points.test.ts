import { describe, expect, it } from 'vitest';
import { loadGraph } from '../../engine';
import { fromGraph } from '../../editor/graph-sync';
import { addPoint, findPromptNode, pointAt, pointsOf, removePoint, toImagePixels } from '../../editor/prompt-points';
import { readFileSync } from 'node:fs';

const samPoints = fromGraph(loadGraph(readFileSync(new URL('../../presets/sam-points.json', import.meta.url), 'utf8')).graph!);

describe('click-to-prompt', () => {
  it('finds the PromptToPoints node of a preview pipeline, upstream or downstream', () => {
    const nodes = samPoints.nodes.map((n) => ({ id: n.id, type: n.type }));
    for (const from of ['photo', 'encode', 'decode', 'render', 'prompt']) expect(findPromptNode(nodes, samPoints.edges, from)).toBe('prompt');
  });

  it('takes the nearest prompt node, and none from another pipeline', () => {
    const nodes = [
      { id: 'img', type: 'ImageLoader' },
      { id: 'far', type: 'PromptToPoints' },
      { id: 'mid', type: 'SamEncoder' },
      { id: 'near', type: 'PromptToPoints' },
      { id: 'lonely', type: 'ImageLoader' },
    ];
    const edges = [
      { source: 'img', target: 'near' },
      { source: 'img', target: 'mid' },
      { source: 'mid', target: 'far' },
    ];
    expect(findPromptNode(nodes, edges, 'img')).toBe('near');
    expect(findPromptNode(nodes, edges, 'mid')).toBe('far');
    expect(findPromptNode(nodes, edges, 'lonely')).toBeUndefined();
  });

  it('adds, finds and removes points without touching the old list', () => {
    const start = [{ x: 500, y: 375, label: 1 as const }];
    const added = addPoint(start, 10.4, 20.6, 0);
    expect(added).toEqual([{ x: 500, y: 375, label: 1 }, { x: 10, y: 21, label: 0 }]);
    expect(start).toHaveLength(1);
    expect(pointAt(added, 12, 19, 5)).toBe(1);
    expect(pointAt(added, 100, 100, 5)).toBe(-1);
    expect(removePoint(added, 0)).toEqual([{ x: 10, y: 21, label: 0 }]);
    expect(pointsOf('not a list')).toEqual([]);
    expect(addPoint(undefined, 1, 2, 1)).toEqual([{ x: 1, y: 2, label: 1 }]);
  });

  it('maps a click on a scaled preview to image pixels, clamped inside the image', () => {
    expect(toImagePixels(100, 50, 200, 100, 1800, 900)).toEqual({ x: 900, y: 450 });
    expect(toImagePixels(250, -5, 200, 100, 1800, 900)).toEqual({ x: 1799, y: 0 });
  });
});
