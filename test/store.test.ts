import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../packages/core/src/errors.js';
import { listFiles } from '../packages/core/src/store/files.js';
import { databaseNames, databases, json, lifeboat, query, repoRoot } from './support/db.js';

describe('the store', () => {
  const dbs = databases();
  let db: { name: string; url: string };

  beforeAll(async () => {
    db = await dbs.create('store');
    await query(db.url, `create table t (id int primary key); insert into t select generate_series(1, 500);`);
  });

  const snapshot = async (store: string, args: string[] = []) => {
    const result = await lifeboat(['snapshot', '--strategy', 'dump', '--store', store, '--json', ...args], { url: db.url });
    expect(result.exitCode, result.stderr).toBe(0);
    return json(result);
  };

  it('keeps files private (0600) in private folders (0700), with a manifest that checksums every file', async () => {
    const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
    const manifest = await snapshot(store, ['--label', 'private']);
    expect((await stat(join(store, 'snapshots'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(store, 'snapshots', manifest.id))).mode & 0o777).toBe(0o700);
    for (const file of await listFiles(store)) expect((await stat(join(store, file))).mode & 0o777, file).toBe(0o600);
    const onDisk = JSON.parse(await readFile(join(store, 'snapshots', manifest.id, 'manifest.json'), 'utf8'));
    expect(onDisk).toMatchObject({
      format: 'lifeboat.snapshot/v1',
      label: 'private',
      reason: 'manual',
      strategy: 'dump',
      database: { name: db.name },
      tables: [{ schema: 'public', name: 't', rows: 500, exact: true }],
      files: [{ path: 'data.dump', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }],
      schema: { hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      tool: { name: 'lifeboat' },
    });
    expect(onDisk.server.major).toBeGreaterThanOrEqual(13);
  });

  it('a snapshot without a finished manifest is invisible to list and cleaned by prune', async () => {
    const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
    const kept = await snapshot(store);
    // What an interrupted run leaves: a folder with data and the marker, no manifest.
    const dead = join(store, 'snapshots', '20200101-000000-dead');
    await mkdir(dead, { recursive: true });
    await writeFile(join(dead, 'data.dump'), 'partial');
    await writeFile(join(dead, '.incomplete'), JSON.stringify({ pid: 999_999_999, host: hostname(), startedAt: '2020-01-01T00:00:00Z' }));
    // A run still writing (this very process) must not be touched.
    const live = join(store, 'snapshots', '20200101-000000-live');
    await mkdir(live, { recursive: true });
    await writeFile(join(live, '.incomplete'), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));

    const listed = json(await lifeboat(['list', '--json', '--store', store]));
    expect(listed.snapshots.map((s: { id: string }) => s.id)).toEqual([kept.id]);
    expect(listed.incomplete).toBe(2);

    const verify = await lifeboat(['verify', '20200101-000000-dead', '--store', store]);
    expect(verify.exitCode).toBe(12);

    const pruned = await lifeboat(['prune', '--yes', '--json', '--store', store], { url: db.url });
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(json(pruned).abandoned.map((a: { id: string }) => a.id)).toEqual(['20200101-000000-dead']);
    const after = await listFiles(join(store, 'snapshots'));
    expect(after.some((f) => f.startsWith('20200101-000000-dead'))).toBe(false);
    expect(after.some((f) => f.startsWith('20200101-000000-live'))).toBe(true);
    expect(after).toContain(join(kept.id, 'manifest.json'));
  });

  it('retention: --keep N and --max-age D, with --dry-run first; clone databases go with their snapshots', async () => {
    const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await snapshot(store)).id);
    const clone = await lifeboat(['snapshot', '--strategy', 'clone', '--store', store, '--json'], { url: db.url });
    expect(clone.exitCode, clone.stderr).toBe(0);
    const cloneDb = json(clone).clone.database as string;
    ids.push(json(clone).id);
    // Age the two oldest by rewriting their creation time.
    for (const id of ids.slice(0, 2)) {
      const path = join(store, 'snapshots', id, 'manifest.json');
      const manifest = JSON.parse(await readFile(path, 'utf8'));
      manifest.createdAt = new Date(Date.now() - 10 * 86_400_000).toISOString();
      await writeFile(path, JSON.stringify(manifest));
    }

    const dry = await lifeboat(['prune', '--max-age', '7', '--dry-run', '--json', '--store', store], { url: db.url });
    expect(
      json(dry)
        .expired.map((e: { id: string }) => e.id)
        .sort(),
    ).toEqual(ids.slice(0, 2).sort());
    expect(json(await lifeboat(['list', '--json', '--store', store])).snapshots).toHaveLength(5);

    const refused = await lifeboat(['prune', '--max-age', '7', '--store', store], { url: db.url });
    expect(refused.exitCode).toBe(3);
    expect(json(await lifeboat(['list', '--json', '--store', store])).snapshots).toHaveLength(5);

    expect((await lifeboat(['prune', '--max-age', '7', '--yes', '--store', store], { url: db.url })).exitCode).toBe(0);
    expect(
      json(await lifeboat(['list', '--json', '--store', store]))
        .snapshots.map((s: { id: string }) => s.id)
        .sort(),
    ).toEqual(ids.slice(2).sort());

    // With both limits a snapshot stays if either keeps it; --keep 1 leaves only the newest.
    expect((await lifeboat(['prune', '--keep', '2', '--max-age', '7', '--yes', '--store', store], { url: db.url })).exitCode).toBe(0);
    expect(json(await lifeboat(['list', '--json', '--store', store])).snapshots).toHaveLength(3);
    expect((await lifeboat(['prune', '--keep', '1', '--yes', '--store', store], { url: db.url })).exitCode).toBe(0);
    const left = json(await lifeboat(['list', '--json', '--store', store])).snapshots;
    expect(left.map((s: { id: string }) => s.id)).toEqual([ids[4]]);
    expect(await databaseNames(cloneDb)).toEqual([cloneDb]);

    // Pruning the clone snapshot drops its database on the server.
    await lifeboat(['snapshot', '--strategy', 'dump', '--store', store], { url: db.url });
    expect((await lifeboat(['prune', '--keep', '1', '--yes', '--store', store], { url: db.url })).exitCode).toBe(0);
    expect(await databaseNames(cloneDb)).toEqual([]);
  });

  it('compression: auto picks the fast setting the client has, none is bigger, and lz4 needs pg_dump 16+', async () => {
    const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
    const auto = await snapshot(store);
    const none = await snapshot(store, ['--compress', 'none']);
    const pgDumpMajor = Number(auto.dump.toolVersion.split('.')[0]);
    expect(auto.dump.compression).toBe(pgDumpMajor >= 16 ? '--compress=lz4' : '--compress=1');
    expect(none.sizeBytes).toBeGreaterThan(auto.sizeBytes);
    if (pgDumpMajor < 16) {
      const lz4 = await lifeboat(['snapshot', '--strategy', 'dump', '--compress', 'lz4', '--store', store], { url: db.url });
      expect(lz4.exitCode).toBe(2);
      expect(lz4.stderr).toMatch(/pg_dump 15\.\d+ cannot compress with lz4 \(pg_dump 16 or newer can\)/);
    }
    const bad = await lifeboat(['snapshot', '--compress', 'brotli', '--store', store], { url: db.url });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--compress/);
  });

  it('resolves snapshots by unique prefix and "latest"', async () => {
    const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
    const a = await snapshot(store);
    const latest = await lifeboat(['verify', 'latest', '--store', store, '--json']);
    expect(json(latest).results[0].id).toBe(a.id);
    const prefix = await lifeboat(['verify', a.id.slice(0, 17), '--store', store, '--json']);
    expect(json(prefix).results[0].id).toBe(a.id);
  });
});

describe('docs match the code', () => {
  it('the README lists every exit code with its number', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    for (const [code, { exit }] of Object.entries(ERROR_CODES)) {
      expect(readme, code).toMatch(new RegExp(`\\|\\s*${exit}\\s*\\|\\s*\`${code}\``));
    }
    const exits = Object.values(ERROR_CODES).map((e) => e.exit);
    expect(new Set(exits).size).toBe(exits.length);
  });
});
