import { judged, type MigrationAdapter, qualifiedName, tableExists } from '@lifeboat/core/adapter';
import type { Knex } from 'knex';
import type pg from 'pg';

/** knex's own view of the migrations: [completed, pending], as `knex.migrate.list()` returns it (read on `client` where the lister can). */
export type ListMigrations = (client?: pg.Client) => Promise<[Array<{ name: string } | string>, Array<{ file: string } | string>]>;

const nameOf = (m: { name: string } | { file: string } | string) => (typeof m === 'string' ? m : 'name' in m ? m.name : m.file);

/** Pending and applied from knex itself; its lock table and every file recorded as bookkeeping checks. */
export function knexMigrations(list: ListMigrations, migrations: Knex.MigratorConfig = {}): MigrationAdapter {
  const tableName = migrations.tableName ?? 'knex_migrations';
  const schema = migrations.schemaName ?? 'public';
  const lockTable = qualifiedName(schema, `${tableName}_lock`);
  return {
    name: 'knex',
    bookkeeping: [`${schema}.${tableName}`, `${schema}.${tableName}_lock`],
    // knex runs the pending migrations in one transaction, unless the config (or a migration) turns it off.
    runs: migrations.disableTransactions ? 'autocommit' : 'wrapped',
    async status(client: pg.Client) {
      const [completed, pending] = await list(client);
      return { pending: pending.map(nameOf), applied: completed.map(nameOf) };
    },
    async appliedTimes(client: pg.Client) {
      const table = qualifiedName(schema, tableName);
      if (!(await tableExists(client, table))) return [];
      // migration_time is the moment knex recorded the migration, right after it ran.
      const { rows } = await client.query<{ name: string; at: Date }>(`select name, migration_time as at from ${table} order by id`);
      return rows.map((r) => ({ migration: r.name, finishedAt: r.at }));
    },
    async checkBookkeeping(client: pg.Client) {
      const [completed, pending] = await list(client);
      const problems = pending.map((m) => `${nameOf(m)} is not applied`);
      if (await tableExists(client, lockTable)) {
        const { rows } = await client.query<{ locked: number }>(`select is_locked as locked from ${lockTable}`);
        if (rows.some((r) => Number(r.locked) !== 0)) problems.push(`${schema}.${tableName}_lock is left locked (is_locked = 1)`);
      }
      return judged('migrations', `${completed.length} applied, ${pending.length} pending in ${schema}.${tableName}`, problems);
    },
  };
}
