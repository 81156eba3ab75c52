import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';
import { dataDigest, databaseNames, databases, json, lifeboat, pgEnv, query, repoRoot, schemaDump } from './support/db.js';

/** Recovery practice: rollback, drills, objectives, data classes, the runbook, retention. */
describe('recovery', () => {
  const dbs = databases();
  let db: { name: string; url: string };
  let project: string;

  beforeEach(async () => {
    db = await dbs.create('recov');
    await query(
      db.url,
      `
      create table customers (id serial primary key, name text not null, email text);
      create table orders (id serial primary key, customer_id int not null references customers, total numeric(10,2) not null);
      insert into customers (name, email) select 'c' || i, 'c' || i || '@example.com' from generate_series(1, 60) i;
      insert into orders (customer_id, total) select 1 + i % 60, i from generate_series(1, 240) i;`,
    );
    // Inside the repo, so `npx lifeboat` in the runbook finds the repo's own CLI.
    await mkdir(join(repoRoot, 'test/.tmp'), { recursive: true });
    project = await mkdtemp(join(repoRoot, 'test/.tmp/recovery-'));
  });

  const run = (args: string[]) => lifeboat([...args], { url: db.url, cwd: project, env: pgEnv(db.url) });
  const state = async () => ({ schema: await schemaDump(db.url), data: await dataDigest(db.url) });
  /** A guarded deploy through `lifeboat run -- psql -c …`. */
  const deploy = (sql: string) => run(['run', '--json', '--', 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql]);

  it('rollback after a deploy of a bad schema change: back to the restore point; --undo returns to the post-deploy state, row for row', async () => {
    const before = await state();
    const deployed = await deploy('alter table customers alter column email type varchar(8) using left(email, 8)');
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    const afterDeploy = await state();
    expect(afterDeploy).not.toEqual(before);

    const refused = await run(['rollback']);
    expect(refused.exitCode).toBe(3); // no TTY and no --yes: nothing done
    expect(json(await run(['list', '--json'])).snapshots).toHaveLength(1);

    const rolled = await run(['rollback', '--yes', '--json']);
    expect(rolled.exitCode, rolled.stderr).toBe(0);
    const result = json(rolled);
    expect(result.restorePoint).toBe(json(deployed).snapshot.id);
    expect(await state()).toEqual(before);
    const snapshots = json(await run(['list', '--json'])).snapshots;
    expect(snapshots.find((s: { id: string }) => s.id === result.safetySnapshot)).toMatchObject({ reason: 'safety' });

    const undone = await run(['rollback', '--undo', '--yes', '--json']);
    expect(undone.exitCode, undone.stderr).toBe(0);
    expect(await state()).toEqual(afterDeploy);
  });

  it('says what a rollback throws away: rows added, removed and changed since the restore point', async () => {
    expect((await deploy('alter table orders add column note text')).exitCode).toBe(0);
    await query(
      db.url,
      `
      insert into orders (customer_id, total) values (1, 5), (2, 6), (3, 7);
      delete from orders where id in (10, 11);
      update orders set total = total + 1 where id between 20 and 24;
      update orders set note = 'new column only' where id = 30;
      insert into customers (name) values ('late');`,
    );
    const rolled = await run(['rollback', '--yes', '--json']);
    expect(rolled.exitCode, rolled.stderr).toBe(0);
    const tables = json(rolled).discarded.tables;
    expect(tables).toEqual([
      { table: 'public.customers', rowsNow: 61, rowsThen: 60, added: 1, removed: 0, changed: 0, compared: 'by primary key' },
      { table: 'public.orders', rowsNow: 241, rowsThen: 240, added: 3, removed: 2, changed: 5, compared: 'by primary key' },
    ]);
  });

  it('drill: a good snapshot passes and records its timing; a damaged one fails and says why, the live database untouched', async () => {
    const taken = json(await run(['snapshot', '--strategy', 'dump', '--json']));
    const passed = await run(['drill', '--json']);
    expect(passed.exitCode, passed.stderr).toBe(0);
    const report = json(passed);
    expect(report).toMatchObject({ snapshot: taken.id, ok: true });
    expect(report.restoreSeconds).toBeGreaterThan(0);
    expect(Object.keys(report.phases.restore)).toEqual(['checkMs', 'loadMs', 'verifyMs', 'swapMs']);
    expect(await databaseNames('lifeboat_drill_%')).toEqual(expect.not.arrayContaining([expect.stringContaining(taken.id.replace(/-/g, '_'))]));

    const live = await state();
    const file = join(project, '.lifeboat/snapshots', taken.id, 'data.dump');
    const bytes = await readFile(file);
    bytes[bytes.length - 100] ^= 0xff;
    await writeFile(file, bytes);
    const failed = await run(['drill', taken.id, '--json']);
    expect(failed.exitCode).toBe(26);
    expect(json(failed)).toMatchObject({ ok: false, errorCode: 'SNAPSHOT_CORRUPT' });
    expect(json(failed).error).toMatch(/data\.dump does not match its sha256/);
    expect(failed.stderr).toMatch(/The live database was not touched/);
    expect(await state()).toEqual(live);
    const journal = (await readFile(join(project, '.lifeboat/journal.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journal.filter((e) => e.event === 'drill').map((e) => e.ok)).toEqual([true, false]);
  });

  it('status exits non-zero when the RPO or RTO does not hold, zero when both do', async () => {
    await writeFile(join(project, 'lifeboat.config.json'), JSON.stringify({ objectives: { rpo: '1h', rto: '10m' } }));
    const none = await run(['status', '--json']);
    expect(none.exitCode).toBe(27);
    expect(json(none).objectives).toMatchObject({ rpo: { holds: false }, rto: { holds: false, detail: expect.stringMatching(/no drill/) } });

    const taken = json(await run(['snapshot', '--json']));
    const unverified = await run(['status', '--json']);
    expect(json(unverified).objectives.rpo).toMatchObject({ holds: false, detail: expect.stringMatching(/no verified snapshot/) });

    expect((await run(['drill'])).exitCode).toBe(0); // a passed drill verifies the snapshot too
    const good = await run(['status']);
    expect(good.exitCode, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(/RPO: +holds/);
    expect(good.stdout).toMatch(/RTO: +holds/);

    // The same snapshot, two hours older: the RPO is missed.
    const path = join(project, '.lifeboat/snapshots', taken.id, 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    manifest.createdAt = new Date(Date.now() - 2 * 3600_000).toISOString();
    await writeFile(path, JSON.stringify(manifest));
    const old = await run(['status', '--json']);
    expect(old.exitCode).toBe(27);
    expect(json(old).objectives).toMatchObject({ rpo: { holds: false }, rto: { holds: true } });

    // A drill slower than the RTO.
    await writeFile(join(project, 'lifeboat.config.json'), JSON.stringify({ objectives: { rto: 0.001 } }));
    const slow = await run(['status', '--json']);
    expect(slow.exitCode).toBe(27);
    expect(json(slow).objectives.rto).toMatchObject({ holds: false, detail: expect.stringMatching(/restored in [\d.]+ s/) });
  });

  it('an ephemeral table is in the schema but not the data of a snapshot, and the snapshot is smaller', async () => {
    await query(db.url, "create table sessions (id text primary key, data text); insert into sessions select 's' || i, repeat(md5(i::text), 40) from generate_series(1, 3000) i;");
    const proposals = json(await run(['classify', '--json'])).proposals;
    expect(proposals.find((p: { table: string }) => p.table === 'public.sessions')).toMatchObject({ class: 'ephemeral' });
    await writeFile(join(project, 'lifeboat.config.json'), JSON.stringify({ classes: { sessions: 'ephemeral' } }));

    for (const strategy of ['dump', 'clone']) {
      const all = json(await run(['snapshot', '--strategy', strategy, '--all-data', '--json']));
      const lean = json(await run(['snapshot', '--strategy', strategy, '--json']));
      expect(lean.tables.find((t: { name: string }) => t.name === 'sessions')).toMatchObject({ rows: 0, dataExcluded: true });
      expect(all.tables.find((t: { name: string }) => t.name === 'sessions')).toMatchObject({ rows: 3000 });
      expect(lean.sizeBytes).toBeLessThan(all.sizeBytes);
      const copy = `${db.name}_${strategy}_lean`;
      dbs.track(copy);
      expect((await run(['restore', lean.id, '--to', copy])).exitCode).toBe(0);
      const copyUrl = db.url.replace(/\/[^/]*$/, `/${copy}`);
      expect(await query(copyUrl, 'select count(*)::int as n from sessions')).toEqual([{ n: 0 }]);
      expect(await query(copyUrl, 'select count(*)::int as n from orders')).toEqual([{ n: 240 }]);
    }
  });

  it("the runbook's commands, run as written, restore the database", async () => {
    await run(['snapshot']);
    expect((await run(['runbook'])).exitCode).toBe(0);
    const text = await readFile(join(project, 'RECOVERY.md'), 'utf8');
    expect(text).toMatch(/^# Recovery runbook: recov_/);
    expect(text).not.toContain(new URL(db.url).password || '\u0000');
    const section = text.slice(text.indexOf('## Restore the newest snapshot'), text.indexOf('## Roll back'));
    const commands = /```sh\n([\s\S]*?)```/.exec(section)![1]!.trim().split('\n');
    expect(commands).toEqual(['npx lifeboat verify latest --store .lifeboat', 'npx lifeboat restore latest --yes --store .lifeboat']);

    const before = await state();
    await query(db.url, 'drop table orders; delete from customers;');
    for (const command of commands) {
      const result = await execa('sh', ['-c', command], { cwd: project, env: { DATABASE_URL: db.url }, reject: false });
      expect(result.exitCode, String(result.stderr)).toBe(0);
    }
    expect(await state()).toEqual(before);
  });

  it('retention keeps the restore point and the newest verified snapshot, and prunes replaced databases by the same policy', async () => {
    expect((await deploy('alter table customers add column tier text')).exitCode).toBe(0);
    const restorePoint = json(await run(['list', '--json'])).snapshots[0].id;
    const verified = json(await run(['snapshot', '--json'])).id;
    expect((await run(['verify', verified])).exitCode).toBe(0);
    const newer = [json(await run(['snapshot', '--json'])).id, json(await run(['snapshot', '--json'])).id];
    // Two restores in place leave two replaced databases.
    expect((await run(['restore', newer[0], '--yes'])).exitCode).toBe(0);
    expect((await run(['restore', newer[1], '--yes'])).exitCode).toBe(0);
    expect(await databaseNames(`${db.name}__lifeboat_replaced_%`)).toHaveLength(2);

    const dry = json(await run(['prune', '--keep', '1', '--dry-run', '--json']));
    expect(dry.expired.map((e: { id: string }) => e.id)).toEqual([newer[0]]);
    expect(dry.protected).toEqual(
      expect.arrayContaining([
        { id: newer[1], why: 'the newest snapshot' },
        { id: verified, why: 'the newest verified snapshot' },
        { id: restorePoint, why: "the newest deploy's restore point" },
      ]),
    );
    expect(dry.replacedDatabases).toHaveLength(1);
    expect(await databaseNames(`${db.name}__lifeboat_replaced_%`)).toHaveLength(2);

    expect((await run(['prune', '--keep', '1', '--yes'])).exitCode).toBe(0);
    const left = json(await run(['list', '--json']))
      .snapshots.map((s: { id: string }) => s.id)
      .sort();
    expect(left).toEqual([restorePoint, verified, newer[1]].sort());
    expect(await databaseNames(`${db.name}__lifeboat_replaced_%`)).toHaveLength(1);
  });
});
