// Where the read-only shared data lives (../shared from the repository
// root), and a skip reason for tests that need it.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const SHARED = resolve(REPO_ROOT, '..', 'shared');
export const HAS_SHARED = existsSync(join(SHARED, 'data'));
export const SHARED_MISSING = `needs the shared data at ${SHARED} (absent here; CI always has it)`;

export function sharedPath(...parts: string[]): string {
  return join(SHARED, ...parts);
}

/** A test title that says why it was skipped when the shared data is absent. */
export function needsShared(title: string): string {
  return HAS_SHARED ? title : `${title} [skipped: ${SHARED_MISSING}]`;
}
