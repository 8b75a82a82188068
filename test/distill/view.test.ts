// The renderer nodes' view lookup (nodes/distill/view.ts): by name, by
// default the first test view, else the first view; a missing view is a
// NodeError on the view param listing some names, from FeatureRenderer and
// ClipSegRenderer alike (before any rendering).

import { describe, expect, it } from 'vitest';
import type { FeatureFieldValue, View, ViewsValue } from '../../engine/values';
import { ClipSegRenderer, FeatureRenderer } from '../../nodes/distill';
import { findView } from '../../nodes/distill/view';
import type { SamnerfHost } from '../../nodes/host';
import { testNodeContext } from '../helpers/node-context';

const views = (names: Array<[string, View['split']]>): ViewsValue => ({ views: names.map(([name, split]) => ({ name, split }) as View) }) as ViewsValue;
const scene = views([['train/r_0', 'train'], ['train/r_1', 'train'], ['test/r_0', 'test'], ['test/r_1', 'test'], ['val/r_0', 'val'], ['val/r_1', 'val']]);

async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; param?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { name: string; message: string; param?: string };
  }
  throw new Error('expected a failure');
}

describe('findView', () => {
  it('finds a view by name, else the first test view, else the first view', () => {
    expect(findView(scene, 'train/r_1').name).toBe('train/r_1');
    expect(findView(scene, '').name).toBe('test/r_0');
    expect(findView(views([['a', 'train'], ['b', 'val']]), '').name).toBe('a');
  });

  it('names the missing view, the param and five of the views', () => {
    const e = (() => {
      try {
        findView(scene, 'test/r_9');
      } catch (err) {
        return err as { name: string; message: string; param?: string };
      }
    })()!;
    expect(e.name).toBe('NodeError');
    expect(e.param).toBe('view');
    expect(e.message).toBe('no view named "test/r_9"; use one of: train/r_0, train/r_1, test/r_0, test/r_1, val/r_0, ...');
    expect(() => findView(views([]), '')).toThrow('the dataset has no views; use one of: ');
  });

  it('is what FeatureRenderer and ClipSegRenderer report for a missing view', async () => {
    const ctx = testNodeContext({} as SamnerfHost, 'render');
    const features = { kind: 'FeatureField', clipseg: {} } as unknown as FeatureFieldValue;
    for (const run of [
      () => FeatureRenderer.run(ctx, { features, views: scene }, { view: 'nope' }),
      () => ClipSegRenderer.run(ctx, { features, views: scene }, { view: 'nope', prompt: 'a truck', vocabPath: '', modelPath: '' }),
    ]) {
      const e = await failure(Promise.resolve(run()));
      expect(e.param).toBe('view');
      expect(e.message).toMatch(/^no view named "nope"; use one of: train\/r_0, /);
    }
  });
});
