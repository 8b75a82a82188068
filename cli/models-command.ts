// `samnerf models list|pull` and `samnerf tokenize`: what is installed, a
// download with a progress bar and hash check, and the CLIP token ids of a
// prompt (for debugging language prompts).

import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ClipTokenizer } from '../nodes/clipseg/tokenizer';
import { getModelSpec } from '../runtime-gpu/models/registry';
import { listModels, ModelFileError, pullModel, resolveModel } from '../runtime-gpu/models/node-store';
import { CliError, EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED } from './exit-codes';

function megabytes(bytes: number | null): string {
  return bytes === null ? '?' : `${(bytes / 1e6).toFixed(1)} MB`;
}

export function registerModelCommands(program: Command, setExit: (code: number) => void): void {
  const models = program.command('models').description('list and download the models samnerf uses');
  models
    .command('list')
    .description('every registered model, whether it is installed, and where')
    .option('--cache <dir>', 'model cache folder (default $SAMNERF_CACHE or ~/.cache/samnerf)')
    .option('--json', 'print as JSON')
    .action(async (opts: { cache?: string; json?: boolean }) => {
      const listing = await listModels({ cacheDir: opts.cache });
      if (opts.json) process.stdout.write(JSON.stringify(listing, null, 2) + '\n');
      else
        for (const m of listing)
          process.stdout.write(`${m.installed ? 'installed' : 'missing  '}  ${m.id.padEnd(32)} ${m.task.padEnd(12)} ${megabytes(m.sizeBytes).padStart(9)}  ${m.where}\n`);
      setExit(EXIT_OK);
    });
  models
    .command('pull')
    .description('download a registered model into the cache, checking its hash')
    .argument('<id>', 'model id (see samnerf models list)')
    .option('--cache <dir>', 'model cache folder')
    .option('--force', 'download again even when an intact copy is installed')
    .action(async (id: string, opts: { cache?: string; force?: boolean }) => {
      try {
        getModelSpec(id);
      } catch (e) {
        throw new CliError((e as Error).message, EXIT_INVALID);
      }
      const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {file} {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
      let current = '';
      let lastLine = 0;
      try {
        const model = await pullModel(id, {
          cacheDir: opts.cache,
          force: opts.force,
          onProgress(received, total, file) {
            if (file.name !== current) {
              current = file.name;
              bar?.stop();
              bar?.start(total ?? 0, 0, { file: file.name });
              if (!bar) process.stderr.write(`downloading ${file.name}${total ? ` (${megabytes(total)})` : ''}\n`);
            }
            bar?.update(received, { file: file.name });
            if (!bar && Date.now() - lastLine > 2000) {
              lastLine = Date.now();
              process.stderr.write(`  ${file.name}: ${megabytes(received)}${total ? ` of ${megabytes(total)}` : ''}\n`);
            }
          },
        });
        bar?.stop();
        process.stdout.write(`${id}: installed in ${model.files.model ? model.files.model.replace(/[^/\\]+$/, '') : '?'} (${model.origin})\n`);
        setExit(EXIT_OK);
      } catch (e) {
        bar?.stop();
        if (e instanceof ModelFileError) {
          process.stderr.write(`samnerf: ${e.message}\n`);
          return setExit(EXIT_RUN_FAILED);
        }
        throw e;
      }
    });

  program
    .command('tokenize')
    .description('print the CLIP token ids of a text as a JSON array (start and end tokens included)')
    .argument('<text>', 'the text prompt')
    .option('--vocab <file>', "CLIP's bpe_simple_vocab_16e6.txt.gz or a tokenizer.json (default: the installed ClipSeg model's tokenizer.json)")
    .option('--model <id>', 'registered ClipSeg model whose tokenizer to use', 'clipseg-rd64-refined')
    .action(async (text: string, opts: { vocab?: string; model: string }) => {
      let bytes: Buffer;
      if (opts.vocab) {
        try {
          bytes = await readFile(opts.vocab);
        } catch (e) {
          throw new CliError(`cannot read --vocab ${opts.vocab}: ${(e as Error).message}`);
        }
      } else {
        try {
          const model = await resolveModel(opts.model);
          bytes = await readFile(model.files.tokenizer!);
        } catch (e) {
          throw new CliError(`no tokenizer: ${(e as Error).message}\n  or pass --vocab <bpe_simple_vocab_16e6.txt.gz | tokenizer.json>`);
        }
      }
      const tokenizer = bytes[0] === 0x7b ? ClipTokenizer.fromTokenizerJson(JSON.parse(bytes.toString('utf8'))) : ClipTokenizer.fromBpeMerges(new Uint8Array(bytes));
      process.stdout.write(JSON.stringify(tokenizer.encode(text)) + '\n');
      setExit(EXIT_OK);
    });
}
