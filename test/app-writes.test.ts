import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cliPath, dataDigest, databases, json, lifeboat, pgEnv, query, urlFor } from './support/db.js';

/**
 * The app keeps writing while a deploy runs. When the deploy fails and is rolled back,
 * those writes leave the live database with the replaced one: they are counted, kept,
 * and `lifeboat reapply` brings them back by primary key without overwriting anything.
 */
describe("the app's writes during a failed deploy", () => {
  const dbs = databases();

  it('are counted in the report, kept in the replaced database, and re-applied without overwriting a reused id', async () => {
    const db = await dbs.create('appw');
    await query(
      db.url,
      `
      create table customers (id serial primary key, name text not null);
      create table orders (id serial primary key, customer_id int not null references customers, total numeric(10,2) not null);
      create table notes (id serial primary key, body text);
      create table events (id int primary key, v text);
      insert into events select i, 'e' || i from generate_series(1, 25000) i;
      insert into customers (name) select 'c' || i from generate_series(1, 20) i;
      insert into orders (customer_id, total) select 1 + i % 20, i from generate_series(1, 50) i;
      insert into notes (body) select 'n' || i from generate_series(1, 5) i;`,
    );
    const project = await mkdtemp(join(tmpdir(), 'lifeboat-appwrites-'));
    const pause = await mkdtemp(join(tmpdir(), 'lifeboat-failpoint-'));
    const run = (args: string[]) => lifeboat(args, { url: db.url, cwd: project, env: pgEnv(db.url) });
    // psql runs each statement on its own: the first two stay done when the third fails.
    const migration = join(project, 'm.sql');
    await writeFile(migration, 'create table audit_log (id int primary key);\nalter table notes add column extra text;\nselect 1/0;\n');

    const deploy = execa(process.execPath, [cliPath, 'run', '--', 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-f', migration], {
      cwd: project,
      env: { DATABASE_URL: db.url, ...pgEnv(db.url), LIFEBOAT_FAILPOINT: 'deploy:after-migrate=pause', LIFEBOAT_FAILPOINT_DIR: pause },
      reject: false,
    });
    await until(() => existsSync(join(pause, 'deploy:after-migrate.paused')) || deploy.exitCode !== null);
    // The app, between the migration and the rollback.
    await query(
      db.url,
      `
      insert into customers (name) select 'new' || i from generate_series(1, 5) i;
      insert into orders (customer_id, total) select 21 + i % 5, 100 + i from generate_series(1, 10) i;
      update orders set total = total + 1000 where id in (3, 4);
      delete from orders where id = 5;
      insert into notes (body) values ('during the deploy');
      update events set v = 'changed' where id in (7, 24000);
      insert into events values (25001, 'new');`,
    );
    await writeFile(join(pause, 'deploy:after-migrate.resume'), '');
    const deployed = await deploy;
    expect(deployed.exitCode, String(deployed.stderr)).toBe(20);

    const journal = (await readFile(join(project, '.lifeboat', 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const report = journal.find((e) => e.event === 'deploy');
    const replaced: string = report.restore.replaced;
    if (report.snapshot.cloneDatabase) dbs.track(report.snapshot.cloneDatabase);
    expect(report.appWrites).toMatchObject({ rows: 22, newTables: ['public.audit_log'], keptIn: replaced, reapply: `npx lifeboat reapply ${report.id}` });
    expect(report.appWrites.tables).toEqual([
      { table: 'public.customers', rowsThen: 20, rowsNow: 25, inserted: 5, updated: 0, deleted: 0, reappliable: true },
      // Big enough to be compared bucket by bucket: only the buckets with writes are read row by row.
      { table: 'public.events', rowsThen: 25000, rowsNow: 25001, inserted: 1, updated: 2, deleted: 0, reappliable: true },
      { table: 'public.notes', rowsThen: 5, rowsNow: 6, inserted: 1, updated: 0, deleted: 0, reappliable: false, why: 'the failed migration changed its columns' },
      { table: 'public.orders', rowsThen: 50, rowsNow: 59, inserted: 10, updated: 2, deleted: 1, reappliable: true },
    ]);
    const stdout = String(deployed.stdout);
    expect(stdout).toMatch(/22 row\(s\) written since the snapshot, by the app or by the failed migration itself, are NOT in the restored database/);
    expect(stdout).toMatch(/public\.orders: 10 inserted, 2 updated, 1 deleted\n/);
    expect(stdout).toContain(`they are kept in "${replaced}"`);
    expect(stdout).toContain(`npx lifeboat reapply ${report.id}`);
    expect((await stat(report.appWrites.record)).mode & 0o777).toBe(0o600);

    // After the rollback the app goes on: its next order takes id 51, which an order of the deploy's window had.
    expect(await query(db.url, 'insert into orders (customer_id, total) values (1, 999) returning id')).toEqual([{ id: 51 }]);
    const afterRollback = await dataDigest(db.url);

    const dry = await run(['reapply', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(json(dry)).toMatchObject({
      deploy: report.id,
      replaced,
      applied: false,
      tables: [
        { table: 'public.customers', inserted: 5, updated: 0, deleted: 0, unchanged: 0, conflicts: 0 },
        { table: 'public.events', inserted: 1, updated: 2, deleted: 0, unchanged: 0, conflicts: 0 },
        { table: 'public.orders', inserted: 9, updated: 2, deleted: 1, unchanged: 0, conflicts: 1 },
      ],
      skippedTables: [{ table: 'public.notes', why: 'the failed migration changed its columns' }],
    });
    expect(await dataDigest(db.url)).toEqual(afterRollback);

    const applied = await run(['reapply', '--yes', '--json']);
    expect(applied.exitCode, applied.stderr).toBe(30);
    const result = json(applied);
    expect(result.applied).toBe(true);
    expect(result.tables).toEqual(json(dry).tables);
    expect(result.conflicts).toEqual([
      { table: 'public.orders', key: { id: '51' }, why: 'inserted during the deploy, and its key holds another row in the live database (written since the rollback)' },
    ]);
    expect(result.sequences.map((s: { sequence: string; to: string }) => [s.sequence, s.to])).toEqual([
      ['public.customers_id_seq', '26'],
      ['public.orders_id_seq', '61'],
    ]);
    // The live database now has the deploy window's rows, except the one it would have overwritten.
    const rows = (url: string, sql: string) => query(url, sql).then((r) => r.map((x) => JSON.stringify(x)));
    const window = 'select * from orders where id between 52 and 60 or id in (3, 4) order by id';
    expect(await rows(db.url, window)).toEqual(await rows(urlFor(replaced, db.url), window));
    expect(await query(db.url, 'select total from orders where id in (5, 51) order by id')).toEqual([{ total: '999.00' }]);
    expect(await query(db.url, "select count(*)::int as n from customers where name like 'new%'")).toEqual([{ n: 5 }]);
    expect(await query(db.url, "select id from events where v in ('changed', 'new') order by id")).toEqual([{ id: 7 }, { id: 24000 }, { id: 25001 }]);
    const afterReapply = await dataDigest(db.url);

    const again = await run(['reapply', '--yes']);
    expect(again.exitCode, again.stderr).toBe(30);
    expect(again.stdout).toMatch(/public\.orders\s+0\s+0\s+0\s+12\s+1/);
    expect(again.stdout).toMatch(/public\.orders id=51: inserted during the deploy/);
    expect(await dataDigest(db.url)).toEqual(afterReapply);
    // The sequences were moved past the re-inserted ids: the app's next order does not collide.
    expect(await query(db.url, 'insert into orders (customer_id, total) values (1, 1) returning id')).toEqual([{ id: 61 }]);
    const journalAfter = (await readFile(join(project, '.lifeboat', 'journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journalAfter.filter((e) => e.event === 'reapply').map((e) => e.conflicts)).toEqual([1, 1]);

    // Bad input changes nothing.
    const before = await dataDigest(db.url);
    expect((await run(['reapply', 'deploy-20200101-000000-0000', '--yes'])).exitCode).toBe(12);
    const unknown = await run(['reapply', '--table', 'invoices', '--yes']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/No table "invoices" among the writes of deploy/);
    expect(await dataDigest(db.url)).toEqual(before);
  });
});

/** Wait for a state another process reaches (a failpoint's file), not for time to pass. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!check()) throw new Error('timed out waiting for the failpoint');
}
