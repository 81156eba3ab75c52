import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { judged, type MigrationAdapter, qualifiedName, tableExists } from '@lifeboat/core/adapter';
import type pg from 'pg';
import { migrationFolders } from './project.js';

/** `_prisma_migrations` against the migrations folder. */
export function prismaMigrations(migrationsDir: string, schema = 'public'): MigrationAdapter {
  const table = qualifiedName(schema, '_prisma_migrations');
  const exists = (client: pg.Client) => tableExists(client, table);

  const applied = async (client: pg.Client): Promise<string[]> => {
    if (!(await exists(client))) return [];
    const { rows } = await client.query<{ name: string }>(
      `select migration_name as name from ${table}
        where finished_at is not null and rolled_back_at is null
        group by migration_name order by min(finished_at), migration_name`,
    );
    return rows.map((r) => r.name);
  };

  return {
    // How the tool sends the SQL: the plan's transaction rules and the schema-only rehearsal follow it.
    runs: 'script',
    name: 'prisma',
    bookkeeping: [`${schema}._prisma_migrations`],
    async status(client) {
      const done = await applied(client);
      const recorded = new Set(done);
      return { pending: migrationFolders(migrationsDir).filter((m) => !recorded.has(m)), applied: done };
    },
    async appliedTimes(client) {
      if (!(await exists(client))) return [];
      const { rows } = await client.query<{ name: string; started: Date; finished: Date }>(
        `select migration_name as name, started_at as started, finished_at as finished from ${table}
          where finished_at is not null and rolled_back_at is null order by finished_at, migration_name`,
      );
      return rows.map((r) => ({ migration: r.name, startedAt: r.started, finishedAt: r.finished }));
    },
    async checkBookkeeping(client) {
      const folders = migrationFolders(migrationsDir);
      const done = new Set(await applied(client));
      const problems: string[] = [];
      if (await exists(client)) {
        // A row Prisma started and never finished, and nobody marked rolled back: P3009 on the next deploy.
        const { rows } = await client.query<{ name: string }>(`select migration_name as name from ${table} where finished_at is null and rolled_back_at is null order by started_at`);
        for (const row of rows) problems.push(`${row.name} is recorded as started and not finished (failed)`);
      }
      for (const folder of folders) if (!done.has(folder)) problems.push(`${folder} is not applied`);
      return judged('migrations', `${done.size} applied of ${folders.length} migration folder(s) in ${table}`, problems);
    },
    async pendingSql(pending) {
      return Promise.all(
        pending.map(async (migration) => {
          const file = join(migrationsDir, migration, 'migration.sql');
          return { migration, sql: await readFile(file, 'utf8'), file };
        }),
      );
    },
  };
}
