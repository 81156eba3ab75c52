import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataDigest, databaseNames, databases, json, lifeboat, query, schemaDump } from './support/db.js';
import { ageKeyPair, remoteContents, s3Remote, writeConfig } from './support/remote.js';

/** A value no archive holds by chance: found in plain text in an object, it leaked. */
const CANARY = 'CANARY-offsite-7f3e9a-plaintext';

async function seed(url: string): Promise<void> {
  await query(
    url,
    `create table customers (id serial primary key, name text not null unique, note text);
     create table orders (id bigint generated always as identity primary key, customer_id int not null references customers, total numeric(10,2), placed_at timestamptz default now());
     create index orders_customer on orders (customer_id);
     insert into customers (name, note) select 'customer ' || g, case when g % 7 = 0 then '${CANARY}' end from generate_series(1, 200) g;
     insert into orders (customer_id, total) select 1 + g % 200, g * 1.25 from generate_series(1, 600) g;`,
  );
}

const oneLine = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('lifeboat: '));

describe('off-site copies', () => {
  const dbs = databases();
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lifeboat-offsite-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('the disaster: a clone snapshot pushed encrypted, the database, its clone and the local store gone; an empty folder with the config and the key gives it back identical', async () => {
    const db = await dbs.create('offsite');
    await seed(db.url);
    const project = join(work, 'project');
    const { identity, recipient } = await ageKeyPair();
    const remote = s3Remote('disaster', { push: 'always' });
    const config = { remote: remote.config, encryption: { recipients: [recipient], identityFile: 'key.txt' }, dump: { compression: 'none' } };
    await mkdir(project, { recursive: true });
    await writeConfig(project, config);
    await writeFile(join(project, 'key.txt'), `# created for the test\n${identity}\n`);

    const taken = await lifeboat(['snapshot', '--strategy', 'clone', '--json'], { url: db.url, cwd: project, env: remote.env });
    expect(taken.exitCode, taken.stderr).toBe(0);
    const snapshot = json(taken);
    expect(snapshot.push).toMatchObject({ ok: true, snapshot: snapshot.id });
    expect(taken.stderr).toContain(`pushed snapshot ${snapshot.id}`);
    const schemaBefore = await schemaDump(db.url);
    const rowsBefore = await dataDigest(db.url);

    // Encrypted: no object holds the canary (the dump is uncompressed, so a clear copy would), and data and manifest are age files.
    const objects = await remoteContents(remote.config, remote.env);
    expect([...objects.keys()].map((k) => k.split('/').pop()).sort()).toEqual(['data.dump.age', 'manifest.json.age', 'objects.json']);
    for (const [key, content] of objects) {
      expect(content.includes(CANARY), key).toBe(false);
      expect(content.includes('customers'), key).toBe(false);
      if (key.endsWith('.age')) expect(content.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    }

    // The disaster: the database, its clone snapshot and the local store are gone.
    await query(db.url.replace(/\/[^/]*$/, '/postgres'), `drop database "${db.name}" with (force)`);
    await query(db.url.replace(/\/[^/]*$/, '/postgres'), `drop database "${snapshot.clone.database}" with (force)`);
    await rm(join(project, '.lifeboat'), { recursive: true, force: true });

    const empty = join(work, 'new-machine');
    await mkdir(empty);
    await cp(join(project, 'lifeboat.config.json'), join(empty, 'lifeboat.config.json'));
    const restore = (extra: string[] = []) => lifeboat(['restore', 'latest', '--from-remote', '--yes', ...extra], { url: db.url, cwd: empty, env: remote.env });

    // No key, then a key of someone else: each its own exit code, and nothing created on the server.
    const noKey = await restore();
    expect(noKey.exitCode, noKey.stderr).toBe(36);
    expect(oneLine(noKey.stderr)).toHaveLength(1);
    await writeFile(join(empty, 'key.txt'), `${(await ageKeyPair()).identity}\n`);
    const wrongKey = await restore();
    expect(wrongKey.exitCode, wrongKey.stderr).toBe(35);
    expect(wrongKey.stderr).toMatch(/does not open snapshot/);
    expect(await databaseNames(`${db.name}%`)).toEqual([]);

    await writeFile(join(empty, 'key.txt'), `${identity}\n`);
    const restored = await restore(['--json']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(json(restored)).toMatchObject({ snapshot: snapshot.id, database: db.name, fromRemote: expect.stringContaining('s3://') });
    expect(await schemaDump(db.url)).toBe(schemaBefore);
    expect(await dataDigest(db.url)).toEqual(rowsBefore);
    expect(await databaseNames(`${db.name}\\_\\_lifeboat%`)).toEqual([]);

    // And the off-site copy drills: downloaded, decrypted, restored beside, checked, timed.
    const drilled = await lifeboat(['drill', '--remote', '--json'], { url: db.url, cwd: empty, env: remote.env });
    expect(drilled.exitCode, drilled.stderr).toBe(0);
    expect(json(drilled)).toMatchObject({ ok: true, snapshot: snapshot.id, remote: expect.stringContaining('s3://') });

    // The runbook says how to do all this on a new machine, with and without Lifeboat.
    expect((await lifeboat(['runbook', '--output', 'RECOVERY.md'], { url: db.url, cwd: empty, env: remote.env })).exitCode).toBe(0);
    const runbook = await readFile(join(empty, 'RECOVERY.md'), 'utf8');
    expect(runbook).toContain('## Restore from the off-site copy on a new machine');
    expect(runbook).toContain('npx lifeboat restore latest --from-remote --yes');
    expect(runbook).toMatch(/aws s3 cp --recursive --endpoint-url http:\/\/127\.0\.0\.1:\d+ s3:\/\/.*\/snapshots\/<id>\//);
    expect(runbook).toContain('age -d -i key.txt -o <id>/data.dump <id>/data.dump.age');
  });

  it('a push killed before its manifest is invisible and the next push completes it; verify --remote finds damage; prune shows and applies both sides (file://)', async () => {
    const db = await dbs.create('offsite');
    await seed(db.url);
    const project = join(work, 'file-project');
    const remoteDir = join(work, 'file-remote');
    await mkdir(project, { recursive: true });
    await mkdir(remoteDir, { recursive: true });
    const remote = { url: `file://${remoteDir}`, retention: { keep: 1 } };
    await writeConfig(project, { remote, dump: { compression: 'none' } });
    const run = (args: string[], env: Record<string, string> = {}) => lifeboat(args, { url: db.url, cwd: project, env });

    const first = json(await run(['snapshot', '--strategy', 'dump', '--json']));
    expect(first.push).toBeUndefined(); // push: 'manual' is the default
    const killed = await run(['push', first.id], { LIFEBOAT_FAILPOINT: 'push:before-manifest' });
    expect(killed.signal).toBe('SIGKILL');
    const half = json(await run(['list', '--remote', '--json']));
    expect(half.snapshots).toEqual([]);
    expect(half.incomplete).toHaveLength(1);

    const pushed = await run(['push', '--json']);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(json(pushed).pushed).toMatchObject([{ snapshot: first.id, skipped: false, encryption: 'none' }]);
    const listed = json(await run(['list', '--remote', '--json']));
    expect(listed.snapshots.map((s: { id: string }) => s.id)).toEqual([first.id]);
    expect(listed.incomplete).toEqual([]);
    expect(listed.snapshots[0]).toMatchObject({ database: db.name, strategy: 'dump', encrypted: false });
    // Without encryption the uncompressed dump holds the canary: what makes the encrypted check above mean something.
    expect((await readFile(join(remoteDir, 'snapshots', first.id, 'data.dump'))).includes(CANARY)).toBe(true);

    expect((await run(['verify', '--remote'])).exitCode).toBe(0);
    const deep = await run(['verify', '--remote', 'latest', '--deep', '--json']);
    expect(deep.exitCode, deep.stderr).toBe(0);
    expect(json(deep).results[0].checks.join(' ')).toMatch(/reads back every byte/);
    await appendFile(join(remoteDir, 'snapshots', first.id, 'data.dump'), 'x');
    const damaged = await run(['verify', '--remote']);
    expect(damaged.exitCode).toBe(13);
    expect(damaged.stdout).toMatch(/FAILED .*data\.dump is \d+ bytes/);
    expect((await run(['push', first.id, '--force'])).exitCode).toBe(0);
    expect((await run(['verify', '--remote'])).exitCode).toBe(0);

    // A second snapshot; remote.retention keeps 1 (the newest), local keeps both (no local rule).
    const second = json(await run(['snapshot', '--strategy', 'dump', '--json']));
    expect((await run(['push', second.id])).exitCode).toBe(0);
    // The newest verified copy is always kept: verify the new one, or the first stays for that.
    expect((await run(['verify', '--remote', second.id])).exitCode).toBe(0);
    const dry = await run(['prune', '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const plan = json(dry);
    expect(plan.expired).toEqual([]);
    expect(plan.remote.expired.map((s: { id: string }) => s.id)).toEqual([first.id]);
    expect(plan.remote.protected).toContainEqual({ id: second.id, why: 'the newest copy on the remote' });
    expect((await run(['prune', '--dry-run'])).stdout).toMatch(/Remote file:\/\/.*keep the newest 1[\s\S]*would remove .* from the remote/);
    expect((await run(['prune', '--yes'])).exitCode).toBe(0);
    expect(json(await run(['list', '--remote', '--json'])).snapshots.map((s: { id: string }) => s.id)).toEqual([second.id]);
    expect(json(await run(['list', '--json'])).snapshots).toHaveLength(2);
  });

  it('an unreachable endpoint, a missing bucket and refused credentials: one line each, their own exit codes; a deploy with push always still succeeds and status reports the missing copy', async () => {
    const db = await dbs.create('offsite');
    await query(db.url, 'create table t (id int primary key); insert into t values (1), (2)');
    const project = join(work, 'errors');
    await mkdir(project, { recursive: true });
    const good = s3Remote('errors');
    const cases: Array<[string, Record<string, unknown>, Record<string, string>, number]> = [
      ['unreachable', { ...good.config, endpoint: 'http://127.0.0.1:1' }, good.env, 32],
      ['missing bucket', { ...good.config, url: 's3://no-such-bucket-lifeboat/x' }, good.env, 33],
      ['refused credentials', good.config, { ...good.env, AWS_ACCESS_KEY_ID: 'AKIAWRONGKEY0000' }, 34],
    ];
    for (const [what, remote, env, exit] of cases) {
      await writeConfig(project, { remote });
      const result = await lifeboat(['list', '--remote'], { url: db.url, cwd: project, env });
      expect(result.exitCode, `${what}: ${result.stderr}`).toBe(exit);
      expect(oneLine(result.stderr), what).toHaveLength(1);
      expect(result.stderr).not.toContain('AKIAWRONGKEY0000');
    }

    await writeConfig(project, { remote: { ...good.config, url: 's3://no-such-bucket-lifeboat/x', push: 'always' }, strategy: 'dump', objectives: { offsite: '1h' } });
    const deployed = await lifeboat(['run', '--', 'true'], { url: db.url, cwd: project, env: good.env });
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    expect(deployed.stderr).toMatch(/was NOT pushed off-site: The bucket of .* does not exist/);
    const status = await lifeboat(['status'], { url: db.url, cwd: project, env: good.env });
    expect(status.exitCode, status.stdout).toBe(27);
    expect(status.stdout).toMatch(/the last push FAILED/);
    expect(status.stdout).toMatch(/Off-site: +MISSED: no snapshot was pushed off-site/);
    expect(status.stderr).toMatch(/objective off-site missed/);
  });
});
