// The `samnerf` command line: run, validate and inspect graphs headless.

import { Command, CommanderError } from 'commander';
import { CliError, EXIT_INVALID, EXIT_OK } from './exit-codes';
import { registerCommands } from './commands';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('samnerf')
    .description('Segment anything in 3D scenes: run samnerf graphs (SAM, ClipSeg, NeRF) from the command line')
    .version(await packageVersion(), '-V, --version')
    .showHelpAfterError('(run samnerf --help for usage)')
    .exitOverride();
  let exitCode = EXIT_OK;
  registerCommands(program, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; every other parse problem is a usage error.
      return e.exitCode === 0 ? EXIT_OK : EXIT_INVALID;
    }
    if (e instanceof CliError) {
      process.stderr.write(`samnerf: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`samnerf: unexpected error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
