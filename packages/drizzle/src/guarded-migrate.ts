import { resolve } from 'node:path';
import { type DeployReport, LifeboatError } from '@lifeboat/core';
import { applySession, connectionDatabase, setSession, type HookOptions, hookDeploy, type SessionConnection, type SessionSettings } from '@lifeboat/core/adapter';
import type { MigrationConfig } from 'drizzle-orm/migrator';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { drizzleMigrations } from './adapter.js';
import { appClient } from './client.js';

/** A drizzle db over node-postgres (`drizzle(pool)`, `drizzle(client)`) or postgres.js (`drizzle(sql)`), whatever its schema. */
// biome-ignore lint/suspicious/noExplicitAny: any driver's db (node-postgres, postgres.js), whatever its query result and schema types
export type GuardableDatabase = PgDatabase<any, any, any> & { $client: unknown };

export interface GuardedMigrateOptions extends HookOptions {
  /** The database; default: the one `db` connects to (and it must be that one). */
  databaseUrl?: string;
}

/**
 * `await guardedMigrate(db, { migrationsFolder: './drizzle' })` in place of drizzle-orm's
 * `await migrate(db, …)`: the same migration, as a guarded deploy. Resolves with the
 * report when it was applied (or nothing was pending); rejects with a LifeboatError
 * carrying `report` when it failed, after the database was rolled back (unless
 * configured not to). `db` keeps working after a rollback: its pool's connections to
 * the replaced database are closed and the pool opens new ones.
 */
export async function guardedMigrate(db: GuardableDatabase, config: MigrationConfig, options: GuardedMigrateOptions = {}): Promise<DeployReport> {
  const notice = options.onNotice ?? ((message: string) => process.stderr.write(`lifeboat: ${message}\n`));
  const app = appClient(db.$client, notice);
  // migrate() runs on the db's own connection, whatever URL is given: another database is refused.
  const database = connectionDatabase(
    options.databaseUrl,
    { tool: 'drizzle-orm migrate()', url: app.url, source: "the drizzle db's connection" },
    'guardedMigrate()',
    'Drop databaseUrl, or give drizzle a client for that database.',
  );
  if (!options.databaseUrl && app.passwordHidden) {
    throw new LifeboatError('URL_INVALID', "The drizzle db's password is a function, so Lifeboat cannot connect as it does.", { hint: 'Pass databaseUrl.' });
  }
  const { migrate } = app.driver === 'postgres-js' ? await import('drizzle-orm/postgres-js/migrator') : await import('drizzle-orm/node-postgres/migrator');
  await app.release();
  return hookDeploy(
    { ...options, onNotice: notice },
    {
      // drizzle-orm reads migrationsFolder relative to the working folder.
      adapter: drizzleMigrations({ folder: resolve(config.migrationsFolder), table: config.migrationsTable, schema: config.migrationsSchema }),
      run: {
        describe: 'drizzle-orm migrate()',
        sessionReach:
          app.driver === 'postgres-js'
            ? 'NOT set on a postgres.js connection (its connections are open already and it reads no PGOPTIONS): migrations run without a lock timeout'
            : 'set on the pg connections the migration opens (the pool is emptied first) and taken out of the pool after',
        async run({ session }) {
          const done = session && app.driver === 'node-postgres' ? await withSession(db.$client, session) : async () => {};
          try {
            await migrate(db as never, config);
            return { exitCode: 0 };
          } catch (error) {
            return { exitCode: 1, error: failure(error) };
          } finally {
            await done().catch(() => {});
            await app.release().catch(() => {});
          }
        },
        beforeRestore: app.beforeRestore,
        afterRestore: app.afterRestore,
      },
      database,
    },
  );
}

/** drizzle's DrizzleQueryError says only "Failed query: …"; the database's reason is its cause. */
function failure(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error))
    .replace(/\s+/g, ' ')
    .replace(/ params: $/, '')
    .trim();
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  return cause ? `${cause} (${message})` : message;
}

interface PgPoolLike {
  on(event: 'connect', listener: (client: SessionConnection) => void): unknown;
  removeListener(event: 'connect', listener: (client: SessionConnection) => void): unknown;
  idleCount: number;
}

/**
 * The deploy's session settings on node-postgres: a Pool (emptied of idle connections before
 * the run, see appClient) sets them on every connection it opens while the migration runs (the
 * SET is queued before the migration's first query on it), and `app.release()` closes those
 * after; a single Client gets them now and its own values back after.
 */
async function withSession(client: unknown, session: SessionSettings): Promise<() => Promise<void>> {
  if (typeof client === 'object' && client !== null && 'idleCount' in client) {
    const pool = client as PgPoolLike;
    const onConnect = (connection: SessionConnection) => void setSession(connection, session).catch(() => {});
    pool.on('connect', onConnect);
    return async () => {
      pool.removeListener('connect', onConnect);
    };
  }
  return applySession(client as SessionConnection, session);
}
