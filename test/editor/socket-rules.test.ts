import { describe, expect, it } from 'vitest';
import { canConnect, PORT_TYPES, validateGraph, type PortType } from '../../engine';
import { createNodeRegistry } from '../../nodes';
import { checkConnection, legendFor, socketColor } from '../../editor/socket-rules';

const registry = createNodeRegistry();
const descriptions = registry.describe();
const byType = new Map(descriptions.map((d) => [d.type, d]));

describe('socket rules', () => {
  it('gives every port type its own colour', () => {
    const types = Object.keys(PORT_TYPES) as PortType[];
    expect(new Set(types.map((t) => socketColor(t))).size).toBe(types.length);
    expect(socketColor('Image')).toBe('#4caf50');
    expect(socketColor('SomeFutureType')).toBe(socketColor('SomeFutureType'));
  });

  it('refuses an Image output on a SamEmbedding input, with the engine reason', () => {
    const v = checkConnection(byType, { nodeType: 'ImageLoader', port: 'image' }, { nodeType: 'SamDecoder', port: 'embedding' });
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.reason).toContain('ImageLoader.image → SamDecoder.embedding');
      expect(v.reason).toContain((canConnect('Image', 'SamEmbedding') as { reason: string }).reason);
    }
    expect(checkConnection(byType, { nodeType: 'SamEncoder', port: 'embedding' }, { nodeType: 'SamDecoder', port: 'embedding' })).toEqual({ ok: true });
    // The deliberate widening: a Mask feeds a Heatmap input.
    expect(checkConnection(byType, { nodeType: 'SamDecoder', port: 'mask' }, { nodeType: 'MaskRenderer', port: 'heatmap' })).toEqual({ ok: true });
  });

  it('agrees with the validator on every output/input pair of the shipped nodes', () => {
    for (const from of descriptions) {
      for (const out of Object.keys(from.outputs)) {
        for (const to of descriptions) {
          for (const input of Object.keys(to.inputs)) {
            const verdict = checkConnection(byType, { nodeType: from.type, port: out }, { nodeType: to.type, port: input });
            const graph = {
              format: 'samnerf.graph' as const,
              version: 1,
              nodes: [{ id: 'a', type: from.type }, { id: 'b', type: to.type }],
              edges: [{ from: `a.${out}`, to: `b.${input}` }],
            };
            const mismatch = validateGraph(graph, registry).errors.some((e) => e.code === 'type_mismatch');
            expect(verdict.ok, `${from.type}.${out} -> ${to.type}.${input}`).toBe(!mismatch);
          }
        }
      }
    }
  });

  it('refuses unknown ports rather than throwing', () => {
    expect(checkConnection(byType, { nodeType: 'ImageLoader', port: 'nope' }, { nodeType: 'SamEncoder', port: 'image' }).ok).toBe(false);
    expect(checkConnection(byType, { nodeType: 'Nope', port: 'x' }, { nodeType: 'SamEncoder', port: 'image' }).ok).toBe(false);
  });

  it('lists in the legend exactly the types the nodes use', () => {
    const legend = legendFor(descriptions).map((e) => e.type);
    const used = new Set(descriptions.flatMap((d) => [...Object.values(d.inputs), ...Object.values(d.outputs)].map((p) => p.type)));
    expect(new Set(legend)).toEqual(used);
    expect(legend).toContain('SamEmbedding');
    // A type no shipped node uses stays out of the legend.
    expect(legendFor(descriptions.filter((d) => d.type === 'SamEncoder')).map((e) => e.type).sort()).toEqual(['Image', 'SamEmbedding']);
  });
});
