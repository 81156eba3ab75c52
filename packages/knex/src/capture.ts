import { type CaptureResult, type MigrationSql, serverErrorText } from '@lifeboat/core/adapter';
import type { Knex } from 'knex';

/** The project's knex factory (`require('knex')`), loaded when a capture runs. */
export type CreateKnex = (config: Knex.Config) => Knex;

interface SentQuery {
  sql: string;
  bindings?: readonly unknown[] | undefined;
}

/**
 * `MigrationAdapter.captureSql` for knex: the project's own knex, with the knexfile's
 * migration config, pointed at `databaseUrl` (a schema-only rehearsal database), runs the
 * pending migrations one at a time (`migrate.up({ name })`, in order: the copy's migration
 * table is empty) and records every query each one sends, as executable SQL.
 *
 * Only the migration's own queries are kept: knex's bookkeeping (its lock, the batch
 * number, the row it records) runs before `beforeEach` and after `afterEach`, which mark
 * the migration's span. Each query is taken from its builder's `query` event, where the
 * SQL still has knex's `?` placeholders, and rendered with knex's own `raw(sql,
 * bindings).toString()` (the client-level event has `$1` already, which knex cannot fill in).
 */
export function knexCapture(load: () => Promise<CreateKnex>, config: Knex.Config): (databaseUrl: string, pending: string[]) => Promise<CaptureResult> {
  return async (databaseUrl, pending) => {
    const createKnex = await load();
    // knex logs a failed migration on stdout, which is Lifeboat's --json document: the failure is reported, not logged.
    const quiet = () => {};
    const log = { warn: quiet, error: quiet, debug: quiet, deprecate: quiet };
    const instance = createKnex({ ...config, connection: databaseUrl, pool: { min: 0, max: 2 }, log });
    const migrations: MigrationSql[] = [];
    let current: string[] | undefined;
    let failed: SentQuery | undefined;
    const seen = new WeakSet<object>();
    instance.on('start', (builder: { on(event: 'query', listener: (query: SentQuery) => void): unknown }) => {
      if (seen.has(builder)) return;
      seen.add(builder);
      builder.on('query', (query) => current?.push(render(instance, query)));
    });
    instance.on('query-error', (_error: unknown, query: SentQuery) => {
      failed = query;
    });
    // The knexfile's own hooks run inside the span: they are part of what the deploy sends.
    const own: Knex.MigratorConfigWithLifecycleHooks = config.migrations ?? {};
    try {
      for (const name of pending) {
        const statements: string[] = [];
        failed = undefined;
        try {
          // `up` reads the lifecycle hooks from its merged config, though its type names none.
          const span: Knex.MigratorConfigWithLifecycleHooks = {
            name,
            beforeEach: async (trx, list) => {
              current = statements;
              await own.beforeEach?.(trx, list);
            },
            afterEach: async (trx, list) => {
              await own.afterEach?.(trx, list);
              current = undefined;
            },
          };
          await instance.migrate.up(span);
        } catch (error) {
          migrations.push({ migration: name, sql: script(statements) });
          return { ok: false, migrations, migration: name, error: serverMessage(error, failed) };
        } finally {
          current = undefined;
        }
        migrations.push({ migration: name, sql: script(statements) });
      }
      return { ok: true, migrations };
    } finally {
      await instance.destroy();
    }
  };
}

/** A query as the SQL knex sent, its bindings as literals (knex's own rendering); as sent when knex cannot render it. */
function render(knex: Knex, query: SentQuery): string {
  if (!query.bindings || query.bindings.length === 0) return query.sql;
  try {
    return knex.raw(query.sql, query.bindings as Knex.RawBinding[]).toString();
  } catch {
    return query.sql;
  }
}

/** One script: each statement ends on a line of its own, so a trailing `-- comment` cannot swallow the separator. */
function script(statements: string[]): string {
  return statements.map((sql) => `${sql}\n;\n`).join('');
}

/**
 * The server's words: knex prefixes the error's message with the failed query ("<sql> -
 * relation … does not exist"); that prefix is taken off, and DETAIL and HINT added.
 */
function serverMessage(error: unknown, failed: SentQuery | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  if (failed) {
    const prefix = `${failed.sql} - `;
    if (message.startsWith(prefix)) return serverErrorText(error, message.slice(prefix.length));
    // With its bindings filled in (compileSqlOnError), the prefix is longer: the server's text follows the last " - ".
    const at = message.lastIndexOf(' - ');
    if ((error as { code?: unknown }).code !== undefined && at >= 0) return serverErrorText(error, message.slice(at + 3));
  }
  return serverErrorText(error, message);
}
