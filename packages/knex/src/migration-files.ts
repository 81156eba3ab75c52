import { readdir } from 'node:fs/promises';
import { extname } from 'node:path';
import { ident, qualifiedName } from '@lifeboat/core/adapter';
import type { Knex } from 'knex';
import type pg from 'pg';

/** knex 3's `DEFAULT_LOAD_EXTENSIONS` (lib/migrations/common/MigrationsLoader.js). */
const DEFAULT_LOAD_EXTENSIONS = ['.co', '.coffee', '.eg', '.iced', '.js', '.cjs', '.litcoffee', '.ls', '.ts'];

/**
 * What `knex.migrate.list()` answers for a config with a migrations directory (the CLI's
 * case: knex then ignores any `migrationSource`), read without loading knex: its
 * FsMigrations listing (each directory read, sorted by file name across directories or
 * within each with `sortDirsSeparately`, filtered by `loadExtensions`) against the names
 * in its migration table, on the given connection, in one query. knex would create the
 * table when it is missing; this reads it as empty (the tool's run creates it). Loading knex in-process and opening a
 * pool for this cost more than the rest of a no-op deploy.
 */
export async function listFromFiles(migrations: Knex.MigratorConfig & { directory: string[] }, client: pg.Client): Promise<[Array<{ name: string }>, Array<{ file: string }>]> {
  const extensions = migrations.loadExtensions ?? DEFAULT_LOAD_EXTENSIONS;
  const byDirectory = await Promise.all(migrations.directory.map(async (dir) => (await readdir(dir)).map((file) => ({ file, dir }))));
  const all = (migrations.sortDirsSeparately ? byDirectory.flatMap((files) => [...files].sort(byFile)) : byDirectory.flat().sort(byFile)).filter((m) => extensions.includes(extname(m.file)));
  // Named as knex names it: unqualified (the search_path's) unless schemaName is set.
  const tableName = migrations.tableName ?? 'knex_migrations';
  const table = migrations.schemaName ? qualifiedName(migrations.schemaName, tableName) : ident(tableName);
  const completed = await client.query<{ name: string }>(`select name from ${table} order by id`).then(
    (result) => result.rows,
    (error: { code?: string }) => {
      // undefined_table: nothing was ever migrated here.
      if (error.code === '42P01') return [];
      throw error;
    },
  );
  const files = new Set(all.map((m) => m.file));
  if (!migrations.disableMigrationsListValidation) {
    const missing = completed.filter((c) => !files.has(c.name)).map((c) => c.name);
    // knex's own words (Migrator.js validateMigrationList).
    if (missing.length > 0) throw new Error(`The migration directory is corrupt, the following files are missing: ${missing.join(', ')}`);
  }
  const done = new Set(completed.map((c) => c.name));
  return [completed, all.filter((m) => !done.has(m.file)).map((m) => ({ file: m.file }))];
}

/** lodash's sortBy on `file`: by UTF-16 code units, stable. */
const byFile = (a: { file: string }, b: { file: string }) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
