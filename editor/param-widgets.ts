// Which widget edits a param, and how a widget's raw value becomes a param
// value. The conversion and the range checks are the engine's own
// (coerceParam, checkParam), so the editor accepts exactly what the CLI's
// --set and the validator accept. A json param's `check` function does not
// cross to the UI (descriptions are JSON), so its shape is checked by the
// worker's validation and shown as an error on the node.

import { checkParam, coerceParam, type NodeDescription, type ParamSpec } from '../engine';

export type ParamDescription = NodeDescription['params'][string];

export type WidgetKind = 'slider' | 'number' | 'text' | 'textarea' | 'select' | 'checkbox' | 'file' | 'json';

export function widgetFor(spec: ParamDescription): WidgetKind {
  switch (spec.type) {
    case 'number':
    case 'integer':
      // A slider only makes sense with both ends known and a sane span.
      return spec.min !== undefined && spec.max !== undefined && Number.isFinite(spec.max - spec.min) && spec.max - spec.min <= 1e4
        ? 'slider'
        : 'number';
    case 'string':
      return spec.multiline ? 'textarea' : 'text';
    case 'enum':
      return 'select';
    case 'boolean':
      return 'checkbox';
    case 'path':
      return 'file';
    case 'json':
      return 'json';
  }
}

/** The slider/number step: the spec's, else 1 for integers, else a hundredth of the range. */
export function stepFor(spec: ParamDescription): number | 'any' {
  if (spec.type !== 'number' && spec.type !== 'integer') return 'any';
  if (spec.step !== undefined) return spec.step;
  if (spec.type === 'integer') return 1;
  if (spec.min !== undefined && spec.max !== undefined) return (spec.max - spec.min) / 100;
  return 'any';
}

export type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

/** A widget's raw value (text from an input, or a checkbox's boolean) to the param's value. */
export function parseWidgetValue(spec: ParamDescription, raw: string | boolean): Parsed {
  if (typeof raw === 'boolean') {
    const problem = checkParam(spec as ParamSpec, raw);
    return problem ? { ok: false, problem } : { ok: true, value: raw };
  }
  if (spec.type === 'json') {
    try {
      return { ok: true, value: JSON.parse(raw) };
    } catch (e) {
      return { ok: false, problem: `not valid JSON: ${(e as Error).message}` };
    }
  }
  const value = coerceParam(spec as ParamSpec, raw);
  const problem = checkParam(spec as ParamSpec, value);
  return problem ? { ok: false, problem } : { ok: true, value };
}

/** What a widget shows for a value: the text of a text-like widget. */
export function widgetText(spec: ParamDescription, value: unknown): string {
  if (spec.type === 'json') return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
  if (value === undefined || value === null) return '';
  return String(value);
}

/** The value a widget shows: the node's own, else the default. */
export function effectiveValue(spec: ParamDescription, params: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(params, name) ? params[name] : spec.default;
}

/** Params shown inline (advanced ones only when asked), in definition order. */
export function visibleParams(description: NodeDescription, showAdvanced: boolean): Array<[string, ParamDescription]> {
  return Object.entries(description.params).filter(([, spec]) => showAdvanced || !spec.advanced);
}

/** `accept` for a file input from a path param's extensions. */
export function acceptFor(spec: ParamDescription): string | undefined {
  return spec.type === 'path' && spec.extensions && spec.extensions.length > 0 ? spec.extensions.join(',') : undefined;
}
