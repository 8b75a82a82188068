// The command's exit codes, one meaning each, so scripts can branch on them.
export const EXIT_OK = 0;
/** A node failed while running (or the run was cancelled). */
export const EXIT_RUN_FAILED = 1;
/** The graph or the command line is invalid; nothing was run. */
export const EXIT_INVALID = 2;

/** An error that ends the command with a given exit code and a message for the user. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_INVALID) {
    super(message);
    this.name = 'CliError';
  }
}
