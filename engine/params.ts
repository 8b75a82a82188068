// Parameter schemas: each param has a type, a default and its limits. The
// same schema drives validation, CLI --set coercion, `samnerf nodes` and the
// editor's widgets.

interface ParamBase<T> {
  description: string;
  default: T;
  /** Hidden from the palette's inline widgets (still saved and validated). */
  advanced?: boolean;
}

export interface NumberParam extends ParamBase<number> {
  type: 'number' | 'integer';
  min?: number;
  max?: number;
  step?: number;
}
export interface StringParam extends ParamBase<string> {
  type: 'string';
  multiline?: boolean;
}
export interface BooleanParam extends ParamBase<boolean> {
  type: 'boolean';
}
export interface EnumParam extends ParamBase<string> {
  type: 'enum';
  options: readonly string[];
}
/** A file or folder; relative values resolve against the graph file's folder. */
export interface PathParam extends ParamBase<string> {
  type: 'path';
  mode: 'file' | 'folder' | 'any';
  /** File name suffixes offered by pickers, e.g. ['.png', '.jpg']. */
  extensions?: readonly string[];
}
/** Structured JSON (prompt lists, colours). `check` returns a problem or undefined. */
export interface JsonParam extends ParamBase<unknown> {
  type: 'json';
  /** Human-readable shape, shown in help and errors, e.g. '[{"x","y","label"}]'. */
  shape: string;
  check?: (value: unknown) => string | undefined;
}

export type ParamSpec = NumberParam | StringParam | BooleanParam | EnumParam | PathParam | JsonParam;

/** A problem with one param value; undefined when the value is acceptable. */
export function checkParam(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a ${spec.type}, got ${describeValue(value)}`;
      if (spec.type === 'integer' && !Number.isInteger(value)) return `expected an integer, got ${value}`;
      if (spec.min !== undefined && value < spec.min) return `${value} is below the minimum ${spec.min}`;
      if (spec.max !== undefined && value > spec.max) return `${value} is above the maximum ${spec.max}`;
      return undefined;
    }
    case 'string':
    case 'path':
      return typeof value === 'string' ? undefined : `expected a string, got ${describeValue(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected true or false, got ${describeValue(value)}`;
    case 'enum':
      if (typeof value !== 'string' || !spec.options.includes(value))
        return `expected one of ${spec.options.map((o) => JSON.stringify(o)).join(', ')}, got ${describeValue(value)}`;
      return undefined;
    case 'json':
      return spec.check?.(value);
  }
}

/** Text from a command line (`--set node.param=value`) to the param's type. */
export function coerceParam(spec: ParamSpec, text: string): unknown {
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const n = Number(text);
      return text.trim() === '' || Number.isNaN(n) ? text : n;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'string':
    case 'enum':
    case 'path':
      return text;
    case 'json':
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
  }
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
