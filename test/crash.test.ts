import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cliPath, dataDigest, databaseNames, databases, json, lifeboat, pgEnv, query, schemaDump } from './support/db.js';

/**
 * Trust at the edges: a Lifeboat killed with SIGKILL at each phase of a deploy (by a
 * failpoint, so each case is deterministic), the migrate tool of a killed Lifeboat, and
 * commands that change the same database at the same time.
 */
describe('kill -9 at every phase of a deploy, then `lifeboat recover`', () => {
  const dbs = databases();

  async function setUp() {
    const db = await dbs.create('crash');
    await query(
      db.url,
      `
      create table customers (id serial primary key, name text not null);
      create table orders (id serial primary key, customer_id int not null references customers, total numeric(10,2));
      insert into customers (name) select 'c' || i from generate_series(1, 50) i;
      insert into orders (customer_id, total) select 1 + i % 50, i from generate_series(1, 200) i;`,
    );
    const project = await mkdtemp(join(tmpdir(), 'lifeboat-crash-'));
    const file = async (name: string, sql: string) => {
      await writeFile(join(project, name), sql);
      return ['psql', '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(project, name)];
    };
    const run = (flags: string[], command: string[], env: Record<string, string> = {}) =>
      lifeboat([...flags, 'run', '--json', '--', ...command], { url: db.url, cwd: project, env: { ...pgEnv(db.url), ...env } });
    const cli = (args: string[]) => lifeboat(args, { url: db.url, cwd: project });
    const state = async () => ({ schema: await schemaDump(db.url), data: await dataDigest(db.url) });
    return { db, project, file, run, cli, state };
  }

  /** What a crash may leave must be gone after recover: staging copies, the unfinished snapshot and its clone, open records. */
  async function expectNothingLeft(db: { name: string; url: string }, project: string, killedSnapshot: string | undefined) {
    expect(await databaseNames(`${db.name}__lifeboat_restoring%`)).toEqual([]);
    const snapshots = join(project, '.lifeboat', 'snapshots');
    for (const id of existsSync(snapshots) ? await readdir(snapshots) : []) {
      expect(existsSync(join(snapshots, id, 'manifest.json')), `snapshot folder ${id} is unfinished`).toBe(true);
    }
    if (killedSnapshot && !existsSync(join(snapshots, killedSnapshot))) {
      expect(await databaseNames(`lifeboat_snap_${killedSnapshot.replace(/-/g, '_')}`)).toEqual([]);
    }
    const operations = join(project, '.lifeboat', 'operations');
    expect(existsSync(operations) ? await readdir(operations) : []).toEqual([]);
  }

  const cases = [
    { phase: 'snapshot:before-manifest', flags: ['--strategy', 'clone'], fails: false, state: /while taking snapshot \S+: the database is unchanged/ },
    { phase: 'snapshot:before-manifest', flags: ['--strategy', 'dump'], fails: false, state: /while taking snapshot \S+: the database is unchanged/ },
    { phase: 'deploy:after-migrate', flags: [], fails: false, state: /while psql .* ran: the database may be half-migrated/ },
    { phase: 'deploy:after-checks', flags: [], fails: false, state: /during its checks: the database holds the unchecked result/ },
    { phase: 'restore:after-load', flags: ['--strategy', 'dump'], fails: true, state: /while rolling back \(loading snapshot \S+ into "crash_\w+__lifeboat_restoring_\w+"\)/ },
    { phase: 'swap:after-disallow', flags: [], fails: true, state: /in the middle of swapping .*: it may refuse every connection/ },
    { phase: 'swap:after-rename', flags: [], fails: true, state: /in the middle of swapping/ },
  ];

  for (const c of cases) {
    it(`killed at ${c.phase}${c.flags.length ? ` (${c.flags.join(' ')})` : ''}: status names it, recover brings back the database as it was, the next deploy runs`, async () => {
      const { db, project, file, run, cli, state } = await setUp();
      const before = await state();
      const migration = await file(
        'm.sql',
        `alter table customers add column email text;
         update orders set total = 0;
         create table audit (id int);${c.fails ? '\n         select 1 / 0;' : ''}`,
      );
      const killed = await run(c.flags, migration, { LIFEBOAT_FAILPOINT: c.phase });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      if (c.phase === 'swap:after-disallow') {
        // The state the issue saw: the live database refuses every connection.
        expect((await query(db.url.replace(/\/[^/]+$/, '/postgres'), 'select datallowconn from pg_database where datname = $1', [db.name]))[0]).toEqual({ datallowconn: false });
      }

      const status = await cli(['status']);
      expect(status.exitCode, status.stderr).toBe(29);
      expect(status.stdout).toMatch(c.state);
      expect(status.stdout).toMatch(/`lifeboat recover` will /);
      const [record] = json(await cli(['status', '--json'])).interrupted;
      expect(record).toMatchObject({ operation: 'deploy', database: db.name });
      // Every other command that would change the database refuses, naming the one command that resolves it.
      const refused = await run([], ['true']);
      expect(refused.exitCode).toBe(29);
      expect(refused.stderr).toMatch(/was interrupted .*; nothing was changed\.\n\s+→ Run `lifeboat recover` first: it will /);

      // `rollback` after an interrupted deploy goes back to that deploy's own snapshot, as `recover` does.
      const recovered = await cli([c.phase === 'deploy:after-migrate' ? 'rollback' : 'recover', '--yes', '--json']);
      expect(recovered.exitCode, recovered.stderr).toBe(0);
      expect(json(recovered).recovered).toHaveLength(1);
      expect(await state()).toEqual(before);
      await expectNothingLeft(db, project, record.snapshot);
      expect((await cli(['status'])).exitCode).toBe(0);
      expect(json(await cli(['recover', '--yes', '--json'])).recovered).toEqual([]);

      const next = await run([], await file('next.sql', 'alter table customers add column phone text;'));
      expect(next.exitCode, next.stderr).toBe(0);
      expect(json(next).outcome).toBe('applied');
    });
  }

  it('a record left by a Lifeboat on another machine: status cannot judge it; under the lock it is interrupted, and recover acts on it', async () => {
    const { project, file, run, cli, state } = await setUp();
    const before = await state();
    const killed = await run([], await file('m.sql', 'update orders set total = 0;'), { LIFEBOAT_FAILPOINT: 'deploy:after-migrate' });
    expect(killed.signal).toBe('SIGKILL');
    // As if the deploy had run on a CI runner that is gone: its process cannot be looked at from here.
    const operations = join(project, '.lifeboat', 'operations');
    const [name] = await readdir(operations);
    const record = JSON.parse(await readFile(join(operations, name!), 'utf8'));
    record.process.host = 'ci-runner-that-is-gone';
    await writeFile(join(operations, name!), JSON.stringify(record));

    const status = await cli(['status']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/OPEN ELSEWHERE: +a deploy of "crash_\w+" by pid \d+ on ci-runner-that-is-gone/);
    // Holding the database's lock proves nobody runs it: a changing command refuses, recover goes back to its snapshot.
    expect((await run([], ['true'])).exitCode).toBe(29);
    expect((await cli(['recover', '--yes'])).exitCode).toBe(0);
    expect(await state()).toEqual(before);
  });

  it('an interrupted deploy whose snapshot is gone: recover says so, and --dismiss closes the record after the database was put right by hand', async () => {
    const { db, file, run, cli } = await setUp();
    const killed = await run(['--strategy', 'clone'], await file('m.sql', 'update orders set total = 0;'), { LIFEBOAT_FAILPOINT: 'deploy:after-migrate' });
    expect(killed.signal).toBe('SIGKILL');
    const [record] = json(await cli(['status', '--json'])).interrupted;
    await query(db.url.replace(/\/[^/]+$/, '/postgres'), `drop database "lifeboat_snap_${record.snapshot.replace(/-/g, '_')}"`);
    const failed = await cli(['recover', '--yes']);
    expect(failed.exitCode).toBe(13);
    expect(failed.stderr).toMatch(/is gone from the server.*\n.*`lifeboat recover --dismiss --yes`/);
    expect((await cli(['status'])).exitCode).toBe(29);
    const dismissed = await cli(['recover', '--dismiss', '--yes']);
    expect(dismissed.exitCode, dismissed.stderr).toBe(0);
    expect(dismissed.stdout).toMatch(/was left as it is \(dismissed\)/);
    expect((await cli(['status'])).exitCode).toBe(0);
    expect((await run([], await file('next.sql', 'alter table customers add column phone text;'))).exitCode).toBe(0);
    // Nothing on the server was touched by the dismissal: the migration's update is still there.
    expect(await query(db.url, 'select count(*)::int as n from orders where total <> 0')).toEqual([{ n: 0 }]);
  });

  it('the migrate tool of a killed Lifeboat is stopped within seconds: what it would write after its sleep never appears', async () => {
    const { db, project, cli, state } = await setUp();
    const before = await state();
    const started = join(project, 'started');
    const late = join(project, 'late');
    const child = execa(process.execPath, [cliPath, 'run', '--', 'sh', '-c', `touch '${started}'; sleep 2; touch '${late}'`], {
      env: { DATABASE_URL: db.url },
      cwd: project,
      reject: false,
    });
    // The tool runs, and the deploy's record names its process group (written just after the spawn).
    const operations = join(project, '.lifeboat', 'operations');
    let tool: { pid: number } | undefined;
    await waitFor(async () => {
      if (!existsSync(started)) return false;
      // Written atomically: a temp file beside it, then a rename.
      const record = existsSync(operations) ? (await readdir(operations)).find((name) => name.endsWith('.json')) : undefined;
      tool = record ? JSON.parse(await readFile(join(operations, record), 'utf8')).tool : undefined;
      return tool !== undefined;
    });
    expect(tool!.pid).toBeGreaterThan(0);
    child.kill('SIGKILL');
    expect((await child).signal).toBe('SIGKILL');
    // The watchdog stops the tool's whole process group as soon as Lifeboat is gone.
    await waitFor(async () => !alive(tool!.pid), 5_000);
    // Past the end of the sleep the tool would have had: nothing was written.
    await waitFor(async () => false, 2_500).catch(() => {});
    expect(existsSync(late)).toBe(false);

    const status = await cli(['status']);
    expect(status.exitCode).toBe(29);
    expect(status.stdout).toMatch(/was interrupted while sh -c .* ran/);
    expect((await cli(['recover', '--yes'])).exitCode).toBe(0);
    expect(await state()).toEqual(before);
  });
});

describe('a reader that goes away', () => {
  const dbs = databases();

  it('ends the output, never the migration: `lifeboat run -- <tool printing a lot> | head -1`', async () => {
    const db = await dbs.create('pipe');
    const project = await mkdtemp(join(tmpdir(), 'lifeboat-pipe-'));
    const tool = `seq 1 20000; psql -q -v ON_ERROR_STOP=1 -c 'create table ran (id int)'; seq 1 20000`;
    const { stdout } = await execa('bash', ['-c', `'${process.execPath}' '${cliPath}' run -- sh -c "${tool}" | head -1; echo "exit \${PIPESTATUS[0]}"`], {
      env: { ...process.env, DATABASE_URL: db.url, ...pgEnv(db.url) },
      cwd: project,
    });
    expect(stdout.split('\n')).toEqual(['1', 'exit 0']);
    expect(await query(db.url, "select to_regclass('ran') is not null as ok")).toEqual([{ ok: true }]);
  });
});

describe('commands that change the same database wait for each other', () => {
  const dbs = databases();

  it('a restore started during a deploy waits for it, then restores', async () => {
    const db = await dbs.create('conc');
    await query(db.url, `create table t (id int primary key, v text); insert into t select i, 'v' || i from generate_series(1, 100) i;`);
    const project = await mkdtemp(join(tmpdir(), 'lifeboat-conc-'));
    const points = await mkdtemp(join(tmpdir(), 'lifeboat-fp-'));
    const before = { schema: await schemaDump(db.url), data: await dataDigest(db.url) };
    await writeFile(join(project, 'm.sql'), `alter table t add column w text; update t set w = v; create table added (id int);`);
    const deploy = execa(process.execPath, [cliPath, 'run', '--json', '--', 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(project, 'm.sql')], {
      env: { DATABASE_URL: db.url, ...pgEnv(db.url), LIFEBOAT_FAILPOINT: 'deploy:after-migrate=pause', LIFEBOAT_FAILPOINT_DIR: points },
      cwd: project,
      reject: false,
    });
    await waitFor(async () => existsSync(join(points, 'deploy:after-migrate.paused')));
    // The deploy holds the lock with its migration applied and unchecked: a restore must not cut in.
    const restore = execa(process.execPath, [cliPath, 'restore', 'latest', '--yes', '--json'], { env: { DATABASE_URL: db.url }, cwd: project, reject: false });
    let waited = '';
    restore.stderr?.on('data', (chunk: Buffer) => (waited += chunk.toString()));
    await waitFor(async () => /another lifeboat command is changing ".*" \(backend pid \d+, lifeboat deploy\)/.test(waited));
    await writeFile(join(points, 'deploy:after-migrate.resume'), '');
    const [deployed, restored] = [await deploy, await restore];
    expect(deployed.exitCode, String(deployed.stderr)).toBe(0);
    expect(JSON.parse(String(deployed.stdout)).outcome).toBe('applied');
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    // The restore ran after the whole deploy: what it replaced holds the complete migration.
    const replaced = JSON.parse(String(restored.stdout)).replaced as string;
    const replacedUrl = db.url.replace(/\/[^/]+$/, `/${replaced}`);
    expect(await query(replacedUrl, 'select count(w)::int as n from t')).toEqual([{ n: 100 }]);
    expect(await query(replacedUrl, "select to_regclass('added') is not null as ok")).toEqual([{ ok: true }]);
    expect({ schema: await schemaDump(db.url), data: await dataDigest(db.url) }).toEqual(before);
  });

  it('two restores at the same instant both end correctly, one after the other', async () => {
    const db = await dbs.create('conc');
    await query(db.url, `create table t (id int primary key); insert into t select generate_series(1, 100);`);
    const project = await mkdtemp(join(tmpdir(), 'lifeboat-conc-'));
    expect((await lifeboat(['snapshot', '--strategy', 'dump'], { url: db.url, cwd: project })).exitCode).toBe(0);
    const before = await dataDigest(db.url);
    await query(db.url, 'delete from t where id > 10');
    const both = await Promise.all([1, 2].map(() => lifeboat(['restore', 'latest', '--yes', '--json'], { url: db.url, cwd: project })));
    for (const r of both) expect(r.exitCode, r.stderr).toBe(0);
    const replaced = both.map((r) => json(r).replaced as string);
    expect(new Set(replaced).size).toBe(2);
    expect(await dataDigest(db.url)).toEqual(before);
    expect(await databaseNames(`${db.name}__lifeboat_restoring%`)).toEqual([]);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
