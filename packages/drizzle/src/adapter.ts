import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { judged, type MigrationAdapter, qualifiedName, tableExists } from '@lifeboat/core/adapter';
import type pg from 'pg';
import { type JournalEntry, migrationHash, readJournal } from './journal.js';

export interface DrizzleMigrationsOptions {
  /** The folder holding meta/_journal.json and the .sql files (`out`, `migrationsFolder`). */
  folder: string;
  /** Default: __drizzle_migrations. */
  table?: string | undefined;
  /** Default: drizzle. */
  schema?: string | undefined;
}

interface Recorded {
  hash: string;
  created_at: string | null;
}

/**
 * drizzle's migrations table against the journal, by drizzle-orm's own rule
 * (pg-core/dialect.js `migrate`): it reads the row with the highest `created_at`
 * and runs every journal entry whose `when` is greater; it records each as
 * (`hash` = sha256 of the .sql file, `created_at` = the entry's `when`).
 */
export function drizzleMigrations(options: DrizzleMigrationsOptions): MigrationAdapter {
  const table = qualifiedName(options.schema ?? 'drizzle', options.table ?? '__drizzle_migrations');

  const rows = async (client: pg.Client, order: string): Promise<Recorded[] | undefined> => {
    return (await tableExists(client, table)) ? (await client.query<Recorded>(`select hash, created_at::text as created_at from ${table} ${order}`)).rows : undefined;
  };
  const recorded = (client: pg.Client) => rows(client, 'order by id');
  // drizzle: `select id, hash, created_at … order by created_at desc limit 1` (in desc order nulls come first).
  const last = async (client: pg.Client) => (await rows(client, 'order by created_at desc limit 1'))?.[0];
  // drizzle: `if (!lastDbMigration || Number(lastDbMigration.created_at) < migration.folderMillis)`.
  const willRun = (entry: JournalEntry, newest: Recorded | undefined) => !newest || Number(newest.created_at) < entry.when;
  const appliedEntries = (journal: JournalEntry[], rows: Recorded[] | undefined) => {
    const when = new Set((rows ?? []).map((r) => Number(r.created_at)));
    return journal.filter((entry) => when.has(entry.when));
  };

  return {
    // How the tool sends the SQL: the plan's transaction rules and the schema-only rehearsal follow it.
    runs: 'wrapped',
    name: 'drizzle',
    bookkeeping: [`${options.schema ?? 'drizzle'}.${options.table ?? '__drizzle_migrations'}`],
    async status(client) {
      const journal = readJournal(options.folder);
      const newest = await last(client);
      return {
        pending: journal.filter((entry) => willRun(entry, newest)).map((e) => e.tag),
        applied: appliedEntries(journal, await recorded(client)).map((e) => e.tag),
      };
    },
    async checkBookkeeping(client) {
      const journal = readJournal(options.folder);
      const done = await recorded(client);
      const newest = await last(client);
      const byWhen = new Map((done ?? []).map((r) => [Number(r.created_at), r]));
      const problems: string[] = [];
      for (const entry of journal) {
        const row = byWhen.get(entry.when);
        const hash = migrationHash(options.folder, entry.tag);
        if (!row) {
          const skipped = !willRun(entry, newest) ? ` (its "when" ${entry.when} is not after the newest recorded created_at ${newest?.created_at}, so drizzle will never run it)` : '';
          problems.push(`${entry.tag} is not applied${skipped}`);
        } else if (hash === undefined) {
          problems.push(`${entry.tag}.sql is missing from ${options.folder}`);
        } else if (row.hash !== hash) {
          problems.push(`${entry.tag} was changed after it was applied: its sha256 differs from the hash recorded in ${table}`);
        }
      }
      const applied = appliedEntries(journal, done).length;
      return judged('migrations', `${applied} applied of ${journal.length} journal entr${journal.length === 1 ? 'y' : 'ies'} in ${table}`, problems);
    },
    // The file as drizzle reads it: its `--> statement-breakpoint` separators are SQL comments to the parser.
    async pendingSql(pending) {
      return Promise.all(
        pending.map(async (tag) => {
          const file = join(options.folder, `${tag}.sql`);
          return { migration: tag, sql: await readFile(file, 'utf8'), file };
        }),
      );
    },
  };
}
