import { assertDeployed, assertSameDatabase, type DeployWithOptions, deployWith } from '@lifeboat/core';
import type { Knex } from 'knex';
import { knexMigrations, type ListMigrations } from './adapter.js';
import { connectionUrl } from './connection.js';

export interface GuardedKnexOptions {
  /** The database to protect; it must be the one the Knex instance connects to (which it is by default). */
  databaseUrl?: string;
  /** Where lifeboat.config.* and the store are. Default: process.cwd(). */
  cwd?: string;
  lifeboatConfig?: string;
  overrides?: DeployWithOptions['overrides'];
  onNotice?: (message: string) => void;
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
      const instance = { tool: 'knex', url: own, source: "the Knex instance's connection" };
      // knex.migrate runs on the instance's connection, whatever URL is given: another database is refused.
      if (options.databaseUrl !== undefined) {
        assertSameDatabase(
          { url: options.databaseUrl, origin: 'flag', source: 'the databaseUrl given to guarded()' },
          instance,
          "Drop databaseUrl (the instance's own connection is used), or give guarded() a Knex instance for that database.",
        );
      }
      const migrations = { ...(knex.client.config as Knex.Config).migrations, ...config };
      const list: ListMigrations = () => knex.migrate.list(config);
      const report = await deployWith({
        adapter: knexMigrations(list, migrations),
        run: {
          describe: `knex.migrate.${method}()`,
          async run() {
            result = await knex.migrate[method](config);
            return { exitCode: 0 };
          },
          beforeRestore: () => knex.destroy(),
          afterRestore: async () => {
            knex.initialize();
          },
        },
        databaseUrl: options.databaseUrl ?? own,
        databaseSource: instance.source,
        ...(options.cwd ? { cwd: options.cwd } : {}),
        ...(options.lifeboatConfig ? { configFile: options.lifeboatConfig } : {}),
        ...(options.overrides ? { overrides: options.overrides } : {}),
        ...(options.onNotice ? { onNotice: options.onNotice } : {}),
      });
      assertDeployed(report);
      return result;
    };
  return { migrate: { latest: migrate('latest'), up: migrate('up') } };
}
