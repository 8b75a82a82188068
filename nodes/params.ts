// Param schemas and checks shared by several nodes.

import type { JsonParam, PathParam, StringParam } from '../engine';

export function checkRgb(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length !== 3 || value.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255))
    return 'expected [r, g, b] with integers 0-255, e.g. [255, 255, 255] for white';
  return undefined;
}

export function colorParam(description: string, value: [number, number, number]): JsonParam {
  return { type: 'json', shape: '[r, g, b] (0-255)', default: value, description, check: checkRgb };
}

/** A registered model id plus an optional file that replaces it (same interface). */
export function modelParams(defaultId: string, what: string): { model: StringParam; modelPath: PathParam } {
  return {
    model: { type: 'string', default: defaultId, description: `registered ${what} model id (samnerf models list)`, advanced: true },
    modelPath: { type: 'path', mode: 'file', default: '', extensions: ['.onnx'], description: `an ONNX ${what} file with the same interface, used instead of the registered one` },
  };
}
