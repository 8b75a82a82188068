// The subcommands. Each returns its exit code through `setExit`, so main()
// stays the only place that ends the process.

import type { Command } from 'commander';
import { Executor, type NodeDescription } from '../engine';
import { createNodeRegistry } from '../nodes';
import { CliError, EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED } from './exit-codes';
import { formatErrors, readGraphFile } from './load-graph';
import { registerModelCommands } from './models-command';
import { createNodeHost, DEVICES, type DeviceChoice } from './node-host';
import { chooseMode, createReporter } from './reporter';
import { registerSceneCommand } from './scene-command';
import { registerDemoCommand } from './demo-command';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('run a graph; each node writes its files to <out>/<node id>/')
    .argument('<graph>', 'graph JSON file')
    .option('--set <node.param=value>', 'override a param (repeatable); JSON for structured params', collect, [])
    .option('--out <dir>', 'output folder', 'out')
    .option('--device <device>', `device for model inference; cpu, webgpu and cuda also set every node's device param (NeRFTrainer, ViewRenderer; --set node.device wins): ${DEVICES.join('|')}`, 'auto')
    .option('--until <node>', 'run only this node and what it depends on')
    .option('--json', 'print one JSON event per line instead of progress')
    .action(async (file: string, opts: { set: string[]; out: string; device: string; until?: string; json?: boolean }) => {
      if (!(DEVICES as readonly string[]).includes(opts.device)) throw new CliError(`--device ${opts.device}: choose one of ${DEVICES.join(', ')}`);
      const registry = createNodeRegistry();
      // --device cpu|webgpu|cuda also sets the nodes' device params (auto, the default, leaves them as saved: as the editor's device menu).
      const notes: string[] = [];
      const loaded = await readGraphFile(file, registry, opts.set, opts.device !== 'auto' ? { device: opts.device, notes } : {});
      for (const note of notes) process.stderr.write(`samnerf: ${note}\n`);
      if (!loaded.validation?.compiled) {
        reportInvalid(loaded.path, loaded.errors, opts.json);
        return setExit(EXIT_INVALID);
      }
      const compiled = loaded.validation.compiled;
      if (opts.until !== undefined && !compiled.byId.has(opts.until))
        throw new CliError(`--until ${opts.until}: the graph has no node "${opts.until}" (its nodes: ${[...compiled.byId.keys()].join(', ')})`);
      const host = await createNodeHost({ out: opts.out, device: opts.device as DeviceChoice });
      const executor = new Executor({ host });
      const reporter = createReporter(chooseMode(!!opts.json));
      executor.events.on((e) => reporter.handle(e));
      // Ctrl+C cancels the run cleanly (running nodes see the signal); a second one quits.
      const controller = new AbortController();
      const onSigint = () => (controller.signal.aborted ? process.exit(130) : controller.abort());
      process.on('SIGINT', onSigint);
      try {
        const result = await executor.run(compiled, { target: opts.until, signal: controller.signal });
        reporter.close();
        if (!opts.json && result.status === 'failed') {
          for (const [node, failure] of result.failures) process.stderr.write(`samnerf: node ${node} failed: ${failure.message}\n`);
        }
        setExit(result.status === 'done' ? EXIT_OK : EXIT_RUN_FAILED);
      } finally {
        process.off('SIGINT', onSigint);
      }
    });

  program
    .command('validate')
    .description('check a graph without running it; exit 2 when it has problems')
    .argument('<graph>', 'graph JSON file')
    .option('--set <node.param=value>', 'override a param before checking (repeatable)', collect, [])
    .option('--json', 'print {"ok", "errors"} as JSON')
    .action(async (file: string, opts: { set: string[]; json?: boolean }) => {
      const loaded = await readGraphFile(file, createNodeRegistry(), opts.set);
      const ok = loaded.errors.length === 0;
      if (opts.json) process.stdout.write(JSON.stringify({ ok, errors: loaded.errors, upgraded: loaded.upgraded }, null, 2) + '\n');
      else if (ok) process.stdout.write(`${loaded.path}: ok (${loaded.graph!.nodes.length} nodes, ${loaded.graph!.edges.length} edges)\n`);
      else reportInvalid(loaded.path, loaded.errors, false);
      setExit(ok ? EXIT_OK : EXIT_INVALID);
    });

  program
    .command('nodes')
    .description('list every node type with its ports and params')
    .option('--json', 'print the node definitions as JSON')
    .action((opts: { json?: boolean }) => {
      const descriptions = createNodeRegistry().describe();
      process.stdout.write(opts.json ? JSON.stringify(descriptions, null, 2) + '\n' : descriptions.map(formatNode).join('\n'));
      setExit(EXIT_OK);
    });

  registerModelCommands(program, setExit);
  registerSceneCommand(program, setExit);
  registerDemoCommand(program, setExit);
}

function reportInvalid(path: string, errors: { code: string; message: string }[], json?: boolean): void {
  if (json) process.stdout.write(JSON.stringify({ ok: false, errors }) + '\n');
  else process.stderr.write(`samnerf: ${path} is not a valid graph (${errors.length} problem${errors.length === 1 ? '' : 's'}):\n${formatErrors(errors as never)}\n`);
}

function formatNode(d: NodeDescription): string {
  const lines = [`${d.type} v${d.version}  [${d.category}]`, `  ${d.description}`];
  for (const [name, p] of Object.entries(d.inputs)) lines.push(`  in   ${name}: ${p.type}${p.optional ? ' (optional)' : ''}  ${p.description}`);
  for (const [name, p] of Object.entries(d.outputs)) lines.push(`  out  ${name}: ${p.type}  ${p.description}`);
  for (const [name, p] of Object.entries(d.params)) {
    const limits = 'min' in p || 'max' in p ? ` [${(p as { min?: number }).min ?? ''}..${(p as { max?: number }).max ?? ''}]` : '';
    const options = p.type === 'enum' ? ` {${p.options.join('|')}}` : '';
    lines.push(`  param ${name}: ${p.type}${limits}${options} = ${JSON.stringify(p.default)}  ${p.description}`);
  }
  return lines.join('\n') + '\n';
}
