import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataDigest, databaseNames, databases, json, lifeboat, pgEnv, query, schemaDump } from './support/db.js';
import { ageKeyPair, writeConfig } from './support/remote.js';

/** A value no archive holds by chance: found in plain text in the store, it leaked. */
const CANARY = 'CANARY-at-rest-41c9d2-plaintext';

describe('encryption.local: dump snapshots encrypted at rest in the local store', () => {
  const dbs = databases();
  let work: string;
  let key: { identity: string; recipient: string };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lifeboat-at-rest-'));
    key = await ageKeyPair();
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function project(name: string, url: string) {
    const dir = join(work, name);
    await mkdir(dir, { recursive: true });
    const remoteDir = join(work, `${name}-remote`);
    await mkdir(remoteDir, { recursive: true });
    await writeConfig(dir, { encryption: { recipients: [key.recipient], local: true }, dump: { compression: 'none' }, remote: { url: `file://${remoteDir}` } });
    await query(
      url,
      `create table customers (id serial primary key, name text not null, note text);
       insert into customers (name, note) select 'customer ' || g, case when g % 5 = 0 then '${CANARY}' end from generate_series(1, 100) g;`,
    );
    const withKey = { LIFEBOAT_AGE_IDENTITY: key.identity };
    const run = (args: string[], env: Record<string, string> = {}) => lifeboat(args, { url, cwd: dir, env: { ...pgEnv(url), ...env } });
    return { dir, remoteDir, withKey, run };
  }

  it('no row in clear on disk; verify with and without the key; restore needs the key, creates nothing without it, and gives the database back; push sends the age file as it is', async () => {
    const db = await dbs.create('atrest');
    const { dir, remoteDir, withKey, run } = await project('restore', db.url);

    const taken = await run(['snapshot', '--json']);
    expect(taken.exitCode, taken.stderr).toBe(0);
    const snapshot = json(taken);
    expect(snapshot.strategy).toBe('dump');
    expect(snapshot.strategyReason).toMatch(/encryption\.local/);
    const folder = join(dir, '.lifeboat', 'snapshots', snapshot.id);
    expect((await readdir(folder)).sort()).toEqual(['data.dump.age', 'manifest.json']);
    const stored = await readFile(join(folder, 'data.dump.age'));
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(stored.includes(CANARY)).toBe(false);
    expect(stored.includes('customers')).toBe(false);
    expect(snapshot.files[0]).toMatchObject({ path: 'data.dump.age', plain: { path: 'data.dump' } });

    // list and verify need no key; verify says what it could not check.
    expect((await run(['list'])).exitCode).toBe(0);
    const checked = await run(['verify', snapshot.id]);
    expect(checked.exitCode, checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/sha256 of 1 file.*archive not read back: it is encrypted/);
    const read = await run(['verify', snapshot.id], withKey);
    expect(read.exitCode, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/decrypted, and the plain sha256 checked; pg_restore .* reads back every byte/);

    const before = { schema: await schemaDump(db.url), data: await dataDigest(db.url) };
    await query(db.url, 'delete from customers where id > 10; alter table customers add column later int');

    // No key, a key of someone else: their exit codes, and nothing made on the server.
    const noKey = await run(['restore', snapshot.id, '--yes']);
    expect(noKey.exitCode, noKey.stderr).toBe(36);
    const wrongKey = await run(['restore', snapshot.id, '--yes'], { LIFEBOAT_AGE_IDENTITY: (await ageKeyPair()).identity });
    expect(wrongKey.exitCode, wrongKey.stderr).toBe(35);
    expect(await databaseNames(`${db.name}\\_\\_lifeboat%`)).toEqual([]);

    const restored = await run(['restore', snapshot.id, '--yes'], withKey);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect({ schema: await schemaDump(db.url), data: await dataDigest(db.url) }).toEqual(before);
    // The decrypted copy is gone once the restore is done.
    expect(await readdir(join(dir, '.lifeboat', 'decrypted'))).toEqual([]);

    // Pushed, the age file goes as it is (not encrypted twice), and the remote copy reads back like any other.
    const pushed = await run(['push', snapshot.id]);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const remoteFile = await readFile(join(remoteDir, 'snapshots', snapshot.id, 'data.dump.age'));
    expect(remoteFile.equals(stored)).toBe(true);
    const deep = await run(['verify', '--remote', snapshot.id, '--deep'], withKey);
    expect(deep.exitCode, deep.stderr).toBe(0);

    // A clone cannot be encrypted: asked for, it is refused.
    const clone = await run(['snapshot', '--strategy', 'clone']);
    expect(clone.exitCode, clone.stderr).toBe(18);
    expect(clone.stderr).toMatch(/encryption\.local is on/);
  });

  it('a deploy needs the key to start, and a failed one rolls back from the encrypted snapshot', async () => {
    const db = await dbs.create('atrest');
    const { dir, withKey, run } = await project('deploy', db.url);
    const before = { schema: await schemaDump(db.url), data: await dataDigest(db.url) };
    const file = join(dir, 'migration.sql');
    await writeFile(file, 'alter table customers add column email text;\ninsert into customers (name) values (1/0);\n');
    const migrate = ['run', '--json', '--', 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file];

    const noKey = await run(migrate);
    expect(noKey.exitCode, noKey.stderr).toBe(36);
    expect(noKey.stderr).toMatch(/deploy did not start/);
    expect((await query(db.url, "select 1 from information_schema.columns where column_name = 'email'")).length).toBe(0);

    const failed = await run(migrate, withKey);
    expect(json(failed).outcome, failed.stderr).toBe('migration-failed-rolled-back');
    const { snapshot } = json(failed);
    expect(snapshot.strategy).toBe('dump');
    expect(await readdir(join(dir, '.lifeboat', 'snapshots', snapshot.id))).toContain('data.dump.age');
    expect({ schema: await schemaDump(db.url), data: await dataDigest(db.url) }).toEqual(before);
  });
});
