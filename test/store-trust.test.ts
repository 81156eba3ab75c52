import { createHash } from 'node:crypto';
import { existsSync, openSync, closeSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestChecksum } from '../packages/core/src/store/manifest-checksum.js';
import { cloneDatabaseName } from '../packages/core/src/strategies/clone.js';
import { cliPath, dataDigest, databaseNames, databases, json, lifeboat, query } from './support/db.js';

const newStore = () => mkdtemp(join(tmpdir(), 'lifeboat-trust-'));
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A tmpfs smaller than the database's dump; undefined where mounting is not permitted (not root, not Linux). */
async function mountSmallTmpfs(): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-full-'));
  const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { reject: false });
  if (mounted.exitCode === 0) return dir;
  await rm(dir, { recursive: true, force: true });
  return undefined;
}
const fullDisk = await mountSmallTmpfs();

describe('a store that cannot be fooled or emptied by accident', () => {
  const dbs = databases();
  let db: { name: string; url: string };

  beforeAll(async () => {
    db = await dbs.create('trust');
    // About 1 MB of dump: more than the tmpfs holds, and data blocks big enough to damage in the middle.
    await query(db.url, 'create table t (id int primary key, h text); insert into t select g, md5(g::text) from generate_series(1, 30000) g;');
  });
  afterAll(async () => {
    if (fullDisk) {
      await execa('umount', [fullDisk], { reject: false });
      await rm(fullDisk, { recursive: true, force: true });
    }
  });

  // gzip on every pg_dump version: its data carries a checksum, which the archive read-back relies on.
  const snapshot = async (store: string, args: string[] = []) => {
    const result = await lifeboat(['snapshot', '--strategy', 'dump', '--compress', 'gzip:1', '--store', store, '--json', ...args], { url: db.url });
    expect(result.exitCode, result.stderr).toBe(0);
    return json(result);
  };
  const verify = async (store: string, id: string) => {
    const result = await lifeboat(['verify', id, '--store', store, '--json']);
    return { exitCode: result.exitCode, ...(json(result).results[0] as { ok: boolean; checks: string[]; problems: string[] }) };
  };

  it('a dump folder whose manifest.json was removed is reported by list, status and prune, and never pruned', async () => {
    const store = await newStore();
    const kept = await snapshot(store);
    const orphan = await snapshot(store);
    await rm(join(store, 'snapshots', orphan.id, 'manifest.json'));

    const listed = await lifeboat(['list', '--json', '--store', store]);
    expect(json(listed).snapshots.map((s: { id: string }) => s.id)).toEqual([kept.id]);
    expect(json(listed).withoutManifest).toEqual([{ id: orphan.id, bytes: orphan.sizeBytes }]);
    expect(listed.stderr).toContain(`warning: ${orphan.id} (`);
    expect(listed.stderr).toMatch(/is not a snapshot Lifeboat can use: it has no manifest\.json and no \.incomplete marker; prune never removes it/);

    const status = await lifeboat(['status', '--store', store]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`Not a snapshot: +${orphan.id} \\(\\d+(\\.\\d)? [kM]B\\) is not a snapshot Lifeboat can use`));

    const verified = await lifeboat(['verify', '--store', store]);
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(verified.stderr).toContain(`warning: ${orphan.id} (`);

    const dry = await lifeboat(['prune', '--keep', '1', '--dry-run', '--store', store]);
    expect(dry.stdout).toContain(`leave ${orphan.id} (`);
    const pruned = await lifeboat(['prune', '--keep', '1', '--yes', '--json', '--store', store]);
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(json(pruned)).toMatchObject({ expired: [], abandoned: [], withoutManifest: [{ id: orphan.id }] });
    expect(await readdir(join(store, 'snapshots', orphan.id))).toEqual(['data.dump']);
  });

  it('an archive damaged in its compressed data, its sha256 forged into the manifest: verify fails however far the forgery goes', async () => {
    const store = await newStore();
    const taken = await snapshot(store);
    const dir = join(store, 'snapshots', taken.id);
    const archive = await readFile(join(dir, 'data.dump'));
    const middle = Math.floor(archive.length / 2);
    for (let i = middle; i < middle + 16; i++) archive[i]! ^= 0xff;
    await writeFile(join(dir, 'data.dump'), archive);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    manifest.files[0].sha256 = sha256(archive);
    const unreadable = /^data\.dump cannot be read back: pg_restore failed: could not uncompress data: incorrect data check$/;

    // 1. The sha256 edited into the manifest: the manifest's own checksum no longer matches.
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    let result = await verify(store, taken.id);
    expect(result.exitCode).toBe(13);
    expect(result.problems[0]).toBe('manifest.json does not match its own checksum: it was changed after it was written');
    expect(result.problems.at(-1)).toMatch(unreadable);
    // A restore checks the manifest before it reads a byte of the archive, and refuses.
    const restore = await lifeboat(['restore', taken.id, '--to', `${db.name}_copy`, '--store', store], { url: db.url });
    expect(restore.exitCode).toBe(13);
    expect(restore.stderr).toMatch(/failed verification: manifest\.json does not match its own checksum/);
    expect(await databaseNames(`${db.name}_copy`)).toEqual([]);

    // 2. The checksum recomputed too: the journal's record of the manifest catches it.
    manifest.checksum = manifestChecksum(manifest);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    result = await verify(store, taken.id);
    expect(result.exitCode).toBe(13);
    expect(result.problems[0]).toBe('manifest.json is not the one the journal recorded when the snapshot was written: it was changed since');
    expect(result.problems.at(-1)).toMatch(unreadable);

    // 3. The journal forged as well: only reading the archive back finds the damage (gzip's own checksum).
    const journalPath = join(store, 'journal.jsonl');
    const forged = (await readFile(journalPath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .map((e) => (e.event === 'snapshot' ? { ...e, manifestSha256: sha256(JSON.stringify(manifest, null, 2)) } : e));
    await writeFile(journalPath, `${forged.map((e) => JSON.stringify(e)).join('\n')}\n`);
    result = await verify(store, taken.id);
    expect(result.exitCode).toBe(13);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(unreadable);
  });

  it('a manifest whose row count was edited fails verify; one written before checksums is said to be so', async () => {
    const store = await newStore();
    const taken = await snapshot(store);
    const path = join(store, 'snapshots', taken.id, 'manifest.json');
    const original = await readFile(path, 'utf8');
    const edited = JSON.parse(original);
    edited.tables[0].rows += 1;
    await writeFile(path, JSON.stringify(edited, null, 2));
    expect(await verify(store, taken.id)).toMatchObject({
      exitCode: 13,
      problems: ['manifest.json does not match its own checksum: it was changed after it was written', expect.stringMatching(/^manifest\.json is not the one the journal recorded/)],
    });
    edited.checksum = manifestChecksum(edited);
    await writeFile(path, JSON.stringify(edited, null, 2));
    expect(await verify(store, taken.id)).toMatchObject({ exitCode: 13, problems: [expect.stringMatching(/^manifest\.json is not the one the journal recorded/)] });

    // What an older Lifeboat wrote: no checksum in the manifest, no sha256 of it in the journal.
    const { checksum: _checksum, ...old } = JSON.parse(original);
    await writeFile(path, JSON.stringify(old, null, 2));
    const journalPath = join(store, 'journal.jsonl');
    const journal = (await readFile(journalPath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    await writeFile(journalPath, `${journal.map(({ manifestSha256: _sha, ...e }) => JSON.stringify(e)).join('\n')}\n`);
    const result = await verify(store, taken.id);
    expect(result.exitCode).toBe(0);
    expect(result.checks).toContain('manifest.json: no checksum (written by an older Lifeboat)');
  });

  it.skipIf(!fullDisk)(
    'a store that fills up: STORE_FULL (28), nothing half-written kept, the database untouched, a deploy stops before its migration (needs root on Linux to mount a tmpfs; skipped otherwise)',
    async () => {
      const store = join(fullDisk!, 'store');
      const before = await dataDigest(db.url);

      // The dump's stream fills the disk.
      const dumped = await lifeboat(['snapshot', '--strategy', 'dump', '--store', store], { url: db.url });
      expect(dumped.exitCode, dumped.stderr).toBe(28);
      expect(dumped.stderr).toMatch(
        new RegExp(
          `is full; the snapshot of "${db.name}" did not fit \\(it needed more than the [\\d.]+ kB it had written; the database is [\\d.]+ MB on the server; [\\d.]+ kB is free there now that the partial snapshot is removed\\)`,
        ),
      );
      expect(dumped.stderr).not.toMatch(/Unexpected error|ENOSPC|\n\s+at /);
      expect(await readdir(join(store, 'snapshots'))).toEqual([]);

      // A deploy: the snapshot does not fit, so the migration never runs.
      const deploy = await lifeboat(['run', '--strategy', 'dump', '--store', store, '--', 'psql', '-c', 'create table ran ()', db.url], { url: db.url });
      expect(deploy.exitCode, deploy.stderr).toBe(28);
      expect(await query(db.url, "select 1 from pg_tables where tablename = 'ran'")).toEqual([]);
      expect(await readdir(join(store, 'snapshots'))).toEqual([]);

      // The journal append, the store's last write: the disk is filled while the snapshot (a clone) pauses there.
      const failpoints = await newStore();
      const child = execa(process.execPath, [cliPath, 'snapshot', '--strategy', 'clone', '--store', store], {
        env: { DATABASE_URL: db.url, LIFEBOAT_FAILPOINT: 'snapshot:before-journal=pause', LIFEBOAT_FAILPOINT_DIR: failpoints },
        reject: false,
      });
      await waitFor(() => existsSync(join(failpoints, 'snapshot:before-journal.paused')));
      const [id] = await readdir(join(store, 'snapshots'));
      expect(await readdir(join(store, 'snapshots', id!))).toContain('manifest.json');
      fillUp(join(fullDisk!, 'filler'));
      await writeFile(join(failpoints, 'snapshot:before-journal.resume'), '');
      const cloned = await child;
      expect(cloned.exitCode, String(cloned.stderr)).toBe(28);
      expect(String(cloned.stderr)).toMatch(/is full; the snapshot of .* did not fit/);
      expect(await readdir(join(store, 'snapshots'))).toEqual([]);
      expect(await databaseNames(cloneDatabaseName(id!))).toEqual([]);
      expect(existsSync(join(store, 'journal.jsonl')) ? await readFile(join(store, 'journal.jsonl'), 'utf8') : '').toBe('');

      expect(await dataDigest(db.url)).toEqual(before);
    },
  );

  it('a closed stdout ends the command quietly: `lifeboat status | head -1` exits 0 with no stack trace', async () => {
    const store = await newStore();
    const dir = await newStore();
    const status = `'${process.execPath}' '${cliPath}' status --store '${store}'`;
    // As a person types it: head reads one line and leaves.
    const head = await execa('sh', ['-c', `{ ${status} 2>err; echo $? >code; } | head -1`], { cwd: dir });
    expect(head.stdout).toMatch(/^Database: +\(all in the store\)$/);
    // And without a race: the reading end is closed before Lifeboat writes its first line.
    await execa('sh', ['-c', `mkfifo go && { read x <go; ${status} 2>err-closed; echo $? >code-closed; } | { exec <&-; echo >go; }`], { cwd: dir });
    for (const [code, err] of [
      ['code', 'err'],
      ['code-closed', 'err-closed'],
    ]) {
      expect((await readFile(join(dir, code!), 'utf8')).trim()).toBe('0');
      expect(await readFile(join(dir, err!), 'utf8')).toBe('');
    }
  });
});

/** Write until the file system says it is full. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
