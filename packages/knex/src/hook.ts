import { applySession, connectionDatabase, type HookOptions, hookDeploy, type SessionConnection, type SessionSettings } from '@lifeboat/core/adapter';
import type { Knex } from 'knex';
import { knexMigrations, type ListMigrations } from './adapter.js';
import { type CreateKnex, knexCapture } from './capture.js';
import { connectionUrl } from './connection.js';

export interface GuardedKnexOptions extends Omit<HookOptions, 'signal'> {
  /** The database to protect; it must be the one the Knex instance connects to (which it is by default). */
  databaseUrl?: string;
}

type Migrate = (config?: Knex.MigratorConfig) => Promise<unknown>;

/**
 * `await guarded(knex).migrate.latest()` in place of `await knex.migrate.latest()`: the
 * same options and result as knex's, run as a guarded deploy. It throws like knex does
 * when the migration fails, after the database was rolled back (the error's `report`
 * says what happened). The instance's pool is closed for the rollback and reopened.
 */
export function guarded(knex: Knex, options: GuardedKnexOptions = {}): { migrate: { latest: Migrate; up: Migrate } } {
  const migrate =
    (method: 'latest' | 'up'): Migrate =>
    async (config) => {
      let result: unknown;
      const own = connectionUrl((knex.client as { connectionSettings?: unknown }).connectionSettings ?? (knex.client.config as Knex.Config).connection, 'the Knex instance');
      // knex.migrate runs on the instance's connection, whatever URL is given: another database is refused.
      const database = connectionDatabase(
        options.databaseUrl,
        { tool: 'knex', url: own, source: "the Knex instance's connection" },
        'guarded()',
        "Drop databaseUrl (the instance's own connection is used), or give guarded() a Knex instance for that database.",
      );
      const migrations = { ...(knex.client.config as Knex.Config).migrations, ...config };
      const list: ListMigrations = () => knex.migrate.list(config);
      // A capture runs the migrations in a schema-only copy with a knex of its own, made by the same factory as the app's (the knex package beside this adapter).
      const load = async () => ((await import('knex')) as unknown as { default: CreateKnex }).default;
      const captureSql = knexCapture(load, { ...(knex.client.config as Knex.Config), migrations });
      await hookDeploy(options, {
        adapter: { ...knexMigrations(list, migrations), captureSql },
        run: {
          describe: `knex.migrate.${method}()`,
          sessionReach: "set with SET on each connection the migration takes from the Knex instance's pool, and put back when it returns there",
          async run({ session }) {
            const restore = session ? withSession(knex, session) : () => {};
            try {
              result = await knex.migrate[method](config);
            } finally {
              restore();
            }
            return { exitCode: 0 };
          },
          beforeRestore: () => knex.destroy(),
          afterRestore: async () => {
            knex.initialize();
          },
        },
        database,
      });
      return result;
    };
  return { migrate: { latest: migrate('latest'), up: migrate('up') } };
}

/**
 * For the time of the migration, every connection knex takes from its pool gets the deploy's
 * session settings (lock_timeout, statement_timeout, the tag), and its own back when knex
 * returns it: the app's queries on the pool meanwhile run under them too (they share it).
 * Answers what undoes the wrapping.
 */
function withSession(knex: Knex, session: SessionSettings): () => void {
  const client = knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(connection: unknown): Promise<void> };
  const acquire = client.acquireConnection;
  const release = client.releaseConnection;
  const restores = new Map<unknown, () => Promise<void>>();
  client.acquireConnection = async function (this: unknown) {
    const connection = await acquire.call(this);
    restores.set(connection, await applySession(connection as SessionConnection, session));
    return connection;
  };
  client.releaseConnection = async function (this: unknown, connection: unknown) {
    const restore = restores.get(connection);
    restores.delete(connection);
    await restore?.().catch(() => {});
    return release.call(this, connection);
  };
  return () => {
    client.acquireConnection = acquire;
    client.releaseConnection = release;
  };
}
