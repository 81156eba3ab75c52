import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePostgresJs } from 'drizzle-orm/postgres-js';
import pg from 'pg';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseDatabase } from '@lifeboat/core/adapter';
import { cliAdapter, guardedMigrate } from '@lifeboat/drizzle';
import { dataDigest, databases, json, lifeboat, query, schemaDump } from './support/db.js';

/**
 * What a failing migration run in one transaction (drizzle's way) may end as: it commits nothing, so Lifeboat
 * restores nothing when nothing else committed on the (shared) test server while it ran, and restores otherwise.
 */
const FAILED_TRANSACTION = [
  ['DEPLOY_FAILED_ROLLED_BACK', 'migration-failed-rolled-back'],
  ['DEPLOY_FAILED_UNCHANGED', 'migration-failed-unchanged'],
];
import { type DrizzleProject, makeDrizzleProject } from './support/drizzle-project.js';
import { customers } from './fixtures/drizzle/schema.js';

type Check = { name: string; ok: boolean; summary: string; problems: string[] };
const check = (report: { checks: Check[] }, name: string) => report.checks.find((c) => c.name === name)!;

/** The migrations table's rows; null when it does not exist. */
async function migrationRows(url: string, table = 'drizzle.__drizzle_migrations') {
  const [{ t }] = await query<{ t: string | null }>(url, 'select to_regclass($1)::text as t', [table]);
  return t ? query(url, `select id, hash, created_at from ${table} order by id`) : null;
}

/** Everything a rollback must bring back: schema, every table's rows, the migrations table. */
async function stateOf(url: string, table?: string) {
  return { schema: await schemaDump(url), data: await dataDigest(url), migrations: await migrationRows(url, table) };
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update((await readFile(file)).toString())
    .digest('hex');

const ARCHIVE = `CREATE TABLE archived_orders (id integer PRIMARY KEY, total numeric(10,2));
--> statement-breakpoint
INSERT INTO archived_orders SELECT id, total FROM orders WHERE id <= 100;`;
/** The archive, then a delete and a statement that fails. */
const ARCHIVE_AND_FAIL = `${ARCHIVE}\n--> statement-breakpoint\nDELETE FROM orders WHERE id <= 100;\n--> statement-breakpoint\nSELECT 1 / 0;\n`;

/** The real drizzle-kit 0.31 CLI under `lifeboat drizzle-kit migrate`. */
describe('lifeboat drizzle-kit migrate', () => {
  const dbs = databases();
  const projects: DrizzleProject[] = [];
  afterAll(async () => {
    for (const p of projects) await p.remove();
  });

  /** A database migrated by the bare drizzle-kit (init and seed), and the project beside it. */
  async function setup(options: { config?: string; migrate?: boolean } = {}) {
    const db = await dbs.create('drizzle');
    const project = await makeDrizzleProject({ databaseUrl: db.url });
    projects.push(project);
    if (options.config) await project.writeConfig(options.config);
    if (options.migrate !== false) {
      const first = await project.run(['migrate']);
      expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    }
    const deploy = () => lifeboat(['--json', 'drizzle-kit', 'migrate'], { cwd: project.dir, url: db.url });
    return { db, project, deploy };
  }

  it('a good deploy: applied, recorded as drizzle records it, the snapshot kept, exit 0', async () => {
    const { db, project, deploy } = await setup();
    const tag = await project.addMigration('email', 'ALTER TABLE customers ADD COLUMN email text;\n');
    const result = await deploy();
    expect(result.exitCode, result.stderr).toBe(0);
    const report = json(result);
    expect(report).toMatchObject({ outcome: 'applied', pending: [tag], migrated: [tag], command: 'drizzle-kit migrate' });
    expect(check(report, 'migrations')).toMatchObject({ ok: true, summary: '3 applied of 3 journal entries in "drizzle"."__drizzle_migrations"' });
    expect(result.stderr).toMatch(/lifeboat: database from DATABASE_URL \(read by dbCredentials\.url in \S+\/drizzle\.config\.ts\)\n/);
    expect(result.stderr).toMatch(/Using 'pg' driver for database querying/); // drizzle-kit's own output, streamed
    const rows = await migrationRows(db.url);
    expect(rows?.at(-1)).toMatchObject({ hash: await sha256(join(project.migrationsDir, `${tag}.sql`)) });
    const list = json(await lifeboat(['list', '--json'], { cwd: project.dir }));
    expect(list.snapshots.map((s: { id: string; reason: string }) => [s.id, s.reason])).toEqual([[report.snapshot.id, 'deploy']]);
    expect(await query(db.url, "select 1 from information_schema.columns where table_name = 'customers' and column_name = 'email'")).toHaveLength(1);
  });

  it('a failing migration: rolled back to the identical database, the migrations table included; the fixed file then deploys', async () => {
    const { db, project, deploy } = await setup();
    const before = await stateOf(db.url);
    const tag = await project.addMigration('archive', ARCHIVE_AND_FAIL);
    const failed = await deploy();
    // One transaction that failed: restored (20), or nothing to restore (31) when nothing committed on the server meanwhile.
    expect([20, 31], failed.stderr).toContain(failed.exitCode);
    const report = json(failed);
    expect(FAILED_TRANSACTION.map(([, outcome]) => outcome)).toContain(report.outcome);
    // drizzle-kit printed no cause; the report names the SQL error, found by replaying the migration in a rolled-back transaction.
    expect(report.tool).toEqual({
      exitCode: 1,
      error: 'exited with code 1',
      cause: expect.stringMatching(new RegExp(`^division by zero, at ${tag}, statement 4: SELECT 1 / 0; \\(found by replaying`)),
    });
    expect(check(report, 'migrations').problems).toEqual([`${tag} is not applied`]);
    expect(await stateOf(db.url)).toEqual(before);

    await project.rewriteMigration(tag, `${ARCHIVE}\n`);
    const fixed = await deploy();
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(await query(db.url, 'select count(*)::int as n from archived_orders')).toEqual([{ n: 100 }]);
  });

  // drizzle runs all pending migrations in one transaction, so the failure above left nothing
  // that drizzle's own ROLLBACK did not undo. These two failures leave something behind.
  it('a first deploy that fails: drizzle leaves its schema and migrations table (made before its transaction); the rollback removes them', async () => {
    const bare = await setup({ migrate: false });
    await bare.project.addMigration('broken', 'SELECT 1 / 0;\n');
    expect((await bare.project.run(['migrate'])).exitCode).toBe(1);
    expect(await query(bare.db.url, "select to_regclass('drizzle.__drizzle_migrations')::text as t")).toEqual([{ t: 'drizzle.__drizzle_migrations' }]);

    const { db, project, deploy } = await setup({ migrate: false });
    const before = await stateOf(db.url);
    await project.addMigration('broken', 'SELECT 1 / 0;\n');
    const result = await deploy();
    expect(result.exitCode, result.stderr).toBe(20);
    expect(json(result).pending).toEqual(['0000_init', '0001_seed', '0002_broken']);
    expect(await stateOf(db.url)).toEqual(before);
    expect(await query(db.url, "select nspname from pg_namespace where nspname = 'drizzle'")).toEqual([]);
  });

  it('a migration that commits part-way (COMMIT around CREATE INDEX CONCURRENTLY) and then fails: what it committed is rolled back', async () => {
    const { db, project, deploy } = await setup();
    const before = await stateOf(db.url);
    await project.addMigration(
      'index',
      'DELETE FROM orders WHERE id <= 100;\n--> statement-breakpoint\nCOMMIT;\n--> statement-breakpoint\nCREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);\n--> statement-breakpoint\nBEGIN;\n--> statement-breakpoint\nSELECT 1 / 0;\n',
    );
    const result = await deploy();
    expect(result.exitCode, result.stderr).toBe(20);
    // The checks ran on the database as the failure left it: the committed DELETE was there.
    expect(check(json(result), 'data-preservation').problems.join('\n')).toMatch(/table public\.orders lost 100 of 300 rows/);
    // The replay looking for the cause cannot commit: it stops at the COMMIT, says so, and the restored database stays as it was.
    expect(json(result).tool.cause).toMatch(/^not found: .* stopped at \d{4}_index, statement 2, which cannot be replayed that way \(EXECUTE of transaction commands is not implemented\)$/);
    expect(await stateOf(db.url)).toEqual(before);
  });

  it('a migration that succeeds but loses rows: caught, exit 21, rolled back', async () => {
    const { db, project, deploy } = await setup();
    const before = await stateOf(db.url);
    await project.addMigration('cleanup', 'DELETE FROM orders WHERE total > 100;\n');
    const result = await deploy();
    expect(result.exitCode, result.stderr).toBe(21);
    const report = json(result);
    expect(report.outcome).toBe('checks-failed-rolled-back');
    expect(check(report, 'data-preservation').problems.join('\n')).toMatch(/table public\.orders lost 200 of 300 rows/);
    expect(check(report, 'migrations').ok).toBe(true);
    expect(await stateOf(db.url)).toEqual(before);
  });

  it('nothing pending: drizzle-kit runs, no snapshot, exit 0', async () => {
    const { project, deploy } = await setup();
    const result = await deploy();
    expect(result.exitCode, result.stderr).toBe(0);
    expect(json(result)).toMatchObject({ outcome: 'nothing-pending', pending: [] });
    expect(json(result).snapshot).toBeUndefined();
    expect(result.stderr).toMatch(/nothing pending: running the tool without a snapshot/);
    expect(json(await lifeboat(['list', '--json'], { cwd: project.dir })).snapshots).toEqual([]);
  });

  it("a custom migrations table and schema (migrations: { table: 'my_migrations', schema: 'ops' }): pending and the bookkeeping check read it", async () => {
    const { db, project, deploy } = await setup({ config: "migrations: { table: 'my_migrations', schema: 'ops' }," });
    expect(await migrationRows(db.url)).toBeNull(); // drizzle.__drizzle_migrations was never made
    expect(await migrationRows(db.url, 'ops.my_migrations')).toHaveLength(2);

    const tag = await project.addMigration('email', 'ALTER TABLE customers ADD COLUMN email text;\n');
    const good = await deploy();
    expect(good.exitCode, good.stderr).toBe(0);
    expect(json(good)).toMatchObject({ pending: [tag], migrated: [tag] });
    expect(check(json(good), 'migrations').summary).toBe('3 applied of 3 journal entries in "ops"."my_migrations"');

    // An applied migration edited afterwards: its recorded hash no longer matches; drizzle would never re-run it.
    const before = await stateOf(db.url, 'ops.my_migrations');
    await project.rewriteMigration('0001_seed', '-- edited\n');
    await project.addMigration('tier', 'ALTER TABLE customers ADD COLUMN tier text;\n');
    const edited = await deploy();
    expect(edited.exitCode, edited.stderr).toBe(21);
    expect(check(json(edited), 'migrations').problems).toEqual(['0001_seed was changed after it was applied: its sha256 differs from the hash recorded in "ops"."my_migrations"']);
    expect(await stateOf(db.url, 'ops.my_migrations')).toEqual(before);
  });

  it("pending is drizzle's rule: an entry not newer than the last applied one is skipped by drizzle, and the bookkeeping check says so", async () => {
    const { db, project, deploy } = await setup();
    const before = await stateOf(db.url);
    const next = await project.addMigration('email', 'ALTER TABLE customers ADD COLUMN email text;\n');
    const old = await project.addMigration('from_a_branch', 'ALTER TABLE customers ADD COLUMN tier text;\n');
    // As after merging a branch whose migration was generated before the last one deployed.
    const journalFile = join(project.migrationsDir, 'meta/_journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8'));
    journal.entries[3].when = journal.entries[1].when - 1;
    await writeFile(journalFile, JSON.stringify(journal));

    const result = await deploy();
    const report = json(result);
    expect(report).toMatchObject({ pending: [next], migrated: [next] }); // what drizzle ran: not `old`
    expect(result.exitCode, result.stderr).toBe(21);
    expect(check(report, 'migrations').problems).toEqual([
      expect.stringMatching(new RegExp(`^${old} is not applied \\(its "when" \\d+ is not after the newest recorded created_at \\d+, so drizzle will never run it\\)$`)),
    ]);
    expect(await stateOf(db.url)).toEqual(before);
  });

  it('--database-url wins: drizzle-kit is pointed at it through the DATABASE_URL its config reads', async () => {
    const { db, project } = await setup();
    const other = await dbs.create('drizzle_other');
    const otherBefore = await stateOf(other.url);
    const tag = await project.addMigration('email', 'ALTER TABLE customers ADD COLUMN email text;\n');
    const result = await lifeboat(['--database-url', db.url, '--json', 'drizzle-kit', 'migrate'], { cwd: project.dir, url: other.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(json(result)).toMatchObject({ outcome: 'applied', migrated: [tag] });
    expect(result.stderr).toMatch(/database from --database-url, also given to drizzle-kit as DATABASE_URL/);
    expect(await stateOf(other.url)).toEqual(otherBefore);
  });

  it("the README's quick start with the database only in drizzle.config.ts (no DATABASE_URL, no --database-url): deploy, push (a restore point first), rollback --yes, drill, status and runbook all find it", async () => {
    const db = await dbs.create('drizzle_quick');
    const project = await makeDrizzleProject({ databaseUrl: 'unused' });
    projects.push(project);
    const configFile = join(project.dir, 'drizzle.config.ts');
    await writeFile(configFile, (await readFile(configFile, 'utf8')).replace('process.env.DATABASE_URL!', JSON.stringify(db.url)));
    const run = (args: string[]) => lifeboat(args, { cwd: project.dir }); // no DATABASE_URL

    const deployed = await run(['--json', 'drizzle-kit', 'migrate']);
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    expect(deployed.stderr).toMatch(/lifeboat: database from dbCredentials\.url in \S+\/drizzle\.config\.ts\n/);

    // push makes the database match schema.ts: without the orders table there, it drops it, rows and all.
    const schemaFile = join(project.dir, 'schema.ts');
    const schema = await readFile(schemaFile, 'utf8');
    await writeFile(schemaFile, schema.slice(0, schema.indexOf('export const orders')));
    const pushed = await run(['--json', 'drizzle-kit', 'push', '--force']);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(json(pushed)).toMatchObject({ outcome: 'destructive-applied', command: 'drizzle-kit push --force' });
    expect(check(json(pushed), 'data-preservation').problems).toEqual(['table public.orders (300 rows) was dropped']);
    expect(await query(db.url, "select to_regclass('orders')::text as t")).toEqual([{ t: null }]);

    const rolledBack = await run(['rollback', '--yes', '--json']);
    expect(rolledBack.exitCode, rolledBack.stderr).toBe(0);
    expect(json(rolledBack).restorePoint).toBe(json(pushed).snapshot.id);
    expect(await query(db.url, 'select count(*)::int as n from orders')).toEqual([{ n: 300 }]);

    const drill = await run(['drill', '--json']);
    expect(drill.exitCode, drill.stderr).toBe(0);
    const status = json(await run(['status', '--json']));
    expect(status.database).toBe(db.name);
    expect(status.onServer.copies.map((c: { name: string }) => c.name)).toContain(json(rolledBack).restore.replaced);
    expect((await run(['runbook'])).exitCode).toBe(0);
    expect(await readFile(join(project.dir, 'RECOVERY.md'), 'utf8')).toMatch(new RegExp(`^# Recovery runbook: ${db.name}$`, 'm'));
  });

  it('any other drizzle-kit subcommand runs as it is, unguarded', async () => {
    const { project } = await setup();
    const result = await lifeboat(['drizzle-kit', 'check'], { cwd: project.dir });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Everything's fine/);
    expect(json(await lifeboat(['list', '--json'], { cwd: project.dir })).snapshots).toEqual([]);
  });
});

describe('which database drizzle-kit migrates', () => {
  const projects: DrizzleProject[] = [];
  afterAll(async () => {
    for (const p of projects) await p.remove();
  });
  const project = async (config: string) => {
    const p = await makeDrizzleProject({ databaseUrl: 'unused' });
    projects.push(p);
    await writeFile(join(p.dir, 'drizzle.config.ts'), config);
    return p;
  };
  /** As `lifeboat [--database-url URL] drizzle-kit <args>` prepares it; the migrate command's database and its source. */
  const prepare = async (dir: string, databaseUrl?: string, env: NodeJS.ProcessEnv = {}, args = ['migrate']) => {
    const prepared = await cliAdapter.prepare({ args, cwd: dir, env, choose: (tool) => chooseDatabase({ flag: databaseUrl, env }, [tool]) });
    if (prepared.mode !== 'migrate') throw new Error(`prepared as ${prepared.mode}`);
    return { ...prepared, databaseUrl: prepared.database.url, databaseUrlSource: prepared.database.source };
  };

  it('a fixed URL in drizzle.config.ts: used; another database given to Lifeboat is refused', async () => {
    const p = await project("export default { dialect: 'postgresql', dbCredentials: { url: 'postgres://app:app-pw@db.internal:5432/shop' } };\n");
    expect(await prepare(p.dir)).toMatchObject({
      mode: 'migrate',
      databaseUrl: 'postgres://app:app-pw@db.internal:5432/shop',
      databaseUrlSource: `dbCredentials.url in ${join(p.dir, 'drizzle.config.ts')}`,
    });
    // Refused, naming both databases with their passwords masked.
    const refused = await prepare(p.dir, 'postgres://app:app-pw@elsewhere:5432/shop').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'URL_INVALID' });
    expect((refused as Error).message).toBe(
      `--database-url names postgres://app:***@elsewhere:5432/shop, but dbCredentials.url in ${join(p.dir, 'drizzle.config.ts')} names postgres://app:***@db.internal:5432/shop: drizzle-kit would migrate that one, not the one Lifeboat protects.`,
    );
    // The same database under another spelling is no conflict.
    expect(await prepare(p.dir, 'postgres://app:app-pw@db.internal/shop?sslmode=disable')).toMatchObject({ databaseUrl: 'postgres://app:app-pw@db.internal/shop?sslmode=disable' });
  });

  it('host/port/user/password/database parts (and ssl), --config, the migrations folder and table', async () => {
    const p = await project('export default { dialect: "postgresql" };\n');
    await writeFile(
      join(p.dir, 'db.config.ts'),
      "export default { dialect: 'postgresql', out: './migrations', migrations: { table: 'm', schema: 's' }, dbCredentials: { host: process.env.DB_HOST, port: 6543, user: 'app', password: 'p@ss word', database: 'shop', ssl: 'require' } };\n",
    );
    const prepared = await prepare(p.dir, undefined, { DB_HOST: 'db.internal' }, ['migrate', '--config=db.config.ts']);
    expect(prepared.databaseUrl).toBe('postgres://app:p%40ss%20word@db.internal:6543/shop?sslmode=no-verify');
    expect(prepared.databaseUrlSource).toBe(`dbCredentials (host, port, user, password, database) in ${join(p.dir, 'db.config.ts')}`);
    expect(prepared.run.describe).toBe('drizzle-kit migrate --config=db.config.ts');
  });

  it('an unset variable: the URL Lifeboat was given goes to drizzle-kit through it', async () => {
    const p = await project("export default { dialect: 'postgresql', dbCredentials: { url: process.env.DATABASE_URL } };\n");
    await expect(prepare(p.dir)).rejects.toMatchObject({ code: 'URL_INVALID', message: expect.stringMatching(/^No database: dbCredentials\.url in .* \(not set\) names none, and none was given\.$/) });
    const prepared = await prepare(p.dir, 'postgres://u:chosen-pw@chosen:5432/app');
    expect(prepared).toMatchObject({ databaseUrl: 'postgres://u:chosen-pw@chosen:5432/app', databaseUrlSource: '--database-url, also given to drizzle-kit as DATABASE_URL' });
  });

  it('a URL from another variable: found by its value, and given the override', async () => {
    const p = await project("export default { dialect: 'postgresql', dbCredentials: { url: process.env.APP_DB_URL } };\n");
    const env = { APP_DB_URL: 'postgres://u:app-db-pw@configured:5432/app' };
    expect(await prepare(p.dir, undefined, env)).toMatchObject({ databaseUrl: env.APP_DB_URL, databaseUrlSource: expect.stringMatching(/^APP_DB_URL \(read by dbCredentials\.url in .*\)$/) });
    expect(await prepare(p.dir, 'postgres://u:other-pw@other:5432/app', env)).toMatchObject({ databaseUrlSource: '--database-url, also given to drizzle-kit as APP_DB_URL' });
  });

  it('not PostgreSQL, or no config: a clear error', async () => {
    const p = await project("export default { dialect: 'mysql', dbCredentials: { url: 'mysql://x@y/z' } };\n");
    await expect(prepare(p.dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/dialect "mysql"; Lifeboat protects PostgreSQL databases only/) });
    await expect(prepare(p.dir, undefined, {}, ['migrate', '--config', 'nope.ts'])).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/nope\.ts does not exist/) });
  });
});

describe('guardedMigrate() from code', () => {
  const dbs = databases();
  const projects: DrizzleProject[] = [];
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    for (const pool of pools) await pool.end().catch(() => {});
    for (const p of projects) await p.remove();
  });

  /** The app: a pg Pool with no 'error' listener (as many apps have it), and drizzle over it. */
  async function setup(options: { migrate?: boolean; migrationsTable?: string; migrationsSchema?: string } = {}) {
    const db = await dbs.create('drizzle_code');
    const project = await makeDrizzleProject({ databaseUrl: db.url });
    projects.push(project);
    const pool = new pg.Pool({ connectionString: db.url });
    pools.push(pool);
    const app = drizzle(pool);
    const config = { migrationsFolder: project.migrationsDir, migrationsTable: options.migrationsTable, migrationsSchema: options.migrationsSchema };
    const notes: string[] = [];
    const migrate = () => guardedMigrate(app, config, { cwd: project.dir, onNotice: (m) => notes.push(m) });
    if (options.migrate !== false) expect(await migrate()).toMatchObject({ outcome: 'applied', migrated: ['0000_init', '0001_seed'] });
    return { db, project, pool, app, migrate, notes };
  }

  it("a good deploy resolves with the report; the snapshot is a clone (the pool's idle connections were closed first)", async () => {
    const { db, project, migrate } = await setup();
    const tag = await project.addMigration('email', 'ALTER TABLE customers ADD COLUMN email text;\n');
    const report = await migrate();
    expect(report).toMatchObject({ outcome: 'applied', pending: [tag], migrated: [tag], command: 'drizzle-orm migrate()', snapshot: { strategy: 'clone' } });
    expect((await migrationRows(db.url))?.at(-1)).toMatchObject({ hash: await sha256(join(project.migrationsDir, `${tag}.sql`)) });
  });

  it("a failing migration rejects after the rollback: the identical database, and the app's db still works", async () => {
    const { db, project, pool, app, migrate } = await setup();
    const before = await stateOf(db.url);
    await app.select().from(customers); // the app's pool holds an idle connection when the rollback swaps the database
    const tag = await project.addMigration('archive', ARCHIVE_AND_FAIL);
    const failure = await migrate().catch((error: unknown) => error);
    // drizzle-orm runs the migrations in one transaction, which commits nothing when one fails: Lifeboat restores
    // nothing (31) when nothing else committed on the test server meanwhile, else it restores (20). Identical either way.
    expect(failure).toMatchObject({ report: { pending: [tag] } });
    expect(FAILED_TRANSACTION).toContainEqual([(failure as { code: string }).code, (failure as { report: { outcome: string } }).report.outcome]);
    expect((failure as { report: { tool: { error: string } } }).report.tool.error).toMatch(/^division by zero \(Failed query: SELECT 1 \/ 0;\)$/);
    expect(await stateOf(db.url)).toEqual(before);
    expect(await app.select().from(customers)).toHaveLength(50);
    expect(pool.totalCount).toBeGreaterThan(0);
  });

  it('a first deploy that fails leaves no drizzle schema behind', async () => {
    const { db, project, migrate } = await setup({ migrate: false });
    const before = await stateOf(db.url);
    await project.addMigration('broken', 'SELECT 1 / 0;\n');
    const failure = await migrate().catch((error: unknown) => error);
    expect(FAILED_TRANSACTION.map(([code]) => code)).toContain((failure as { code: string }).code);
    expect(await stateOf(db.url)).toEqual(before);
  });

  it('a migration that loses rows rejects with CHECKS_FAILED_ROLLED_BACK; the db works afterwards', async () => {
    const { db, project, app, migrate } = await setup();
    const before = await stateOf(db.url);
    await project.addMigration('cleanup', 'DELETE FROM orders WHERE total > 100;\n');
    const failure = await migrate().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'CHECKS_FAILED_ROLLED_BACK', message: expect.stringMatching(/table public\.orders lost 200 of 300 rows/) });
    expect(await stateOf(db.url)).toEqual(before);
    expect(await app.select().from(customers)).toHaveLength(50);
  });

  it('nothing pending: no snapshot', async () => {
    const { project, migrate } = await setup();
    const snapshots = json(await lifeboat(['list', '--json'], { cwd: project.dir })).snapshots.length;
    const report = await migrate();
    expect(report).toMatchObject({ outcome: 'nothing-pending', pending: [], snapshot: undefined });
    expect(json(await lifeboat(['list', '--json'], { cwd: project.dir })).snapshots).toHaveLength(snapshots);
  });

  it('a custom migrations table and schema', async () => {
    const { db, project, migrate } = await setup({ migrationsTable: 'my_migrations', migrationsSchema: 'ops' });
    expect(await migrationRows(db.url, 'ops.my_migrations')).toHaveLength(2);
    const tag = await project.addMigration('email', 'ALTER TABLE customers ADD COLUMN email text;\n');
    const report = await migrate();
    expect(report).toMatchObject({ pending: [tag], migrated: [tag] });
    expect(check(report, 'migrations').summary).toBe('3 applied of 3 journal entries in "ops"."my_migrations"');
  });

  it('a single pg Client: the rollback ends its session without crashing the app, and says so', async () => {
    const db = await dbs.create('drizzle_client');
    const project = await makeDrizzleProject({ databaseUrl: db.url });
    projects.push(project);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const notes: string[] = [];
      const app = drizzle(client);
      const config = { migrationsFolder: project.migrationsDir };
      expect(await guardedMigrate(app, config, { cwd: project.dir, onNotice: (m) => notes.push(m) })).toMatchObject({ outcome: 'applied', snapshot: { strategy: 'dump' } });
      await project.addMigration('bad', 'DELETE FROM orders;\n');
      await expect(guardedMigrate(app, config, { cwd: project.dir, onNotice: (m) => notes.push(m) })).rejects.toMatchObject({ code: 'CHECKS_FAILED_ROLLED_BACK' });
      expect(notes.join('\n')).toMatch(/the rollback closed the drizzle db's pg Client \(a Client cannot reconnect\)/);
    } finally {
      await client.end().catch(() => {});
    }
  });

  it('postgres.js: rolled back, and the db reconnects by itself', async () => {
    const db = await dbs.create('drizzle_pjs');
    const project = await makeDrizzleProject({ databaseUrl: db.url });
    projects.push(project);
    const sql = postgres(db.url, { onnotice: () => {} });
    try {
      const app = drizzlePostgresJs(sql);
      const config = { migrationsFolder: project.migrationsDir };
      expect(await guardedMigrate(app, config, { cwd: project.dir, onNotice: () => {} })).toMatchObject({ outcome: 'applied' });
      await app.select().from(customers);
      const before = await stateOf(db.url);
      await project.addMigration('bad', 'DELETE FROM orders;\n');
      await expect(guardedMigrate(app, config, { cwd: project.dir, onNotice: () => {} })).rejects.toMatchObject({ code: 'CHECKS_FAILED_ROLLED_BACK' });
      expect(await stateOf(db.url)).toEqual(before);
      expect(await app.select().from(customers)).toHaveLength(50);
    } finally {
      await sql.end();
    }
  });

  it("a databaseUrl that is not the db's database is refused before anything runs", async () => {
    const { project, app } = await setup({ migrate: false });
    const other = await dbs.create('drizzle_code_other');
    await expect(guardedMigrate(app, { migrationsFolder: project.migrationsDir }, { cwd: project.dir, databaseUrl: other.url })).rejects.toMatchObject({ code: 'URL_INVALID' });
  });
});
