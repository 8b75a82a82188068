// Feature distillation steps/s on WebGPU (runtime-gpu/webgpu/distill) and on
// the CPU head in the same run, on the generated scene's exact geometry with
// synthetic targets (test/gpu/feature-distill-checks.ts): the FeatureDistiller
// default head (16 levels, 2^17 table, H 64, C 32, P 4) unless overridden.
// Prints both rates and the GPU/CPU ratio, the load average and the adapter.
//
// Usage: npx tsx bench/distill-gpu.ts [--views 4] [--size 64] [--cells 64]
//          [--gpu-steps 200] [--cpu-steps 20] [--warmup 3] [--patch 4] [--agg 32]
//          [--hidden 64] [--software] [--json FILE]
//   --software  use Chromium's SwiftShader when VK_ICD_FILENAMES is unset
//               (correctness only: a software adapter is slower than the CPU head)

import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { FeatureDistillation } from '../runtime-gpu/distill/distiller';
import { featureFieldConfig } from '../runtime-gpu/distill/layout';
import { adapterName } from '../runtime-gpu/webgpu/device';
import { acquireNodeGpu } from '../runtime-gpu/webgpu/node/gpu';
import { distillScene, stepsPerSecond } from '../test/gpu/feature-distill-checks';

const { values: args } = parseArgs({
  options: {
    views: { type: 'string', default: '4' },
    size: { type: 'string', default: '64' },
    cells: { type: 'string', default: '64' },
    'gpu-steps': { type: 'string', default: '200' },
    'cpu-steps': { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    patch: { type: 'string', default: '4' },
    agg: { type: 'string', default: '32' },
    hidden: { type: 'string', default: '64' },
    software: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const int = (name: keyof typeof args) => {
  const v = Number(args[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} ${String(args[name])}: expected a non-negative integer`);
  return v;
};

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`load average at start: ${load()} (${cpus().length} CPUs)`);
const ctx = await acquireNodeGpu({ softwareFallback: args.software });
const adapter = adapterName(ctx.adapter);
console.log(`adapter: ${adapter}`);

const config = featureFieldConfig({ patch: int('patch'), aggChannels: int('agg'), hidden: int('hidden') });
const { field, targets } = distillScene({ views: int('views'), size: int('size') });
const prep = { viewBank: false, prior: false } as const;
const cells = int('cells'), warmup = int('warmup'), lr = 5e-3;

const t0 = performance.now();
const gpu = new FeatureDistillation(config, field, 3);
await gpu.prepare(targets, prep);
const t1 = performance.now();
await gpu.useGpu(ctx);
const t2 = performance.now();
console.log(`prepared ${targets.length} views in ${((t1 - t0) / 1000).toFixed(1)} s; GPU upload and kernel compilation ${((t2 - t1) / 1000).toFixed(1)} s`);
const g = await stepsPerSecond(gpu, 'gpu', { steps: int('gpu-steps'), warmup, cells, lr });
console.log(`GPU: ${g.stepsPerSecond.toFixed(2)} steps/s (${int('gpu-steps')} steps of ${cells} cells in ${g.seconds.toFixed(1)} s), loss ${g.lastLoss.toFixed(5)}; load ${load()}`);
const cpu = new FeatureDistillation(config, field, 3);
await cpu.prepare(targets, prep);
const c = await stepsPerSecond(cpu, 'cpu', { steps: int('cpu-steps'), warmup, cells, lr });
console.log(`CPU: ${c.stepsPerSecond.toFixed(2)} steps/s (${int('cpu-steps')} steps in ${c.seconds.toFixed(1)} s), loss ${c.lastLoss.toFixed(5)}; load ${load()}`);
const ratio = g.stepsPerSecond / c.stepsPerSecond;
console.log(`GPU / CPU: x${ratio.toFixed(2)} (${adapter}; head P ${config.patch}, C ${config.aggChannels}, H ${config.hidden}, ${config.hash.levels} levels, 2^${config.hash.log2TableSize})`);
if (args.json)
  writeFileSync(args.json, JSON.stringify({ adapter, config, cells, gpu: g, cpu: c, ratio, load: loadavg() }, null, 2));
ctx.destroy();
