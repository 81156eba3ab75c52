import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardedMigrate } from '@lifeboat/drizzle';
import { guarded } from '@lifeboat/knex';
import { drizzle } from 'drizzle-orm/node-postgres';
import knexFactory from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedServer, startEmbedded } from '../dev/embedded-postgres.js';
import { type CliResult, dataDigest, databaseNames, databases, json, lifeboat, pgEnv, query, schemaDump } from './support/db.js';
import { makeDrizzleProject } from './support/drizzle-project.js';
import { type KnexProject, makeKnexProject } from './support/knex-project.js';
import { makePrismaProject } from './support/prisma-project.js';

const INIT = `  await knex.schema.createTable('customers', (t) => { t.increments('id'); t.text('name').notNullable(); });
  await knex.raw("insert into customers (name) select 'customer ' || i from generate_series(1, 40) i");`;

/** What the tool's own session saw: its lock_timeout, statement_timeout and application_name, kept in a table. */
const SEEN = `create table lt as select current_setting('lock_timeout') as lock_timeout, current_setting('statement_timeout') as statement_timeout, current_setting('application_name') as app`;

/** Poll a real condition (no sleeps standing in for it). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 60_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A session holding customers in an open transaction (ACCESS SHARE, as any reader's would). */
async function holdCustomers(url: string): Promise<{ pid: number; client: pg.Client }> {
  const client = new pg.Client({ connectionString: url, application_name: 'holder' });
  await client.connect();
  await client.query('begin');
  await client.query('select count(*) from customers');
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return { pid: rows[0]!.pid, client };
}

/** A not-granted lock on customers, requested by a session of the deploy (tagged lifeboat:…). */
async function toolWaitingOnCustomers(url: string): Promise<number | undefined> {
  const rows = await query<{ pid: number }>(
    url,
    `select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where not l.granted and l.relation = 'customers'::regclass and a.application_name like 'lifeboat:%'`,
  );
  return rows[0]?.pid;
}

// Its own server: a retry needs "no transaction committed while the tool ran", which the shared test server cannot promise.
describe('short locks: a migration behind a long transaction (knex CLI, own server)', () => {
  let server: EmbeddedServer;
  let url: string;
  let project: KnexProject;
  const state = async () => ({ schema: await schemaDump(url), data: await dataDigest(url) });

  beforeAll(async () => {
    server = await startEmbedded();
    // Autovacuum's analyze writes (it takes a transaction id): nothing else may commit while the tool runs.
    await query(server.url(), 'alter system set autovacuum = off');
    await query(server.url(), 'select pg_reload_conf()');
    await query(server.url(), 'create database app');
    url = server.url('app');
    project = await makeKnexProject(url);
    await writeFile(join(project.dir, 'lifeboat.config.json'), JSON.stringify({ locks: { timeout: '1s', retries: 1 } }));
    await project.addMigration('20240101000000_init', INIT);
    const first = await project.lifeboat(['migrate:latest']);
    expect(first.exitCode, first.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await project?.remove();
    await server?.stop();
  });

  it('gives up after the lock timeout, retries once, fails unchanged; a reader is never blocked past the timeout', async () => {
    const before = await state();
    const holder = await holdCustomers(url);
    try {
      await project.addMigration('20240102000000_email', "  await knex.schema.alterTable('customers', (t) => t.text('email'));");
      const deploy = project.lifeboat(['migrate:latest']);
      // While the tool waits for ACCESS EXCLUSIVE, a reader queues behind it: with its own statement_timeout at 3 × the lock
      // timeout, the server cancels it if it is blocked longer. It completes: the tool's wait never outlasts its lock_timeout.
      await until('the tool waiting for a lock on customers', () => toolWaitingOnCustomers(url));
      const reader = new pg.Client({ connectionString: url, application_name: 'reader' });
      await reader.connect();
      try {
        await reader.query("set statement_timeout = '3s'");
        const { rows } = await reader.query<{ n: number }>('select count(*)::int as n from customers');
        expect(rows[0]!.n).toBe(40);
      } finally {
        await reader.end();
      }
      const result = await deploy;
      expect(result.exitCode, result.stderr).toBe(31);
      const report = json(result);
      expect(report.outcome).toBe('migration-failed-unchanged');
      expect(report.locks, JSON.stringify(report.locks) + result.stderr).toMatchObject({ timeoutMs: 1000, attempts: 2 });
      const waits = report.locks.waits as Array<{ attempt: number; table: string; mode: string; blockedBy: { pid: number; applicationName: string } }>;
      expect(waits.map((w) => w.attempt)).toEqual([1, 2]);
      for (const wait of waits) expect(wait).toMatchObject({ table: 'public.customers', mode: 'ACCESS EXCLUSIVE', blockedBy: { pid: holder.pid, applicationName: 'holder' } });
      expect(report.tool.cause).toMatch(
        new RegExp(`gave up waiting for a lock on public.customers after 2 attempts \\(lock_timeout 1 s\\): held by pid ${holder.pid}, "holder", in a transaction open for`),
      );
      expect(result.stderr).toMatch(/gave up waiting \d\.\d s for ACCESS EXCLUSIVE on public.customers .* running it again in 1 s \(attempt 2 of 2\)/);
    } finally {
      await holder.client.end();
    }
    expect(await state()).toEqual(before);
    // Nothing was restored: no staging or replaced copy beside the database.
    expect(await databaseNames('app\\_\\_lifeboat%', server.url())).toEqual([]);
    await rm(join(project.dir, 'migrations', '20240102000000_email.cjs'));
  }, 120_000);

  it('the holder commits between the attempts: the retry applies the migration', async () => {
    const failpoints = await mkdtemp(join(tmpdir(), 'lifeboat-fp-'));
    const holder = await holdCustomers(url);
    let released = false;
    try {
      await project.addMigration('20240103000000_tier', "  await knex.schema.alterTable('customers', (t) => t.text('tier'));");
      const deploy: Promise<CliResult> = lifeboat(['--json', 'knex', 'migrate:latest'], {
        cwd: project.dir,
        url,
        env: { NODE_ENV: 'development', LIFEBOAT_FAILPOINT: 'deploy:before-retry=pause', LIFEBOAT_FAILPOINT_DIR: failpoints },
      });
      await until('the deploy paused before its retry', async () => (existsSync(join(failpoints, 'deploy:before-retry.paused')) ? true : undefined));
      await holder.client.query('commit');
      released = true;
      await writeFile(join(failpoints, 'deploy:before-retry.resume'), '');
      const result = await deploy;
      expect(result.exitCode, result.stderr).toBe(0);
      expect(json(result), result.stderr).toMatchObject({ outcome: 'applied', migrated: ['20240103000000_tier.cjs'], locks: { attempts: 2 } });
      expect(await query(url, "select 1 from information_schema.columns where table_name = 'customers' and column_name = 'tier'")).toHaveLength(1);
    } finally {
      if (!released) await holder.client.query('rollback').catch(() => {});
      await holder.client.end();
      await rm(failpoints, { recursive: true, force: true });
    }
  }, 120_000);

  it("the knex CLI's sessions get the lock timeout and the tag (PGOPTIONS, PGAPPNAME)", async () => {
    await project.addMigration('20240104000000_seen', `  await knex.raw(${JSON.stringify(SEEN)});`);
    const result = await project.lifeboat(['migrate:latest']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [seen] = await query<{ lock_timeout: string; statement_timeout: string; app: string }>(url, 'select * from lt');
    expect(seen).toMatchObject({ lock_timeout: '1s', statement_timeout: '0', app: `lifeboat:${json(result).id}` });

    // The hook: the connections knex.migrate takes from the app's pool get them, and their own back after.
    const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 }, migrations: { directory: join(project.dir, 'migrations') } });
    try {
      await project.addMigration('20240105000000_seen_hook', `  await knex.raw(${JSON.stringify(SEEN.replace('table lt', 'table lt_hook'))});`);
      const report = await guarded(knex, { cwd: project.dir, onNotice: () => {} }).migrate.latest();
      expect(report).toEqual([4, ['20240105000000_seen_hook.cjs']]);
      const [hook] = await query<{ lock_timeout: string; app: string }>(url, 'select * from lt_hook');
      expect(hook).toMatchObject({ lock_timeout: '1s', app: expect.stringMatching(/^lifeboat:deploy-/) });
      const after = await knex.raw("select current_setting('lock_timeout') as l, current_setting('application_name') as a");
      expect(after.rows[0]).toEqual({ l: '0', a: '' });
    } finally {
      await knex.destroy();
    }
  }, 120_000);
});

describe("short locks: what reaches drizzle-kit's and Prisma's sessions (the real CLIs)", () => {
  const dbs = databases();
  const config = JSON.stringify({ locks: { timeout: '2s', statementTimeout: '60s' } });
  const seen = (url: string) => query<{ lock_timeout: string; statement_timeout: string; app: string }>(url, 'select * from lt');

  it('drizzle-kit migrate (pg driver)', async () => {
    const db = await dbs.create('locks_drizzle');
    const project = await makeDrizzleProject({ databaseUrl: db.url });
    try {
      await writeFile(join(project.dir, 'lifeboat.config.json'), config);
      await project.addMigration('seen', `${SEEN};`);
      const result = await lifeboat(['--json', 'drizzle-kit', 'migrate'], { cwd: project.dir, url: db.url });
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(await seen(db.url)).toEqual([{ lock_timeout: '2s', statement_timeout: '1min', app: `lifeboat:${json(result).id}` }]);

      // The hook over a pg Pool: the connections the migration opens get them, and leave the pool after.
      const pool = new pg.Pool({ connectionString: db.url });
      try {
        await project.addMigration('seen_hook', `${SEEN.replace('table lt', 'table lt_hook')};`);
        const report = await guardedMigrate(drizzle(pool), { migrationsFolder: project.migrationsDir }, { cwd: project.dir, onNotice: () => {} });
        expect(report.outcome).toBe('applied');
        expect(await query(db.url, 'select lock_timeout, statement_timeout, app from lt_hook')).toEqual([{ lock_timeout: '2s', statement_timeout: '1min', app: `lifeboat:${report.id}` }]);
        expect((await pool.query("select current_setting('lock_timeout') as l")).rows).toEqual([{ l: '0' }]);
      } finally {
        await pool.end();
      }
    } finally {
      await project.remove();
    }
  }, 120_000);

  it('lifeboat run -- psql (libpq)', async () => {
    const db = await dbs.create('locks_psql');
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-psql-'));
    try {
      await writeFile(join(dir, 'lifeboat.config.json'), config);
      const result = await lifeboat(['--json', 'run', '--', 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', SEEN], { cwd: dir, url: db.url, env: pgEnv(db.url) });
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(await seen(db.url)).toEqual([{ lock_timeout: '2s', statement_timeout: '1min', app: `lifeboat:${json(result).id}` }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('prisma migrate deploy (the JavaScript schema engine over @prisma/adapter-pg)', async () => {
    const db = await dbs.create('locks_prisma');
    const project = await makePrismaProject({ databaseUrl: db.url, migrations: [{ name: '20240101000000_seen', sql: `${SEEN};\n` }] });
    try {
      await writeFile(join(project.dir, 'lifeboat.config.json'), config);
      const result = await lifeboat(['--json', 'prisma', 'migrate', 'deploy'], { cwd: project.dir, url: db.url, env: { CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' } });
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      expect(await seen(db.url)).toEqual([{ lock_timeout: '2s', statement_timeout: '1min', app: `lifeboat:${json(result).id}` }]);
    } finally {
      await project.remove();
    }
  }, 120_000);
});
