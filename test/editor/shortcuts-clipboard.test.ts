import { describe, expect, it } from 'vitest';
import { copyFragment, idForNewNode, pasteFragment } from '../../editor/clipboard';
import { commandFor } from '../../editor/shortcuts';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }> = {}) => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, ...mods });

describe('shortcuts', () => {
  it('maps the editor keys', () => {
    expect(commandFor(key('Delete'), false)).toBe('delete');
    expect(commandFor(key('z', { ctrlKey: true }), false)).toBe('undo');
    expect(commandFor(key('Z', { ctrlKey: true, shiftKey: true }), false)).toBe('redo');
    expect(commandFor(key('z', { metaKey: true }), false)).toBe('undo');
    expect(commandFor(key('c', { ctrlKey: true }), false)).toBe('copy');
    expect(commandFor(key('v', { ctrlKey: true }), false)).toBe('paste');
    expect(commandFor(key('s', { ctrlKey: true }), false)).toBe('save');
    expect(commandFor(key('a'), false)).toBeUndefined();
  });

  it('leaves keys typed into fields to the field, except save', () => {
    expect(commandFor(key('Delete'), true)).toBeUndefined();
    expect(commandFor(key('z', { ctrlKey: true }), true)).toBeUndefined();
    expect(commandFor(key('s', { ctrlKey: true }), true)).toBe('save');
  });
});

describe('clipboard', () => {
  const nodes = [
    { id: 'photo', type: 'ImageLoader', params: { path: 'a.jpg' }, position: { x: 0, y: 0 } },
    { id: 'encode', type: 'SamEncoder', params: {}, position: { x: 300, y: 0 } },
    { id: 'other', type: 'SamEncoder', params: {}, position: { x: 300, y: 300 } },
  ];
  const edges = [
    { source: 'photo', sourceOutput: 'image', target: 'encode', targetInput: 'image' },
    { source: 'photo', sourceOutput: 'image', target: 'other', targetInput: 'image' },
  ];

  it('copies the selection with only the wires inside it, and pastes under fresh ids', () => {
    const fragment = copyFragment(nodes, edges, new Set(['photo', 'encode']));
    expect(fragment.nodes.map((n) => n.id)).toEqual(['photo', 'encode']);
    expect(fragment.edges).toHaveLength(1);
    const pasted = pasteFragment(fragment, nodes.map((n) => n.id));
    expect(pasted.nodes.map((n) => n.id)).toEqual(['photo2', 'encode2']);
    expect(pasted.nodes[0]!.position).toEqual({ x: 40, y: 40 });
    expect(pasted.nodes[0]!.params).toEqual({ path: 'a.jpg' });
    expect(pasted.nodes[0]!.params).not.toBe(nodes[0]!.params);
    expect(pasted.edges).toEqual([{ source: 'photo2', sourceOutput: 'image', target: 'encode2', targetInput: 'image' }]);
  });

  it('names new nodes after their type', () => {
    expect(idForNewNode('SamEncoder', [])).toBe('samEncoder');
    expect(idForNewNode('SamEncoder', ['samEncoder'])).toBe('samEncoder2');
  });
});
