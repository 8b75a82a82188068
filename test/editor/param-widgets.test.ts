import { describe, expect, it } from 'vitest';
import { createNodeRegistry } from '../../nodes';
import { acceptFor, effectiveValue, parseWidgetValue, stepFor, visibleParams, widgetFor, widgetText, type ParamDescription } from '../../editor/param-widgets';
import { DemoImage, DemoSlow, DemoThreshold } from '../e2e/demo-nodes';
import { describeNode } from '../../engine';

const threshold = describeNode(DemoThreshold).params;
const image = describeNode(DemoImage).params;
const slow = describeNode(DemoSlow).params;

describe('param widgets', () => {
  it('picks a widget per schema', () => {
    expect(widgetFor(threshold.threshold!)).toBe('slider');
    expect(widgetFor(threshold.invert!)).toBe('checkbox');
    expect(widgetFor(threshold.mode!)).toBe('select');
    expect(widgetFor(image.file!)).toBe('file');
    expect(widgetFor(slow.note!)).toBe('json');
    expect(widgetFor({ type: 'number', default: 0, description: '', min: 0 })).toBe('number');
    expect(widgetFor({ type: 'string', default: '', description: '' })).toBe('text');
    expect(widgetFor({ type: 'string', default: '', description: '', multiline: true })).toBe('textarea');
  });

  it('gives every shipped param a widget', () => {
    for (const d of createNodeRegistry().describe()) for (const spec of Object.values(d.params)) expect(widgetFor(spec)).toBeTruthy();
  });

  it('steps integers by 1 and honours an explicit step', () => {
    expect(stepFor(threshold.threshold!)).toBe(1);
    expect(stepFor({ type: 'number', default: 0.5, min: 0, max: 1, step: 0.05, description: '' })).toBe(0.05);
    expect(stepFor({ type: 'number', default: 0.5, min: 0, max: 2, description: '' })).toBe(0.02);
  });

  it('converts and checks with the engine rules (ranges, integers, enums)', () => {
    expect(parseWidgetValue(threshold.threshold!, '200')).toEqual({ ok: true, value: 200 });
    const below = parseWidgetValue(threshold.threshold!, '-3');
    expect(below.ok).toBe(false);
    if (!below.ok) expect(below.problem).toContain('below the minimum 0');
    expect(parseWidgetValue(threshold.threshold!, '1.5').ok).toBe(false);
    expect(parseWidgetValue(threshold.threshold!, 'abc').ok).toBe(false);
    expect(parseWidgetValue(threshold.mode!, 'green')).toEqual({ ok: true, value: 'green' });
    expect(parseWidgetValue(threshold.mode!, 'blue').ok).toBe(false);
    expect(parseWidgetValue(threshold.invert!, true)).toEqual({ ok: true, value: true });
    expect(parseWidgetValue(image.file!, 'truck.jpg')).toEqual({ ok: true, value: 'truck.jpg' });
  });

  it('parses JSON text and reports syntax errors', () => {
    expect(parseWidgetValue(slow.note!, '{"tag": "y"}')).toEqual({ ok: true, value: { tag: 'y' } });
    const bad = parseWidgetValue(slow.note!, '{tag: y}');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problem).toMatch(/not valid JSON/);
    expect(widgetText(slow.note!, [{ x: 1, y: 2, label: 1 }])).toBe('[ { "x": 1, "y": 2, "label": 1 } ]');
  });

  it('shows the default until a value is set, and hides advanced params until asked', () => {
    expect(effectiveValue(threshold.threshold!, {}, 'threshold')).toBe(128);
    expect(effectiveValue(threshold.threshold!, { threshold: 7 }, 'threshold')).toBe(7);
    const advanced = { ...describeNode(DemoThreshold), params: { a: { ...(threshold.invert as ParamDescription), advanced: true }, b: threshold.mode! } };
    expect(visibleParams(advanced, false).map(([n]) => n)).toEqual(['b']);
    expect(visibleParams(advanced, true).map(([n]) => n)).toEqual(['a', 'b']);
    expect(acceptFor(image.file!)).toBe('.png,.jpg,.jpeg');
  });
});
