// The view a renderer node renders (FeatureRenderer, ClipSegRenderer): by
// name, or by default the first test view, else the first view.

import { NodeError, type StringParam } from '../../engine';
import type { View, ViewsValue } from '../../engine/values';

/** The renderer nodes' `view` param, read by findView. */
export const VIEW_PARAM: StringParam = { type: 'string', default: '', description: 'view name, e.g. test/r_0 (empty: the first test view, else the first view)' };

/** The view named `name` (empty: the first test view, else the first view); a NodeError on the `view` param listing some names when there is none. */
export function findView(views: ViewsValue, name: string): View {
  const view = name ? views.views.find((v) => v.name === name) : (views.views.find((v) => v.split === 'test') ?? views.views[0]);
  if (!view) {
    const some = views.views.slice(0, 5).map((v) => v.name).join(', ');
    throw new NodeError(name ? `no view named "${name}"` : 'the dataset has no views', { param: 'view', fix: `use one of: ${some}${views.views.length > 5 ? ', ...' : ''}` });
  }
  return view;
}
