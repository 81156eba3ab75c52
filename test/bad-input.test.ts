import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedServer, freePort, startEmbedded } from '../dev/embedded-postgres.js';
import { adminUrl, dataDigest, databaseNames, databases, json, lifeboat, pgEnv, query, urlFor } from './support/db.js';

const newStore = () => mkdtemp(join(tmpdir(), 'lifeboat-store-'));

/** Every bad input: one clear line (plus a hint), its own exit code, and nothing changed. */
function expectCleanError(result: { exitCode: number; stderr: string }, exitCode: number, message: RegExp) {
  expect(result.exitCode, result.stderr).toBe(exitCode);
  const lines = result.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^lifeboat: /);
  expect(lines[0]).toMatch(message);
  expect(lines.length).toBeLessThanOrEqual(3);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
}

describe('bad input gets a clear error, a distinct exit code, and changes nothing', () => {
  const dbs = databases();
  let shop: { name: string; url: string };

  beforeAll(async () => {
    shop = await dbs.create('bad');
    await query(shop.url, `create table items (id serial primary key, name text); insert into items (name) select 'item ' || i from generate_series(1, 100) i;`);
  });

  it('a malformed URL', async () => {
    const store = await newStore();
    const result = await lifeboat(['snapshot', '--store', store], { url: 'postgres//oops' });
    expectCleanError(result, 4, /not a valid URL/);
    expect(await readdir(store)).toEqual([]);
  });

  it('a URL for another kind of database', async () => {
    const result = await lifeboat(['snapshot', '--store', await newStore()], { url: 'mysql://root@localhost/db' });
    expectCleanError(result, 4, /mysql:/);
  });

  it('no URL at all', async () => {
    const result = await lifeboat(['snapshot', '--store', await newStore()], { env: { DATABASE_URL: undefined } });
    expectCleanError(result, 4, /No database URL/);
  });

  it('an unreachable server', async () => {
    const port = await freePort();
    const store = await newStore();
    const result = await lifeboat(['snapshot', '--store', store], { url: `postgres://postgres:pw@127.0.0.1:${port}/db` });
    expectCleanError(result, 5, new RegExp(`Cannot reach PostgreSQL at 127.0.0.1:${port}`));
    expect(await readdir(store)).toEqual([]);
  });

  it('a wrong password', async () => {
    const wrong = new URL(shop.url);
    wrong.password = 'definitely-wrong';
    const probe = new pg.Client({ connectionString: wrong.toString() });
    const accepted = await probe.connect().then(
      () => true,
      () => false,
    );
    await probe.end().catch(() => {});
    if (accepted) {
      console.warn('wrong-password case skipped: the test server does not check passwords (trust auth)');
      return;
    }
    const store = await newStore();
    const result = await lifeboat(['snapshot', '--store', store], { url: wrong.toString() });
    expectCleanError(result, 6, /rejected user "postgres"/);
    expect(result.stderr).not.toContain('definitely-wrong');
    expect(await readdir(store)).toEqual([]);
  });

  it('a database that does not exist', async () => {
    const store = await newStore();
    const result = await lifeboat(['snapshot', '--store', store], { url: urlFor('no_such_db_here') });
    expectCleanError(result, 7, /Database "no_such_db_here" does not exist/);
    expect(await readdir(store)).toEqual([]);
  });

  it('pg_dump not found', async () => {
    const store = await newStore();
    const emptyBin = await mkdtemp(join(tmpdir(), 'lifeboat-nobin-'));
    const result = await lifeboat(['snapshot', '--strategy', 'dump', '--store', store], {
      url: shop.url,
      env: { LIFEBOAT_PG_BIN_DIR: emptyBin },
    });
    expectCleanError(result, 9, /pg_dump was not found/);
    expect(result.stderr).toMatch(/--strategy clone needs no client tools/);
    expect(await readdir(store)).toEqual([]);
  });

  it('a store folder that cannot be written', async () => {
    const file = join(await newStore(), 'a-file');
    await writeFile(file, 'not a folder');
    const result = await lifeboat(['snapshot', '--strategy', 'dump', '--store', join(file, 'store')], { url: shop.url });
    expectCleanError(result, 11, /cannot be written \(ENOTDIR\)/);
  });

  it('an unknown snapshot id', async () => {
    const store = await newStore();
    for (const args of [
      ['restore', 'nope', '--yes'],
      ['verify', 'nope'],
    ]) {
      const result = await lifeboat([...args, '--store', store], { url: shop.url });
      expectCleanError(result, 12, /No snapshot "nope"/);
    }
  });

  it('an unknown flag or a bad value', async () => {
    expectCleanError(await lifeboat(['snapshot', '--strategy', 'copy']), 2, /strategy/);
    expectCleanError(await lifeboat(['snapshot', '--lable', 'x']), 2, /unknown option '--lable'/);
    expectCleanError(await lifeboat(['prune', '--keep', 'two']), 2, /--keep/);
  });

  it('a destructive command without a TTY and without --yes', async () => {
    const store = await newStore();
    const taken = await lifeboat(['snapshot', '--strategy', 'dump', '--store', store, '--json'], { url: shop.url });
    expect(taken.exitCode, taken.stderr).toBe(0);
    const before = await dataDigest(shop.url);
    await query(shop.url, 'delete from items where id > 10');
    const after = await dataDigest(shop.url);
    const result = await lifeboat(['restore', json(taken).id, '--store', store], { url: shop.url });
    expectCleanError(result, 3, /Not confirmed: replace database/);
    expect(await dataDigest(shop.url)).toEqual(after);
    expect(after).not.toEqual(before);
  });

  it('a corrupted snapshot: verify fails, restore refuses, no half-restored database remains', async () => {
    const store = await newStore();
    const taken = await lifeboat(['snapshot', '--strategy', 'dump', '--store', store, '--json'], { url: shop.url });
    expect(taken.exitCode, taken.stderr).toBe(0);
    const { id } = json(taken);
    const file = join(store, 'snapshots', id, 'data.dump');
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await writeFile(file, bytes);
    const live = await dataDigest(shop.url);

    const verified = await lifeboat(['verify', id, '--store', store, '--json'], { url: shop.url });
    expect(verified.exitCode).toBe(13);
    expect(json(verified).results[0].problems).toEqual(['data.dump does not match its sha256']);

    const restored = await lifeboat(['restore', id, '--yes', '--store', store], { url: shop.url });
    expectCleanError(restored, 13, /failed verification: data\.dump does not match its sha256/);
    const copy = await lifeboat(['restore', id, '--to', `${shop.name}_copy`, '--store', store], { url: shop.url });
    expectCleanError(copy, 13, /failed verification/);

    expect(await dataDigest(shop.url)).toEqual(live);
    expect(await databaseNames(`${shop.name}\\_\\_%`)).toEqual([]);
    expect(await databaseNames(`${shop.name}_copy`)).toEqual([]);
  });

  it('a truncated archive with a matching manifest is caught by pg_restore --list', async () => {
    const store = await newStore();
    const taken = await lifeboat(['snapshot', '--strategy', 'dump', '--store', store, '--json'], { url: shop.url });
    const manifest = json(taken);
    const dir = join(store, 'snapshots', manifest.id);
    // Someone "repairs" the checksum of a damaged file: the archive itself must still be read.
    const { createHash } = await import('node:crypto');
    const damaged = Buffer.from('PGDMP garbage');
    await writeFile(join(dir, 'data.dump'), damaged);
    manifest.files[0] = { path: 'data.dump', bytes: damaged.length, sha256: createHash('sha256').update(damaged).digest('hex') };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const verified = await lifeboat(['verify', manifest.id, '--store', store], { url: shop.url });
    expect(verified.exitCode).toBe(13);
    expect(verified.stdout).toMatch(/FAILED .*pg_restore failed/);
  });

  it('clone while another session is connected: an error, or under auto a dump that says why', async () => {
    const app = new pg.Client({ connectionString: shop.url });
    await app.connect();
    try {
      const store = await newStore();
      const clone = await lifeboat(['snapshot', '--strategy', 'clone', '--store', store], { url: shop.url });
      expectCleanError(clone, 15, /1 other session\(s\) are connected/);
      expect(existsSync(join(store, 'snapshots')) ? await readdir(join(store, 'snapshots')) : []).toEqual([]);

      const auto = await lifeboat(['snapshot', '--store', store, '--json'], { url: shop.url });
      expect(auto.exitCode, auto.stderr).toBe(0);
      expect(auto.stderr).toMatch(/strategy: dump \(auto chose dump: 1 other session\(s\) are connected/);
      const manifest = json(auto);
      expect(manifest.strategy).toBe('dump');
      expect(manifest.strategyReason).toMatch(/other session/);
    } finally {
      await app.end();
    }
  });
});

describe('pg_dump older than the server (embedded PostgreSQL 17, client tools 15)', () => {
  let server: EmbeddedServer | undefined;
  let url: string;

  beforeAll(async () => {
    server = await startEmbedded('embedded-postgres-17');
    url = server.url('app');
    await query(server.url(), 'create database app');
    await query(url, `create table t (id int primary key); insert into t select generate_series(1, 50);`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is refused before any file is written, naming both versions and what to install', async () => {
    const store = join(await newStore(), 'store');
    const result = await lifeboat(['snapshot', '--strategy', 'dump', '--store', store], { url });
    expectCleanError(result, 10, /pg_dump 1[0-6]\.\d+ .* is older than the server \(PostgreSQL 17\.\d+\); pg_dump must be version 17 or newer/);
    expect(result.stderr).toMatch(/postgresql-client-17/);
    expect(existsSync(store)).toBe(false);
  });

  it('clone needs no client tools, and auto picks it', async () => {
    const store = await newStore();
    const result = await lifeboat(['snapshot', '--store', store, '--json'], { url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(json(result).strategy).toBe('clone');
    expect(json(result).server.major).toBe(17);
  });

  // This server runs nothing else, so "no transaction committed while the tool ran" is this test's alone to decide.
  it('a migrate tool that fails before it changes anything: reported as such, exit 31, no restore and no replaced database', async () => {
    const project = await newStore();
    const before = await dataDigest(url);
    const result = await lifeboat(['run', '--json', '--', 'sh', '-c', 'echo "Error: could not start the schema engine" >&2; exit 1'], { url, cwd: project });
    expect(result.exitCode, result.stderr).toBe(31);
    const report = json(result);
    expect(report.outcome).toBe('migration-failed-unchanged');
    expect(report.restore).toBeUndefined();
    expect(result.stderr).toMatch(/no transaction committed on the server while it ran: the database is unchanged/);
    expect(await databaseNames('app__lifeboat_%', server!.url())).toEqual([]);
    expect(await dataDigest(url)).toEqual(before);
    // A tool that did write before failing is still rolled back.
    const wrote = await lifeboat(['run', '--json', '--', 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'delete from t where id > 25', '-c', 'select 1 / 0'], { url, cwd: project, env: pgEnv(url) });
    expect(wrote.exitCode, wrote.stderr).toBe(20);
    expect(json(wrote).outcome).toBe('migration-failed-rolled-back');
    expect(await dataDigest(url)).toEqual(before);
  });
});

// The admin URL is only used to make sure the harness is up before the suite runs.
it('the test server answers', async () => {
  expect((await query(adminUrl(), 'select 1 as one'))[0]).toEqual({ one: 1 });
});
