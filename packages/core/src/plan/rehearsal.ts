import type pg from 'pg';
import { connect } from '../db/connect.js';
import { serverErrorText } from '../db/server-error.js';
import type { DatabaseTarget } from '../db/target.js';
import type { MigrationAdapter, MigrationSql } from '../guard/adapter.js';
import type { Store } from '../store/location.js';
import { type ScratchTimings, withSchemaScratch } from './scratch.js';

export interface SchemaRehearsalOptions {
  /** The live database: only read (its schema, by pg_dump); the migrations run in a scratch copy beside it. */
  target: DatabaseTarget;
  adapter: MigrationAdapter | undefined;
  /** What the tool will run, oldest first. */
  pending: string[];
  /** The pending migrations' SQL when the caller has read it already (`adapter.pendingSql`). */
  migrations?: MigrationSql[] | undefined;
  /** For the intent record naming the scratch database (a `kill -9` leaves it to `lifeboat recover`). */
  store?: Store | undefined;
  signal?: AbortSignal | undefined;
  onNotice?: ((message: string) => void) | undefined;
  /** How long pg_dump waits for a table lock another session holds before the rehearsal is skipped. */
  lockWaitMs?: number | undefined;
}

export type SchemaRehearsal =
  | {
      ran: true;
      ok: true;
      ms: number;
      /** What the tool sent, per migration (Knex): the plan analyses it (source 'captured'). */
      captured?: MigrationSql[];
      scratch: ScratchTimings;
    }
  | {
      ran: true;
      ok: false;
      /** The migration that failed, when known. */
      migration?: string;
      /** The failure in the server's words (message, DETAIL, HINT). */
      error: string;
      ms: number;
      /** What was sent up to and including the failing statement. */
      captured?: MigrationSql[];
      scratch: ScratchTimings;
    }
  | { ran: false; why: string };

/**
 * The schema-only rehearsal: the pending migrations run in a scratch database that holds
 * the live schema and no rows, before anything is snapshotted or changed. It catches what
 * fails whatever the data (a misspelt table, a column added twice, migrations in the wrong
 * order) with the server's own error text, and for a tool whose SQL is code (Knex) it is
 * how that SQL is known: the adapter runs the migrations there with the real tool and
 * records what they send. Migrations kept as SQL files run as the tool runs them (each
 * file as one script, or all of them in one transaction: `adapter.runs`).
 *
 * It costs the same at any data size (see scratch.ts) and is skipped, with the reason,
 * where it cannot run: nothing pending, no way to know the SQL (`lifeboat run`), no
 * CREATEDB, no maintenance database.
 */
export async function rehearseSchemaOnly(options: SchemaRehearsalOptions): Promise<SchemaRehearsal> {
  const { adapter, pending } = options;
  if (pending.length === 0) return { ran: false, why: 'no migration is pending' };
  const started = performance.now();
  const capture = adapter?.captureSql?.bind(adapter);
  let files = options.migrations;
  if (!capture && !files && adapter?.pendingSql) files = await adapter.pendingSql(pending);
  if (!capture && !files) return { ran: false, why: `the SQL of ${adapter ? `${adapter.name}'s` : "this command's"} migrations cannot be known before they run` };

  const scratchOptions = { target: options.target, store: options.store, signal: options.signal, onNotice: options.onNotice, lockWaitMs: options.lockWaitMs };
  const run = await withSchemaScratch(scratchOptions, async (scratch) => {
    if (capture) {
      try {
        return await capture(scratch.target.url, pending);
      } catch (error) {
        // The tool could not be started (its module, its config): the deploy will say so itself.
        return { skipped: `the migrations could not be run to capture their SQL: ${error instanceof Error ? error.message : String(error)}` } as const;
      }
    }
    return runFiles(scratch.target, files!, adapter?.runs === 'wrapped' ? 'one-transaction' : 'script-per-migration');
  });
  if (!run.ran) return { ran: false, why: run.why };
  const ms = Math.round(performance.now() - started);
  const result = run.value;
  if ('skipped' in result) return { ran: false, why: result.skipped };
  const captured = capture ? { captured: result.migrations } : {};
  if (result.ok) return { ran: true, ok: true, ms, ...captured, scratch: run.timings };
  return { ran: true, ok: false, ...(result.migration !== undefined ? { migration: result.migration } : {}), error: result.error, ms, ...captured, scratch: run.timings };
}

type FilesRun = { ok: true; migrations: MigrationSql[] } | { ok: false; migrations: MigrationSql[]; migration: string; error: string };

/**
 * SQL files run as their tool runs them: each migration's script as one multi-statement
 * query (Prisma), or all of them inside one transaction (Drizzle's migrator, which sends
 * the statements of every pending migration in one BEGIN … COMMIT).
 */
async function runFiles(target: DatabaseTarget, migrations: MigrationSql[], how: 'script-per-migration' | 'one-transaction'): Promise<FilesRun> {
  const client: pg.Client = await connect(target);
  try {
    if (how === 'one-transaction') await client.query('begin');
    for (const migration of migrations) {
      try {
        await client.query(migration.sql);
      } catch (error) {
        return { ok: false, migrations, migration: migration.migration, error: serverErrorText(error) };
      }
    }
    if (how === 'one-transaction') await client.query('commit');
    return { ok: true, migrations };
  } finally {
    await client.end().catch(() => {});
  }
}
