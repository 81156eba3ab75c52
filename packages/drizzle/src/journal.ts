import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LifeboatError } from '@lifeboat/core';

/** One entry of `<out>/meta/_journal.json`, as drizzle-kit generate writes it. */
export interface JournalEntry {
  idx: number;
  /** Milliseconds; drizzle records it as the migration's `created_at`. */
  when: number;
  /** The migration file is `<out>/<tag>.sql`. */
  tag: string;
}

/** The journal's entries, in the order drizzle-orm's migrator walks them (the file's). */
export function readJournal(folder: string): JournalEntry[] {
  const file = join(folder, 'meta', '_journal.json');
  if (!existsSync(file)) {
    throw new LifeboatError('CONFIG_INVALID', `No migrations journal at ${file}.`, {
      hint: 'Check `out` in the drizzle config (or migrationsFolder), and generate migrations with `drizzle-kit generate`.',
    });
  }
  try {
    const journal = JSON.parse(readFileSync(file, 'utf8')) as { entries?: JournalEntry[] };
    return journal.entries ?? [];
  } catch (error) {
    throw new LifeboatError('CONFIG_INVALID', `${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** What drizzle-orm records as the migration's `hash`: sha256 of the .sql file's text. undefined: no file. */
export function migrationHash(folder: string, tag: string): string | undefined {
  const file = join(folder, `${tag}.sql`);
  if (!existsSync(file)) return undefined;
  return createHash('sha256').update(readFileSync(file).toString()).digest('hex');
}
