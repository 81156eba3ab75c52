import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseDatabase } from '@lifeboat/core/adapter';
import { locateProject, resolveDatabase } from '@lifeboat/prisma';
import { cliPath, dataDigest, databases, json, query, repoRoot, schemaDump } from './support/db.js';
import { makePrismaProject, type PrismaProject } from './support/prisma-project.js';

const init = {
  name: '20240101000000_init',
  sql: `CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, legacy_code text);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers, total numeric(10,2) NOT NULL);
INSERT INTO customers (name, legacy_code) SELECT 'customer ' || i, 'L' || i FROM generate_series(1, 50) i;
INSERT INTO orders (customer_id, total) SELECT 1 + i % 50, i FROM generate_series(1, 300) i;
`,
};

/** The real Prisma CLI (6.19, offline JS engine, see test/fixtures/prisma) under `lifeboat prisma migrate deploy`. */
describe('lifeboat prisma migrate deploy', () => {
  const dbs = databases();
  const projects: PrismaProject[] = [];
  afterAll(async () => {
    for (const p of projects) await p.remove();
  });

  async function setup(options: { splitScripts?: boolean } = {}) {
    const db = await dbs.create('prisma');
    const project = await makePrismaProject({ databaseUrl: db.url, migrations: [init], ...options });
    projects.push(project);
    const first = await project.run(['migrate', 'deploy']);
    expect(first.exitCode, first.stderr).toBe(0);
    const lifeboat = (args: string[], flags: string[] = []) =>
      execa(process.execPath, [cliPath, ...flags, '--json', 'prisma', ...args], {
        cwd: project.dir,
        env: { DATABASE_URL: db.url, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
        reject: false,
        stdin: 'ignore',
      }).then((r) => ({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }));
    const state = async () => ({
      schema: await schemaDump(db.url),
      data: await dataDigest(db.url),
      migrations: await query(db.url, 'select id, checksum, migration_name, finished_at, rolled_back_at, applied_steps_count, logs from _prisma_migrations order by started_at'),
    });
    return { db, project, lifeboat, state };
  }

  it('a good deploy: applied, checks pass, the snapshot kept as the restore point, exit 0', async () => {
    const { db, project, lifeboat } = await setup();
    await project.addMigration('20240102000000_email', 'ALTER TABLE customers ADD COLUMN email text;\n');
    const result = await lifeboat(['migrate', 'deploy']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = json(result);
    expect(report).toMatchObject({ outcome: 'applied', pending: ['20240102000000_email'], migrated: ['20240102000000_email'] });
    expect(report.checks.find((c: { name: string }) => c.name === 'migrations')).toMatchObject({ ok: true, summary: '2 applied of 2 migration folder(s) in "public"."_prisma_migrations"' });
    expect(result.stderr).toMatch(/lifeboat: database from DATABASE_URL \(read by datasource url in \S+\/prisma\/schema\.prisma\)\n/);
    expect(result.stderr).toMatch(/All migrations have been successfully applied/); // prisma's own output, streamed
    const list = json(await execa(process.execPath, [cliPath, 'list', '--json'], { cwd: project.dir, reject: false }).then((r) => ({ exitCode: 0, stdout: String(r.stdout), stderr: '' })));
    expect(list.snapshots.map((s: { id: string; reason: string }) => [s.id, s.reason])).toEqual([[report.snapshot.id, 'deploy']]);
    expect(await query(db.url, "select 1 from information_schema.columns where table_name = 'customers' and column_name = 'email'")).toHaveLength(1);
  });

  for (const splitScripts of [false, true]) {
    it(`a migration that fails ${splitScripts ? 'after some statements ran (statement by statement)' : '(whole script, as the native engine sends it)'}: rolled back to the identical database, _prisma_migrations included; the fixed file then deploys with no manual step`, async () => {
      const { db, project, lifeboat, state } = await setup({ splitScripts });
      const before = await state();
      await project.addMigration(
        '20240102000000_archive',
        'CREATE TABLE archived_orders (id integer PRIMARY KEY, total numeric(10,2));\nINSERT INTO archived_orders SELECT id, total FROM orders WHERE id <= 100;\nDELETE FROM orders WHERE id <= 100;\nSELECT 1 / 0;\n',
      );
      const failed = await lifeboat(['migrate', 'deploy']);
      expect(failed.exitCode, failed.stderr).toBe(20);
      const report = json(failed);
      expect(report.outcome).toBe('migration-failed-rolled-back');
      const bookkeeping = report.checks.find((c: { name: string }) => c.name === 'migrations');
      expect(bookkeeping.problems).toContain('20240102000000_archive is recorded as started and not finished (failed)');
      expect(await state()).toEqual(before);

      // Fix the file; the next deploy needs no `prisma migrate resolve`.
      await project.addMigration(
        '20240102000000_archive',
        'CREATE TABLE archived_orders (id integer PRIMARY KEY, total numeric(10,2));\nINSERT INTO archived_orders SELECT id, total FROM orders WHERE id <= 100;\n',
      );
      const fixed = await lifeboat(['migrate', 'deploy']);
      expect(fixed.exitCode, fixed.stderr).toBe(0);
      expect((await query(db.url, 'select count(*)::int as n from archived_orders'))[0]).toEqual({ n: 100 });
      expect(await query(db.url, 'select migration_name from _prisma_migrations where finished_at is null')).toEqual([]);
    });
  }

  for (const [what, sql, finding, allowance] of [
    ['deletes rows', 'DELETE FROM orders WHERE total > 100;', /table public\.orders lost 200 of 300 rows/, { rowLoss: ['orders'] }],
    ['drops a table', 'DROP TABLE orders;', /table public\.orders \(300 rows\) was dropped/, { droppedTables: ['orders'] }],
    [
      'drops a non-empty column',
      'ALTER TABLE customers DROP COLUMN legacy_code;',
      /column public\.customers\.legacy_code, which held values, was dropped/,
      { droppedColumns: ['customers.legacy_code'] },
    ],
  ] as const) {
    it(`a migration that succeeds but ${what}: caught and rolled back; with the allowance, kept`, async () => {
      const { project, lifeboat, state } = await setup();
      const before = await state();
      await project.addMigration('20240102000000_cleanup', `${sql}\n`);
      const caught = await lifeboat(['migrate', 'deploy']);
      expect(caught.exitCode, caught.stderr).toBe(21);
      expect(
        json(caught)
          .checks.find((c: { name: string }) => c.name === 'data-preservation')
          .problems.join('\n'),
      ).toMatch(finding);
      expect(await state()).toEqual(before);

      await writeFile(join(project.dir, 'lifeboat.config.ts'), `export default ${JSON.stringify({ allow: allowance })};\n`);
      const kept = await lifeboat(['migrate', 'deploy']);
      expect(kept.exitCode, kept.stderr).toBe(0);
      expect(
        json(kept)
          .checks.find((c: { name: string }) => c.name === 'data-preservation')
          .allowed.join('\n'),
      ).toMatch(finding);
    });
  }

  it("a user SQL check that fails: rolled back, the check's name and result in the report", async () => {
    const { project, lifeboat, state } = await setup();
    await writeFile(
      join(project.dir, 'lifeboat.config.ts'),
      // As the README shows it: typed with defineConfig from the installed @lifeboat/core.
      "import { defineConfig } from '@lifeboat/core';\nexport default defineConfig({ checks: { sql: [{ name: 'every order has a positive total', sql: 'select id from orders where total <= 0' }] } });\n",
    );
    const before = await state();
    await project.addMigration('20240102000000_zero', 'UPDATE orders SET total = 0 WHERE id <= 5;\n');
    const result = await lifeboat(['migrate', 'deploy']);
    expect(result.exitCode, result.stderr).toBe(21);
    expect(json(result).checks.find((c: { name: string }) => c.name === 'sql:every order has a positive total')).toMatchObject({ ok: false, summary: '5 row(s), expected 0' });
    expect(result.stdout).toMatch(/every order has a positive total/);
    expect(await state()).toEqual(before);
  });

  it("nothing pending: no snapshot, exit 0, the overhead over the bare command printed (the whole command's, from the process's start)", async () => {
    const { db, project } = await setup();
    const result = await execa(process.execPath, [cliPath, 'prisma', 'migrate', 'deploy'], { cwd: project.dir, env: { DATABASE_URL: db.url, CHECKPOINT_DISABLE: '1' }, reject: false });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toMatch(/nothing pending/);
    expect(String(result.stdout)).toMatch(/no snapshot taken; Lifeboat's overhead over the bare command: \d+(\.\d)? m?s/);
    const list = await execa(process.execPath, [cliPath, 'list', '--json'], { cwd: project.dir, reject: false });
    expect(JSON.parse(String(list.stdout)).snapshots).toEqual([]);
  });

  it('two guarded deploys at once: one migrates, the other waits and then finds nothing pending', async () => {
    const { db, project, lifeboat } = await setup();
    await project.addMigration('20240102000000_slow', 'SELECT pg_sleep(1);\nALTER TABLE customers ADD COLUMN tier text;\n');
    const [a, b] = await Promise.all([lifeboat(['migrate', 'deploy']), lifeboat(['migrate', 'deploy'])]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    const outcomes = [json(a).outcome, json(b).outcome].sort();
    expect(outcomes).toEqual(['applied', 'nothing-pending']);
    expect(a.stderr + b.stderr).toMatch(/another lifeboat command is changing ".*"/);
    expect(await query(db.url, "select count(*)::int as n from _prisma_migrations where migration_name = '20240102000000_slow'")).toEqual([{ n: 1 }]);
  });

  it('prisma migrate reset and prisma db push leave a restore point and roll nothing back; lifeboat rollback brings back what they destroyed', async () => {
    const { db, project, lifeboat } = await setup();
    const rollback = () =>
      execa(process.execPath, [cliPath, 'rollback', '--yes', '--json'], { cwd: project.dir, env: { DATABASE_URL: db.url, CHECKPOINT_DISABLE: '1' }, reject: false }).then((r) => ({
        exitCode: r.exitCode ?? -1,
        stdout: String(r.stdout),
        stderr: String(r.stderr),
      }));
    await query(db.url, "insert into customers (name) values ('written after the deploy')");
    const late = "select count(*)::int as n from customers where name = 'written after the deploy'";

    // reset: drops everything and applies the migrations again; the row written since is gone.
    const reset = await lifeboat(['migrate', 'reset', '--force', '--skip-generate', '--skip-seed']);
    expect(reset.exitCode, reset.stderr).toBe(0);
    expect(json(reset)).toMatchObject({ outcome: 'destructive-applied', command: 'prisma migrate reset --force --skip-generate --skip-seed' });
    expect(json(reset).checks.find((c: { name: string }) => c.name === 'data-preservation').problems).toContain('table public.customers lost 1 of 51 rows (2%)');
    expect(await query(db.url, late)).toEqual([{ n: 0 }]);
    const back = await rollback();
    expect(back.exitCode, back.stderr).toBe(0);
    expect(json(back).restorePoint).toBe(json(reset).snapshot.id);
    expect(await query(db.url, late)).toEqual([{ n: 1 }]);

    // db push: the schema has no models, so with --accept-data-loss it drops both tables.
    const push = await lifeboat(['db', 'push', '--accept-data-loss', '--skip-generate']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(json(push).checks.find((c: { name: string }) => c.name === 'data-preservation').problems).toEqual(
      expect.arrayContaining(['table public.orders (300 rows) was dropped', 'table public.customers (51 rows) was dropped']),
    );
    expect(await query(db.url, "select to_regclass('orders')::text as t")).toEqual([{ t: null }]);
    expect((await rollback()).exitCode).toBe(0);
    expect(await query(db.url, 'select count(*)::int as n from orders')).toEqual([{ n: 300 }]);
    expect(await query(db.url, late)).toEqual([{ n: 1 }]);
  });

  it('the app holding a connection: auto takes a dump and says why; the bad deploy still rolls back', async () => {
    const { db, project, lifeboat, state } = await setup();
    const app = new pg.Client({ connectionString: db.url });
    app.on('error', () => {});
    await app.connect();
    try {
      const before = await state();
      await project.addMigration('20240102000000_bad', 'DELETE FROM orders;\n');
      const result = await lifeboat(['migrate', 'deploy']);
      expect(result.exitCode, result.stderr).toBe(21);
      expect(json(result).snapshot).toMatchObject({ strategy: 'dump', strategyReason: expect.stringMatching(/other session\(s\) are connected/) });
      expect(result.stderr).toMatch(/strategy: dump \(auto chose dump: 1 other session/);
      expect(await state()).toEqual(before);
    } finally {
      await app.end().catch(() => {});
    }
  });

  it('SIGINT during the migration: rolled back, exit 130', async () => {
    const { db, project, state } = await setup();
    const before = await state();
    await project.addMigration('20240102000000_long', 'DELETE FROM orders WHERE id > 10;\nCOMMIT;\nSELECT pg_sleep(60);\n');
    const child = execa(process.execPath, [cliPath, '--json', 'prisma', 'migrate', 'deploy'], {
      cwd: project.dir,
      env: { DATABASE_URL: db.url, CHECKPOINT_DISABLE: '1' },
      reject: false,
    });
    for (let i = 0; i < 300; i++) {
      const sleeping = await query(db.url, "select 1 from pg_stat_activity where query like '%pg_sleep(60)%' and pid <> pg_backend_pid()");
      if (sleeping.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(JSON.parse(String(result.stdout)).outcome).toBe('interrupted-rolled-back');
    expect(await state()).toEqual(before);
  });
});

describe('which database Prisma migrates', () => {
  /** As `lifeboat [--database-url URL] prisma …` resolves it. */
  const resolve = (project: Awaited<ReturnType<typeof locateProject>>, databaseUrl: string | undefined, env: NodeJS.ProcessEnv) => {
    const { database, env: prismaEnv } = resolveDatabase(project, env, (tool) => chooseDatabase({ flag: databaseUrl, env }, [tool]));
    return { url: database.url, source: database.source, env: prismaEnv };
  };

  it("Prisma 7: the URL only in prisma.config.ts, read with the project's own @prisma/config 7", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-prisma7-'));
    // A Prisma 7 project's node_modules as far as the config goes: @prisma/config 7.
    const config7 = createRequire(join(repoRoot, 'package.json'))
      .resolve('prisma-config-7/package.json')
      .replace(/\/package\.json$/, '');
    await mkdir(join(dir, 'node_modules/@prisma'), { recursive: true });
    await symlink(config7, join(dir, 'node_modules/@prisma/config'));
    await mkdir(join(dir, 'db'), { recursive: true });
    await writeFile(join(dir, 'db/schema.prisma'), 'datasource db {\n  provider = "postgresql"\n}\n');
    await writeFile(
      join(dir, 'prisma.config.ts'),
      `export default {\n  schema: 'db/schema.prisma',\n  migrations: { path: 'db/migrations' },\n  datasource: { url: 'postgres://app:pw@db.internal:5432/orders?schema=shop' },\n};\n`,
    );
    const project = await locateProject(dir, ['migrate', 'deploy']);
    expect(project.schemaFile).toBe(join(dir, 'db/schema.prisma'));
    expect(project.migrationsDir).toBe(join(dir, 'db/migrations'));
    const resolved = resolve(project, undefined, {});
    expect(resolved.url).toBe('postgres://app:pw@db.internal:5432/orders?schema=shop');
    expect(resolved.source).toBe(`datasource.url in ${join(dir, 'prisma.config.ts')}`);
    // Another database given to Lifeboat would leave prisma migrating this one: refused.
    expect(() => resolve(project, 'postgres://app:pw@elsewhere:5432/orders', {})).toThrow(
      `--database-url names postgres://app:***@elsewhere:5432/orders, but datasource.url in ${join(dir, 'prisma.config.ts')} names postgres://app:***@db.internal:5432/orders: prisma would migrate that one, not the one Lifeboat protects.`,
    );
  });

  it('Prisma 6: directUrl over url, env(...) from the environment, then .env', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-prisma6-'));
    await mkdir(join(dir, 'prisma'), { recursive: true });
    await writeFile(join(dir, 'prisma/schema.prisma'), 'datasource db {\n  provider  = "postgresql"\n  // url = env("OLD_URL")\n  url       = env("POOLED_URL")\n  directUrl = env("DIRECT_URL")\n}\n');
    await writeFile(join(dir, '.env'), 'DIRECT_URL="postgres://u:p@direct:5432/app"\nPOOLED_URL=postgres://u:p@pooler:6543/app\n');
    const project = await locateProject(dir, ['migrate', 'deploy']);
    expect(resolve(project, undefined, {})).toMatchObject({
      url: 'postgres://u:p@direct:5432/app',
      source: `DIRECT_URL in ${join(dir, '.env')} (read by datasource directUrl in ${join(dir, 'prisma/schema.prisma')})`,
    });
    expect(resolve(project, undefined, { DIRECT_URL: 'postgres://u:p@fromenv:5432/app' })).toMatchObject({ url: 'postgres://u:p@fromenv:5432/app' });
    // An override points prisma at the same database, through every variable the datasource reads.
    const override = resolve(project, 'postgres://u:p@chosen:5432/app', {});
    expect(override.env).toEqual({ POOLED_URL: 'postgres://u:p@chosen:5432/app', DIRECT_URL: 'postgres://u:p@chosen:5432/app' });
  });
});

describe('guardedMigrate() from code', () => {
  const dbs = databases();

  it('resolves with the report when applied, rejects with it after rolling back a failure', async () => {
    const { guardedMigrate } = await import('@lifeboat/prisma');
    process.env.CHECKPOINT_DISABLE = '1';
    const db = await dbs.create('prisma_code');
    const project = await makePrismaProject({ databaseUrl: db.url, migrations: [init] });
    try {
      const notes: string[] = [];
      const applied = await guardedMigrate({ cwd: project.dir, databaseUrl: db.url, onNotice: (m) => notes.push(m) });
      expect(applied).toMatchObject({ outcome: 'applied', migrated: ['20240101000000_init'] });
      expect(notes.join('\n')).toMatch(/snapshot \S+ \(\w+\) taken/);

      const before = await dataDigest(db.url);
      await project.addMigration('20240102000000_bad', 'DROP TABLE orders;\n');
      const failure = await guardedMigrate({ cwd: project.dir, databaseUrl: db.url, onNotice: () => {} }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'CHECKS_FAILED_ROLLED_BACK', report: { outcome: 'checks-failed-rolled-back' } });
      expect(String((failure as Error).message)).toMatch(/table public\.orders \(300 rows\) was dropped/);
      expect(await dataDigest(db.url)).toEqual(before);
    } finally {
      await project.remove();
    }
  });
});
