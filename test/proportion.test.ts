import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeployReport, type Manifest, openStore, parseDatabaseUrl, resolveSettings } from '@lifeboat/core';
import { commandRun, guardedDeploy, type MigrationRun } from '@lifeboat/core/adapter';
import { describe, expect, it } from 'vitest';
import { dataDigest, databases, pgEnv, query, schemaDump } from './support/db.js';

/**
 * Checks in proportion (issue #13, item 4): when the deploy knows its at-risk set, the
 * snapshot and the checks compare only those tables exactly. Every other table is read by
 * its statistics: its writes are the app's, reported and never a failure, and a change to
 * its columns is a failed check that names it (the plan's analysis missed something).
 * The at-risk set is given as the plan phase gives it (GuardedDeployOptions.scope), with a
 * full snapshot: a scoped one holds the same counts (test/scoped.test.ts).
 */
describe('checks in proportion to the at-risk set', () => {
  const dbs = databases();

  async function setUp() {
    const db = await dbs.create('prop');
    await query(
      db.url,
      `create table accounts (id int primary key, name text not null);
       create table orders (id int primary key, account_id int references accounts, total numeric(10,2), note text);
       insert into accounts select i, 'a' || i from generate_series(1, 50) i;
       insert into orders select i, 1 + i % 50, i, 'n' || i from generate_series(1, 5000) i;
       analyze;`,
    );
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-proportion-'));
    const settings = resolveSettings({ config: {}, file: undefined, dir }, { store: join(dir, '.lifeboat') }, dir);
    const deploy = async (name: string, sql: string, atRisk: string[], app?: () => Promise<void>): Promise<DeployReport> => {
      const file = join(dir, `${name}.sql`);
      await writeFile(file, sql);
      const psql = commandRun('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', file], { env: pgEnv(db.url) });
      // The app writes while the migration runs: after it, on connections of its own, before the checks.
      const run: MigrationRun = app ? { describe: psql.describe, run: async (options) => ((outcome) => app().then(() => outcome))(await psql.run(options)) } : psql;
      return guardedDeploy({
        target: parseDatabaseUrl(db.url),
        store: openStore(settings.store),
        settings,
        run,
        // The plan's scope as the plan phase fills it in; a full snapshot (not scoped), so the rollback is a restore.
        scope: { atRisk: { tables: atRisk }, inPlace: 'this test takes a full snapshot' },
        output: 'stderr',
      });
    };
    const manifestOf = async (report: DeployReport): Promise<Manifest> => JSON.parse(await readFile(join(settings.store, 'snapshots', report.snapshot!.id, 'manifest.json'), 'utf8')) as Manifest;
    return { db, deploy, manifestOf };
  }

  it("compares the at-risk table exactly, reports another table's writes as the app's, and fails on a column change outside the set, naming it", async () => {
    const { db, deploy, manifestOf } = await setUp();
    const appWrites = async () => {
      await query(db.url, `insert into orders select i, 1, i, 'app' from generate_series(5001, 5007) i`);
      await query(db.url, `update orders set note = 'changed' where id in (1, 2, 3)`);
      await query(db.url, `delete from orders where id in (4, 5)`);
      // Reported by each backend as its transaction ends, in batches: wait until the statistics show them.
      await until(async () => {
        const [row] = await query<{ ins: string; upd: string; del: string }>(
          db.url,
          `select pg_stat_clear_snapshot(), n_tup_ins::text as ins, n_tup_upd::text as upd, n_tup_del::text as del from pg_stat_user_tables where relname = 'orders'`,
        );
        return Number(row!.ins) >= 5007 && Number(row!.upd) >= 3 && Number(row!.del) >= 2;
      });
    };

    // accounts is at risk (an UPDATE of its rows); orders is outside the set and only gains a column.
    const applied = await deploy('m1', `update accounts set name = upper(name) where id <= 10;\nalter table orders add column shipped boolean;\n`, ['public.accounts'], appWrites);
    expect(applied.outcome, JSON.stringify(applied.checks)).toBe('applied');
    if (applied.snapshot?.cloneDatabase) dbs.track(applied.snapshot.cloneDatabase);
    // The snapshot counted accounts with its contents, and read orders' statistics only.
    const tables = (await manifestOf(applied)).tables;
    expect(tables.find((t) => t.name === 'accounts')).toMatchObject({ exact: true, rows: 50, values: [50, 50] });
    const orders = tables.find((t) => t.name === 'orders')!;
    expect(orders).toMatchObject({ exact: false, stats: { updated: 0, deleted: 0 } });
    expect(orders.values).toBeUndefined();
    const preservation = applied.checks.find((c) => c.name === 'data-preservation')!;
    expect(preservation.ok).toBe(true);
    expect(preservation.summary).toMatch(/1 table\(s\) outside the at-risk set, not counted/);
    const untouched = applied.checks.find((c) => c.name === 'untouched-tables')!;
    expect(untouched.ok, untouched.problems.join('; ')).toBe(true);
    expect(untouched.notes).toEqual(['app writes: table public.orders: 7 inserted, 3 updated, 2 deleted row(s) since the snapshot (from its statistics, not compared)']);

    // A column dropped from orders, which the set leaves out: a failed check naming it, and the deploy rolled back.
    const schemaBefore = await schemaDump(db.url);
    const dataBefore = await dataDigest(db.url);
    const failed = await deploy('m2', `update accounts set name = lower(name) where id <= 10;\nalter table orders drop column note;\n`, ['public.accounts']);
    if (failed.snapshot?.cloneDatabase) dbs.track(failed.snapshot.cloneDatabase);
    if (failed.restore?.replaced) dbs.track(failed.restore.replaced);
    expect(failed.outcome).toBe('checks-failed-rolled-back');
    const missed = failed.checks.find((c) => c.name === 'untouched-tables')!;
    expect(missed.ok).toBe(false);
    expect(missed.problems).toEqual([expect.stringMatching(/^column public\.orders\.note was dropped, outside the deploy's at-risk set: the plan's analysis missed it/)]);
    expect(await schemaDump(db.url)).toBe(schemaBefore);
    expect(await dataDigest(db.url)).toEqual(dataBefore);
  });
});

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}
