// Choosing the FieldEvaluator: onnxruntime for the MLPs when a backend is
// registered (several times faster on the CPU), the TypeScript reference
// otherwise or on request. A platform adapter (node/index.ts under Node)
// may install a SessionFactory with tuned session options.

import { DeviceUnavailableError, type Device } from '../backend';
import type { FieldConfig, ParamLayout } from './config';
import { CpuFieldEvaluator } from './field-cpu';
import type { FieldEvaluator } from './field-kernels';
import { OrtFieldEvaluator, type SessionFactory } from './field-ort';
import { nerfPlatform, setNerfPlatform } from './platform';

export type EvaluatorChoice = 'auto' | 'onnxruntime' | 'reference';

/** Installs the session factory NeRF evaluators use for onnxruntime (undefined: the backend registry's defaults). */
export function setNerfSessionFactory(factory: SessionFactory | undefined): void {
  setNerfPlatform({ ...nerfPlatform(), sessionFactory: factory });
}

export interface CreatedEvaluator {
  evaluator: FieldEvaluator;
  /** Why the preferred evaluator was not used, when it was not. */
  fallback?: string;
}

export async function createFieldEvaluator(
  config: FieldConfig,
  layout: ParamLayout,
  choice: EvaluatorChoice = 'auto',
  device: Device = 'cpu',
): Promise<CreatedEvaluator> {
  if (choice === 'reference') return { evaluator: new CpuFieldEvaluator(config, layout) };
  try {
    const factory = device === 'cpu' ? nerfPlatform().sessionFactory : undefined;
    try {
      return { evaluator: await OrtFieldEvaluator.create(config, layout, { device, factory }) };
    } catch (e) {
      // In a browser onnxruntime-web runs CPU work as 'wasm': the CPU path there, not the TypeScript reference.
      if (device !== 'cpu' || factory || !(e instanceof DeviceUnavailableError)) throw e;
      return { evaluator: await OrtFieldEvaluator.create(config, layout, { device: 'wasm' }) };
    }
  } catch (e) {
    if (choice === 'onnxruntime') throw e;
    return { evaluator: new CpuFieldEvaluator(config, layout), fallback: `onnxruntime unavailable (${(e as Error).message.split('\n')[0]}); using the TypeScript reference` };
  }
}
