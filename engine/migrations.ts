// Versioned migrations, modelled on tldraw's store: a sequence has an id and
// an ordered list of steps; step "<sequence>/<n>" upgrades a value from
// version n-1 to version n. Version 1 is the first published shape, so a
// sequence with k steps has current version k+1.

export interface Migration<T> {
  id: string;
  /** Why the shape changed, for the changelog and error messages. */
  description?: string;
  up(value: T): T;
}

export interface MigrationSequence<T> {
  sequenceId: string;
  migrations: ReadonlyArray<Migration<T>>;
}

export function createMigrationSequence<T>(sequenceId: string, migrations: ReadonlyArray<Migration<T>>): MigrationSequence<T> {
  migrations.forEach((m, i) => {
    const expected = `${sequenceId}/${i + 2}`;
    if (m.id !== expected) throw new Error(`migration ${i} of ${sequenceId} is "${m.id}", expected "${expected}" (steps must be contiguous from /2)`);
  });
  return { sequenceId, migrations };
}

export function currentVersion(sequence: MigrationSequence<unknown>): number {
  return sequence.migrations.length + 1;
}

export type MigrationResult<T> =
  | { ok: true; value: T; from: number; to: number }
  | { ok: false; reason: 'too_new' | 'invalid_version' | 'migration_failed'; message: string };

export function migrate<T>(sequence: MigrationSequence<T>, value: T, fromVersion: number): MigrationResult<T> {
  const to = currentVersion(sequence as MigrationSequence<unknown>);
  if (!Number.isInteger(fromVersion) || fromVersion < 1)
    return { ok: false, reason: 'invalid_version', message: `version ${JSON.stringify(fromVersion)} is not a positive integer` };
  if (fromVersion > to)
    return { ok: false, reason: 'too_new', message: `version ${fromVersion} is newer than this samnerf understands (${to}); upgrade samnerf` };
  let current = value;
  for (let v = fromVersion + 1; v <= to; v++) {
    const step = sequence.migrations[v - 2]!;
    try {
      current = step.up(current);
    } catch (e) {
      return { ok: false, reason: 'migration_failed', message: `migration ${step.id} failed: ${(e as Error).message}` };
    }
  }
  return { ok: true, value: current, from: fromVersion, to };
}
