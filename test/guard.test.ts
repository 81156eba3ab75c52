import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { cliPath, dataDigest, databases, json, lifeboat, pgEnv, query, schemaDump } from './support/db.js';

/**
 * The guarded-deploy pipeline through `lifeboat run -- psql …`: a real migrate
 * command against a real PostgreSQL, no adapter (so a snapshot is always taken).
 */
describe('guarded deploys (lifeboat run)', () => {
  const dbs = databases();
  let db: { name: string; url: string };
  let project: string;

  beforeEach(async () => {
    db = await dbs.create('guard');
    await query(
      db.url,
      `
      create table customers (id serial primary key, name text not null, legacy_code text, unused text);
      create table orders (id serial primary key, customer_id int not null references customers, total numeric(10,2), archived boolean not null default false);
      insert into customers (name, legacy_code) select 'c' || i, 'L' || i from generate_series(1, 100) i;
      insert into orders (customer_id, total) select 1 + i % 100, i from generate_series(1, 500) i;`,
    );
    project = await mkdtemp(join(tmpdir(), 'lifeboat-project-'));
  });

  /** A migration as a SQL file run by psql: statements are not wrapped in a transaction. */
  async function migration(sql: string): Promise<string[]> {
    const file = join(project, `m-${Date.now()}-${Math.random().toString(16).slice(2)}.sql`);
    await writeFile(file, sql);
    return ['psql', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file];
  }

  const deploy = async (flags: string[], command: string[], env: Record<string, string> = {}) =>
    lifeboat([...flags, 'run', '--json', '--', ...command], { url: db.url, cwd: project, env: { ...pgEnv(db.url), ...env } });

  const state = async () => ({ schema: await schemaDump(db.url), data: await dataDigest(db.url) });

  it('a good deploy: applied, checks pass, the snapshot kept as the restore point, exit 0', async () => {
    const result = await deploy([], await migration('alter table customers add column email text;'));
    expect(result.exitCode, result.stderr).toBe(0);
    const report = json(result);
    expect(report.outcome).toBe('applied');
    expect(report.snapshot.id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(report.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ['invalid-indexes', true],
      ['not-valid-constraints', true],
      ['data-preservation', true],
      ['sequences', true],
    ]);
    expect(await query(db.url, "select 1 from information_schema.columns where table_name = 'customers' and column_name = 'email'")).toHaveLength(1);
    const journal = (await readFile(join(project, '.lifeboat', 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journal.find((e) => e.event === 'restore-point')?.snapshot).toBe(report.snapshot.id);
    expect(journal.find((e) => e.event === 'deploy')?.outcome).toBe('applied');
  });

  it('a migration that fails half-way: rolled back to the identical database', async () => {
    const before = await state();
    const result = await deploy(
      [],
      await migration(`
      create table audit (id int);
      insert into audit values (1);
      update orders set total = 0;
      select 1 / 0;`),
    );
    expect(result.exitCode, result.stderr).toBe(20);
    const report = json(result);
    expect(report.outcome).toBe('migration-failed-rolled-back');
    expect(report.tool.exitCode).toBe(3);
    expect(report.restore.replaced).toMatch(/__lifeboat_replaced_/);
    expect(await state()).toEqual(before);
  });

  for (const [what, sql, finding] of [
    ['deletes rows', 'delete from orders where id > 50;', /table public\.orders lost 450 of 500 rows/],
    ['drops a table', 'drop table orders;', /table public\.orders \(500 rows\) was dropped/],
    ['drops a column holding values', 'alter table customers drop column legacy_code;', /column public\.customers\.legacy_code, which held values, was dropped/],
    ["wipes a column's values", 'update customers set legacy_code = null;', /^column public\.customers\.legacy_code: 100 of 100 values were set to NULL \(100%\)$/],
    ['blanks text', "update customers set name = '' where id > 10;", /^column public\.customers\.name: 90 of 100 values were emptied or set to NULL \(90%\)$/],
    [
      'deletes rows and inserts as many others',
      'delete from orders where id % 10 = 0; insert into orders (customer_id, total) select 1, 0 from generate_series(1, 50);',
      /^table public\.orders: at least \d+ of 500 rows were replaced \(deleted, and others inserted\)$/,
    ],
  ] as const) {
    it(`a migration that succeeds but ${what}: caught and rolled back`, async () => {
      const before = await state();
      const result = await deploy([], await migration(sql));
      expect(result.exitCode, result.stderr).toBe(21);
      const report = json(result);
      const preservation = report.checks.find((c: { name: string }) => c.name === 'data-preservation');
      expect(preservation.ok).toBe(false);
      expect(preservation.problems.join('\n')).toMatch(finding);
      expect(await state()).toEqual(before);
    });
  }

  it('allowances in lifeboat.config.ts let the intended loss through, and --allow-data-loss lets any', async () => {
    await writeFile(join(project, 'lifeboat.config.ts'), `export default { allow: { rowLoss: ['orders'], droppedColumns: ['customers.legacy_code'], droppedTables: ['public.audit_old'] } };\n`);
    await query(db.url, 'create table audit_old (id int); insert into audit_old values (1);');
    const kept = await deploy([], await migration('delete from orders where archived = false and id > 400; alter table customers drop column legacy_code; drop table audit_old;'));
    expect(kept.exitCode, kept.stderr).toBe(0);
    const preservation = json(kept).checks.find((c: { name: string }) => c.name === 'data-preservation');
    expect(preservation.ok).toBe(true);
    expect(preservation.allowed).toHaveLength(3);
    expect((await query(db.url, 'select count(*)::int as n from orders'))[0]).toEqual({ n: 400 });

    // Customers are not in the allowances.
    await query(db.url, "insert into customers (id, name) values (5000, 'no orders')");
    const notAllowed = await deploy([], await migration('delete from customers where id = 5000;'));
    expect(notAllowed.exitCode).toBe(21);
    expect(json(notAllowed).checks.find((c: { name: string }) => c.name === 'data-preservation').problems).toEqual(['table public.customers lost 1 of 101 rows (1%)']);
    const forced = await deploy(['--allow-data-loss'], await migration('delete from customers where id = 5000;'));
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect((await query(db.url, 'select count(*)::int as n from customers'))[0]).toEqual({ n: 100 });
  });

  it('a bounded allowance lets a small loss through and catches a big one', async () => {
    await writeFile(join(project, 'lifeboat.config.json'), JSON.stringify({ allow: { rowLoss: [{ table: 'orders', maxPercent: 10 }] } }));
    const small = await deploy([], await migration('delete from orders where id > 475;'));
    expect(small.exitCode, small.stderr).toBe(0);
    expect(json(small).checks.find((c: { name: string }) => c.name === 'data-preservation').allowed).toEqual(['table public.orders lost 25 of 500 rows (5%)']);
    const big = await deploy([], await migration('delete from orders where id > 100;'));
    expect(big.exitCode).toBe(21);
    expect(json(big).checks.find((c: { name: string }) => c.name === 'data-preservation').problems).toEqual([
      'table public.orders lost 375 of 475 rows (78.9%), beyond the allowance (allow.rowLoss: at most 10%)',
    ]);
  });

  it('allowances let wiped values, blanked text and a delete-and-refill through, each within its bound', async () => {
    await writeFile(
      join(project, 'lifeboat.config.json'),
      JSON.stringify({ allow: { valueLoss: ['customers.legacy_code', { column: 'public.customers.name', max: 20 }], rowLoss: [{ table: 'orders', maxPercent: 10 }] } }),
    );
    const kept = await deploy(
      [],
      await migration(
        "update customers set legacy_code = null; update customers set name = '' where id <= 20; delete from orders where id % 10 = 0; insert into orders (customer_id, total) select 1, 0 from generate_series(1, 50);",
      ),
    );
    expect(kept.exitCode, kept.stderr).toBe(0);
    const preservation = json(kept).checks.find((c: { name: string }) => c.name === 'data-preservation');
    expect(preservation.allowed).toEqual([
      'column public.customers.name: 20 of 100 values were emptied or set to NULL (20%)',
      'column public.customers.legacy_code: 100 of 100 values were set to NULL (100%)',
      expect.stringMatching(/^table public\.orders: at least \d+ of 500 rows were replaced/),
    ]);
    const beyond = await deploy([], await migration("update customers set name = '' where id <= 50;"));
    expect(beyond.exitCode).toBe(21);
    expect(json(beyond).checks.find((c: { name: string }) => c.name === 'data-preservation').problems).toEqual([
      'column public.customers.name: 30 of 80 values were emptied or set to NULL (37.5%), beyond the allowance (allow.valueLoss: at most 20 values)',
    ]);
  });

  it('dropping an empty column is not data loss', async () => {
    const result = await deploy([], await migration('alter table customers drop column unused;'));
    expect(result.exitCode, result.stderr).toBe(0);
  });

  it("a user SQL check that fails: rolled back, the check's name and result in the report", async () => {
    await writeFile(
      join(project, 'lifeboat.config.mjs'),
      `export default { checks: { sql: [
        { name: 'no negative totals', sql: 'select id, total from orders where total < 0' },
        { name: 'one admin', sql: "select 1 from customers where name = 'c1'", expectRows: 1 },
      ] } };\n`,
    );
    const before = await state();
    const result = await deploy([], await migration('update orders set total = -1 where id <= 3;'));
    expect(result.exitCode, result.stderr).toBe(21);
    const report = json(result);
    const failed = report.checks.find((c: { name: string }) => c.name === 'sql:no negative totals');
    expect(failed).toMatchObject({ ok: false, summary: '3 row(s), expected 0' });
    expect(failed.problems[0]).toMatch(/no negative totals returned 3 row\(s\), expected 0: \{"id":1,"total":"-1.00"\}/);
    expect(report.checks.find((c: { name: string }) => c.name === 'sql:one admin').ok).toBe(true);
    expect(await state()).toEqual(before);
  });

  it('a migration that leaves an index INVALID or a constraint NOT VALID is caught', async () => {
    const invalid = await deploy(
      [],
      await migration(`
      insert into customers (id, name) values (1000, 'dup'), (1001, 'dup');
      create unique index concurrently customers_name_key on customers (name);`),
    );
    expect(invalid.exitCode).toBe(20); // psql stops on the error; the index is left INVALID
    const notValid = await deploy([], await migration('alter table orders add constraint positive check (total > 0) not valid;'));
    expect(notValid.exitCode).toBe(21);
    expect(json(notValid).checks.find((c: { name: string }) => c.name === 'not-valid-constraints').problems).toEqual(['constraint public.orders.positive is NOT VALID']);
  });

  it('--no-rollback (onFailure: keep) leaves the database as the migration left it, snapshot kept', async () => {
    const result = await deploy(['--no-rollback'], await migration('delete from orders;'));
    expect(result.exitCode).toBe(23);
    expect(json(result).outcome).toBe('failed-kept');
    expect((await query(db.url, 'select count(*)::int as n from orders'))[0]).toEqual({ n: 0 });
    const list = json(await lifeboat(['list', '--json'], { cwd: project }));
    expect(list.snapshots.map((s: { id: string }) => s.id)).toContain(json(result).snapshot.id);
  });

  it('a typo in the config: a clear error naming the key, nothing run', async () => {
    await writeFile(join(project, 'lifeboat.config.json'), JSON.stringify({ checks: { dataPreservaton: false } }));
    const result = await lifeboat(['run', '--', 'psql', '-c', 'drop table orders'], { url: db.url, cwd: project, env: pgEnv(db.url) });
    expect(result.exitCode).toBe(18);
    expect(result.stderr).toMatch(/unknown key "checks\.dataPreservaton"/);
    expect(await query(db.url, "select 1 from pg_tables where tablename = 'orders'")).toHaveLength(1);
  });

  it('two deploys at once: one runs, the other waits; never interleaved', async () => {
    const slow = await migration('select pg_sleep(1.5); alter table customers add column a1 int;');
    const other = await migration('alter table customers add column a2 int;');
    const firstRun = deploy([], slow);
    // Start the second once the first holds the deploy lock (the advisory lock on this database's keys).
    const digest = createHash('sha256').update(`lifeboat:deploy:${db.name}`).digest();
    const [k1, k2] = [digest.readInt32BE(0), digest.readInt32BE(4)];
    for (let i = 0; i < 200; i++) {
      const held = await query(db.url, "select 1 from pg_locks where locktype = 'advisory' and granted and classid = $1::int::oid and objid = $2::int::oid", [k1, k2]);
      if (held.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const [first, second] = await Promise.all([firstRun, deploy([], other)]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/another lifeboat command is changing "guard_[0-9a-f]+" \(backend pid \d+, lifeboat deploy\); waiting up to 600 s/);
    const [a, b] = [json(first), json(second)];
    const aEnd = Date.parse(a.startedAt) + a.timings.totalMs;
    expect(Date.parse(b.lockedAt)).toBeGreaterThanOrEqual(aEnd - 50);
  });

  it('the app holding a connection: auto takes a dump and says why, and a bad deploy still rolls back', async () => {
    const app = new pg.Client({ connectionString: db.url });
    app.on('error', () => {});
    await app.connect();
    try {
      const before = await state();
      const result = await deploy([], await migration('delete from orders where id % 2 = 0;'));
      expect(result.exitCode, result.stderr).toBe(21);
      const report = json(result);
      expect(report.snapshot.strategy).toBe('dump');
      expect(report.snapshot.strategyReason).toMatch(/auto chose dump: 1 other session\(s\) are connected/);
      expect(result.stderr).toMatch(/strategy: dump \(auto chose dump/);
      expect(await state()).toEqual(before);
    } finally {
      await app.end().catch(() => {});
    }
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} during the migration: the tool is stopped, the database rolled back, exit ${code}`, async () => {
      const before = await state();
      const command = await migration('delete from orders where id > 10; select pg_sleep(60);');
      const child = execa(process.execPath, [cliPath, 'run', '--json', '--', ...command], {
        cwd: project,
        env: { DATABASE_URL: db.url, ...pgEnv(db.url) },
        reject: false,
      });
      for (let i = 0; i < 200; i++) {
        const sleeping = await query(db.url, "select 1 from pg_stat_activity where query like '%pg_sleep(60)%' and datname = $1 and pid <> pg_backend_pid()", [db.name]);
        if (sleeping.length > 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill(signal);
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(code);
      expect(JSON.parse(String(result.stdout)).outcome).toBe('interrupted-rolled-back');
      expect(await state()).toEqual(before);
    });
  }

  it('the rollback itself fails: exit 22, every copy kept, the commands to recover by hand printed', async () => {
    // The "migration" deletes rows, then destroys the snapshot it would be rolled back to.
    const script = join(project, 'sabotage.mjs');
    await writeFile(
      script,
      `import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
const dir = '.lifeboat/snapshots';
const [id] = readdirSync(dir);
const clone = JSON.parse(readFileSync(dir + '/' + id + '/manifest.json', 'utf8')).clone.database;
execFileSync('psql', ['-q', '-c', 'delete from orders where id > 10', '-c', 'drop database "' + clone + '"']);
process.exit(1);
`,
    );
    const result = await lifeboat(['--strategy', 'clone', 'run', '--', process.execPath, script], { url: db.url, cwd: project, env: pgEnv(db.url) });
    expect(result.exitCode, result.stderr).toBe(22);
    expect(result.stdout).toMatch(/FAILED, and the ROLLBACK FAILED too \(exit 22\)/);
    expect(result.stdout).toMatch(/ROLLBACK FAILED: Snapshot \S+ is a clone and its database "lifeboat_snap_\S+" is gone from the server/);
    expect(result.stdout).toMatch(/retry the rollback: npx lifeboat recover --yes --store /);
    // The deploy's record stays open: every command points to `recover` until the database is back.
    const status = await lifeboat(['status'], { url: db.url, cwd: project });
    expect(status.exitCode).toBe(29);
    expect(status.stdout).toMatch(/during its checks: the database holds the unchecked result/);
    // The database is as the failed migration left it: nothing half-restored, no staging copy left.
    expect((await query(db.url, 'select count(*)::int as n from orders'))[0]).toEqual({ n: 10 });
    expect(await query(db.url, 'select datname from pg_database where datname like $1', [`${db.name}__lifeboat_restoring%`])).toEqual([]);
  });
});
