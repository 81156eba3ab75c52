import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { databases, query } from './support/db.js';
import { makePrismaProject, type PrismaProject } from './support/prisma-project.js';

/**
 * The fixture Prisma project runs the real `prisma migrate deploy` (6.19, JavaScript schema
 * engine, no download) and leaves `_prisma_migrations` as Prisma leaves it for users.
 *
 * What Prisma writes into `_prisma_migrations` (checked below):
 * - applied migration: id (uuid text), checksum = sha256 hex of migration.sql's bytes,
 *   migration_name = the folder name, started_at and finished_at set, applied_steps_count 1,
 *   logs NULL, rolled_back_at NULL.
 * - failed migration: the row is inserted before the script runs and stays: checksum and
 *   started_at set, finished_at NULL, rolled_back_at NULL, applied_steps_count 0, logs = the
 *   error text (with this engine "external connector error\nError querying the database:
 *   ERROR: division by zero\n   0: sql_schema_connector::apply_migration::apply_script …";
 *   the native engine writes its P3018 wording instead, so never match on logs beyond the
 *   PostgreSQL message). The command exits 1, later migrations are not attempted.
 * - a rerun of `migrate deploy` while that row is there exits 1 with P3009 ("migrate found failed
 *   migrations in the target database, new migrations will not be applied … The `<name>`
 *   migration started at … failed") and writes nothing.
 */

const users = {
  name: '20240101000000_users',
  sql: 'CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\n',
};
const emails = {
  name: '20240102000000_emails',
  // A ";" inside a string and a $$ body: the native engine (and this fixture by default) sends the script whole.
  sql: [
    'ALTER TABLE users ADD COLUMN email text;',
    "INSERT INTO users (id, name, email) VALUES (1, 'ada; lovelace', 'ada@example.com'), (2, 'grace', 'grace@example.com');",
    'CREATE FUNCTION user_count() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM users); END; $$;',
    '',
  ].join('\n'),
};
const failing = {
  name: '20240103000000_fails_half_way',
  sql: 'CREATE TABLE a (id integer);\nINSERT INTO a VALUES (1);\nSELECT 1/0;\n',
};

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date | null;
  applied_steps_count: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const output = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

async function migrationRows(url: string): Promise<MigrationRow[]> {
  return query<MigrationRow>(url, 'select * from _prisma_migrations order by started_at, migration_name');
}

async function tableExists(url: string, name: string): Promise<boolean> {
  const [row] = await query<{ oid: string | null }>(url, 'select to_regclass($1)::text as oid', [name]);
  return row!.oid !== null;
}

describe('test/fixtures/prisma: the real prisma migrate deploy, offline', () => {
  const dbs = databases();
  const projects: PrismaProject[] = [];
  afterAll(async () => {
    for (const project of projects) await project.remove();
  });

  it('applies migrations, records them, records a failed one, then refuses with P3009', async () => {
    const db = await dbs.create('lb_prisma');
    const project = await makePrismaProject({ databaseUrl: db.url, migrations: [users, emails] });
    projects.push(project);

    const deployed = await project.run(['migrate', 'deploy']);
    expect(deployed.exitCode, output(deployed)).toBe(0);
    expect(deployed.stdout).toContain('All migrations have been successfully applied.');
    expect(deployed.stdout).toContain('using driver adapter "@prisma/adapter-pg"');

    expect(await query(db.url, 'select id, name, email from users order by id')).toEqual([
      { id: 1, name: 'ada; lovelace', email: 'ada@example.com' },
      { id: 2, name: 'grace', email: 'grace@example.com' },
    ]);
    expect(await query(db.url, 'select user_count()::int as n')).toEqual([{ n: 2 }]);

    const applied = await migrationRows(db.url);
    expect(applied).toHaveLength(2);
    expect(applied.map((r) => r.migration_name)).toEqual([users.name, emails.name]);
    for (const [row, migration] of applied.map((r, i) => [r, [users, emails][i]!] as const)) {
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.checksum).toBe(sha256(migration.sql));
      expect(row.started_at).toBeInstanceOf(Date);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    // A migration that fails after changing things. Sent whole (like the native engine), PostgreSQL
    // runs it as one implicit transaction, so its table is gone again; the test below sends it
    // statement by statement and the table stays.
    await project.addMigration(failing.name, failing.sql);
    const failed = await project.run(['migrate', 'deploy']);
    expect(failed.exitCode, output(failed)).toBe(1);
    expect(failed.stderr).toContain('division by zero');
    expect(await tableExists(db.url, 'a')).toBe(false);

    const afterFailure = await migrationRows(db.url);
    expect(afterFailure).toHaveLength(3);
    expect(afterFailure.slice(0, 2)).toEqual(applied);
    const row = afterFailure[2]!;
    expect(row).toMatchObject({
      migration_name: failing.name,
      checksum: sha256(failing.sql),
      finished_at: null,
      rolled_back_at: null,
      applied_steps_count: 0,
    });
    expect(row.started_at).toBeInstanceOf(Date);
    expect(row.logs).toContain('ERROR: division by zero');

    // Prisma will not go on past a failed migration until it is resolved.
    const refused = await project.run(['migrate', 'deploy']);
    expect(refused.exitCode, output(refused)).toBe(1);
    expect(refused.stderr).toContain('Error: P3009');
    expect(refused.stderr).toContain('migrate found failed migrations in the target database, new migrations will not be applied.');
    expect(refused.stderr).toContain(`The \`${failing.name}\` migration started at`);
    expect(await migrationRows(db.url)).toEqual(afterFailure);
  });

  it('with splitScripts, a failing migration leaves its first statements applied', async () => {
    const db = await dbs.create('lb_prisma');
    const project = await makePrismaProject({ databaseUrl: db.url, migrations: [users, failing], splitScripts: true });
    projects.push(project);

    const failed = await project.run(['migrate', 'deploy']);
    expect(failed.exitCode, output(failed)).toBe(1);
    expect(await query(db.url, 'select id from a')).toEqual([{ id: 1 }]);

    const rows = await migrationRows(db.url);
    expect(rows.map((r) => [r.migration_name, r.finished_at === null, r.applied_steps_count])).toEqual([
      [users.name, false, 1],
      [failing.name, true, 0],
    ]);
    expect(rows[1]!.rolled_back_at).toBeNull();
    expect(rows[1]!.logs).toContain('ERROR: division by zero');
  });
});
