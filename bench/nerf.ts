// NeRF training benchmark on a posed dataset loaded by the ImageLoader node (default
// ../shared/data/lego_200; any format it reads):
// trains with a fixed time budget and prints steps/s, rays/s, samples/s, the
// test PSNR at time marks (every 8th test view, white background), and peak
// memory; then, in the same process, short baseline runs (the TypeScript
// reference MLP kernels instead of onnxruntime; the occupancy grid off) with
// their throughput as a ratio of the main run's.
//
// Usage: npx tsx bench/nerf.ts [--seconds 120] [--marks 30,60] [--budgets 60,120,300]
//          [--threads 0] [--lr 0.02] [--data DIR] [--every 8] [--baseline-seconds 20] [--baseline-subset 5]
//          [--no-baselines] [--json FILE] [--clock wall|cpu] [--lr-hold 0.3] [--lr-final 0.05]
//          [--levels 12] [--log2-table N] [--march-steps N] [--render-march F] [--rays N]
//   --rays, --log2-table  default: NeRFTrainer's rule for the budget (trainingSize: 2048 / 17
//                under 600 s, 4096 / 19 from 600 s)
//   --render-march F  render (evaluate) with F x the training march steps (default: the config's)
//   baselines are evaluated on every 5th of the evaluation views (rendering without the
//   occupancy grid or with the TypeScript MLPs is slow)
//   --seconds  one training run with this budget, evaluated at the marks and at the end
//   --budgets  instead, one complete run per budget (the learning rate anneals over each)
//   --threads  1 by default; 0 = every core (at most 4)
// The clock counts training only (steps and grid updates); evaluation is excluded.
//   --clock cpu  counts the process's CPU time instead of wall time (user + system,
//                all threads): on a machine shared with other jobs it measures what
//                the run would take alone; with one training thread it is close to
//                (slightly above: GC threads) the wall time of an idle machine.

import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ViewsValue } from '../engine/values';
import { registerOrtNode } from '../runtime-gpu/backends/ort-node';
import { configForScene, paramLayout, trainingSize, type FieldOptions } from '../runtime-gpu/nerf/config';
import { pixelFootprint, trainingSet, viewsOf } from '../runtime-gpu/nerf/dataset';
import { createFieldEvaluator, type EvaluatorChoice } from '../runtime-gpu/nerf/evaluators';
import { Nerf } from '../runtime-gpu/nerf/nerf';
import { registerNerfNode } from '../runtime-gpu/nerf/node';
import { attachWorkerShards } from '../runtime-gpu/nerf/node/shard-pool';
import { resolveThreads } from '../runtime-gpu/nerf/platform';
import { evaluateViews, trainNerf } from '../runtime-gpu/nerf/trainer';
import { loadViews } from './load-views';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    marks: { type: 'string' },
    budgets: { type: 'string' },
    threads: { type: 'string', default: '1' },
    data: { type: 'string' },
    every: { type: 'string', default: '8' },
    'baseline-seconds': { type: 'string', default: '20' },
    'baseline-subset': { type: 'string', default: '5' },
    'no-baselines': { type: 'boolean', default: false },
    rays: { type: 'string' },
    levels: { type: 'string' },
    'log2-table': { type: 'string' },
    'march-steps': { type: 'string' },
    'render-march': { type: 'string' },
    seed: { type: 'string', default: '0' },
    lr: { type: 'string', default: '0.02' },
    json: { type: 'string' },
    clock: { type: 'string', default: 'wall' },
    'lr-hold': { type: 'string' },
    'lr-final': { type: 'string' },
  },
});

if (args.clock !== 'wall' && args.clock !== 'cpu') throw new Error(`--clock ${args.clock}: expected wall or cpu`);
/** The training clock in ms: wall time, or this process's CPU time (all threads). */
const clock = args.clock === 'cpu' ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();

registerOrtNode();
registerNerfNode();

const dataDir = resolve(args.data ?? join(import.meta.dirname, '..', '..', 'shared', 'data', 'lego_200'));
const evalEvery = Number(args.every);
const threads = resolveThreads(Number(args.threads));
// Rays per step and table size: the flags, else NeRFTrainer's rule for the budget (trainingSize).
const requestedSize = { raysPerBatch: args.rays ? Number(args.rays) : 0, log2TableSize: args['log2-table'] ? Number(args['log2-table']) : 0 };
const fieldOptions: FieldOptions = {};
if (args.levels) fieldOptions.levels = Number(args.levels);
if (args['march-steps']) fieldOptions.marchSteps = Number(args['march-steps']);
// --render-march F: render (evaluate) with F times as many march steps as training.
const renderMarchFactor = args['render-march'] ? Number(args['render-march']) : undefined;

interface Variant {
  name: string;
  evaluator: EvaluatorChoice;
  threads: number;
  occupancy: boolean;
}

interface RunResult {
  variant: string;
  budget: number;
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  raysPerSecond: number;
  samplesPerSecond: number;
  curve: Array<{ seconds: number; steps: number; psnr: number; wall: number; load: number }>;
  evaluator: string;
  raysPerBatch: number;
  log2TableSize: number;
  renderMarchSteps: number;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
let peakRss = 0;
const sampleMemory = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const memoryTimer = setInterval(sampleMemory, 250);

async function train(views: ViewsValue, variant: Variant, budget: number, marks: number[], evaluate: boolean, evalSubset = 1): Promise<RunResult> {
  const size = trainingSize(budget, requestedSize);
  const config = configForScene({ ...views, pixelFootprint: pixelFootprint(views) }, { ...fieldOptions, log2TableSize: size.log2TableSize });
  if (renderMarchFactor) config.render.renderMarchSteps = Math.round(config.render.marchSteps * renderMarchFactor);
  const layout = paramLayout(config);
  const { evaluator } = await createFieldEvaluator(config, layout, variant.evaluator);
  const nerf = new Nerf(config, evaluator, { seed: Number(args.seed), raysPerBatch: size.raysPerBatch, shared: variant.threads > 1 });
  const set = trainingSet(viewsOf(views, 'train'));
  if (set.compositeBackground) config.render.background = set.compositeBackground;
  nerf.setTrainingSet(set, { carve: variant.occupancy });
  const shards = variant.threads > 1 ? await attachWorkerShards(nerf, set, variant.threads - 1, variant.evaluator) : [];
  const test = viewsOf(views, 'test', evalEvery).filter((_, i) => i % evalSubset === 0);
  const curve: RunResult['curve'] = [];
  let seconds = 0, steps = 0, rays = 0, samples = 0;
  try {
    // Train segment by segment up to each mark, evaluating in between (outside the clock).
    const ends = [...new Set([...marks.filter((m) => m < budget), budget])].sort((a, b) => a - b);
    for (const end of ends) {
      const s = await trainNerf(nerf, {
        steps: 0,
        maxSeconds: end,
        learningRate: Number(args.lr),
        startStep: steps,
        startSeconds: seconds,
        // The schedule spans the whole budget, not the segment.
        scheduleSeconds: budget,
        occupancyInterval: variant.occupancy ? 16 : 1 << 30,
        now: clock,
        ...(args['lr-hold'] ? { lrHold: Number(args['lr-hold']) } : {}),
        ...(args['lr-final'] ? { lrFinalRatio: Number(args['lr-final']) } : {}),
      });
      rays += s.rays;
      samples += s.evaluated;
      steps = s.steps;
      seconds = s.seconds;
      sampleMemory();
      if (evaluate) {
        const e = await evaluateViews(nerf, test);
        curve.push({ seconds: round(seconds, 1), steps, psnr: round(e.psnr, 2), wall: Math.round((performance.now() - t0) / 1000), load: round(loadavg()[0]!, 2) });
        console.log(`  ${variant.name}: ${seconds.toFixed(0)} s, ${steps} steps: test PSNR ${e.psnr.toFixed(2)} dB over ${test.length} views (eval ${e.seconds.toFixed(0)} s; load ${loadavg()[0]!.toFixed(2)}; ${Math.round(s.raysPerSecond)} rays/s, ${Math.round(s.samplesPerSecond)} samples/s this segment)`);
      }
    }
  } finally {
    for (const s of shards) await s.dispose();
    await evaluator.dispose?.();
  }
  return {
    variant: variant.name,
    budget,
    steps,
    seconds: round(seconds, 1),
    stepsPerSecond: round(steps / seconds, 2),
    raysPerSecond: Math.round(rays / seconds),
    samplesPerSecond: Math.round(samples / seconds),
    curve,
    evaluator: evaluator.name,
    raysPerBatch: size.raysPerBatch,
    log2TableSize: size.log2TableSize,
    renderMarchSteps: config.render.renderMarchSteps ?? config.render.marchSteps,
  };
}


function round(x: number, d: number): number {
  return Math.round(x * 10 ** d) / 10 ** d;
}

const t0 = performance.now();
const views = await loadViews(dataDir);
const nTest = viewsOf(views, 'test', evalEvery).length;
console.log(`dataset ${dataDir}: ${viewsOf(views, 'train').length} train views, ${nTest} test views (every ${evalEvery}th), ${views.views[0]!.image.width}x${views.views[0]!.image.height}`);
console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model}), Node ${process.version}; threads ${threads}, ${requestedSize.raysPerBatch || 'budget-dependent'} rays per batch; ${args.clock} clock; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const main: Variant = { name: threads > 1 ? `onnxruntime MLPs, ${threads} threads` : 'onnxruntime MLPs', evaluator: 'auto', threads, occupancy: true };
const results: RunResult[] = [];
if (args.budgets) {
  for (const budget of args.budgets.split(',').map(Number)) results.push(await train(views, main, budget, [], true));
} else {
  const budget = Number(args.seconds);
  const marks = args.marks ? args.marks.split(',').map(Number) : [30, 60, 120, 300, 600].filter((m) => m < budget);
  results.push(await train(views, main, budget, marks, true));
}
const reference = results[results.length - 1]!;

const baselines: RunResult[] = [];
if (!args['no-baselines']) {
  const b = Number(args['baseline-seconds']);
  const variants: Variant[] = [
    { name: 'TypeScript reference MLPs', evaluator: 'reference', threads: 1, occupancy: true },
    { name: 'occupancy grid off', evaluator: 'auto', threads: 1, occupancy: false },
  ];
  if (threads > 1) variants.unshift({ name: 'onnxruntime MLPs, 1 thread', evaluator: 'auto', threads: 1, occupancy: true });
  // The main configuration over the same short budget, so the ratios compare like with like.
  const subset = Number(args['baseline-subset']);
  const same = await train(views, { ...main, name: `${main.name} (${b} s)` }, b, [], true, subset);
  baselines.push(same);
  for (const v of variants) baselines.push(await train(views, v, b, [], true, subset));
}
clearInterval(memoryTimer);
sampleMemory();

console.log(`\nPSNR vs training time (every ${evalEvery}th test view):`);
for (const r of results) for (const c of r.curve) console.log(`  budget ${r.budget} s | ${String(c.seconds).padStart(6)} s | ${String(c.steps).padStart(6)} steps | ${c.psnr.toFixed(2)} dB`);
console.log(`\nthroughput (${reference.variant}, ${reference.evaluator}; ${reference.raysPerBatch} rays per step, 2^${reference.log2TableSize} table entries, rendering ${reference.renderMarchSteps} march steps): ${reference.stepsPerSecond} steps/s, ${reference.raysPerSecond} rays/s, ${reference.samplesPerSecond} samples/s`);
if (baselines.length) {
  const base = baselines[0]!;
  console.log(`\nbaselines over ${args['baseline-seconds']} s each, PSNR on every ${args['baseline-subset']}th evaluation view (ratio = that run's rays/s / ${base.variant}'s):`);
  for (const r of baselines)
    console.log(`  ${r.variant.padEnd(40)} ${String(r.raysPerSecond).padStart(7)} rays/s ${String(r.samplesPerSecond).padStart(8)} samples/s  PSNR ${r.curve.at(-1)?.psnr.toFixed(2)} dB  ratio ${(r.raysPerSecond / base.raysPerSecond).toFixed(2)}`);
}
const maxRss = process.resourceUsage().maxRSS * 1024;
console.log(`\npeak memory: ${mb(Math.max(peakRss, maxRss))} RSS; wall ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
const summary = { dataset: dataDir, clock: args.clock, fieldOptions, lrHold: args['lr-hold'], lrFinal: args['lr-final'], threads, requestedSize, results, baselines, peakRssBytes: Math.max(peakRss, maxRss), cpus: cpus().length, node: process.version };
console.log(JSON.stringify(summary));
if (args.json) writeFileSync(args.json, JSON.stringify(summary, null, 2) + '\n');
