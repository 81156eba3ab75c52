import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { loadKeys, requireKeys } from '../crypto/age.js';
import { connectMaintenance, withClient } from '../db/connect.js';
import { canCreateDatabases, copyDatabase, createEmptyLike, databaseExists, dropDatabase } from '../db/databases.js';
import { compareStates, readState, serverInfo } from '../db/introspect.js';
import { fitIdentifier, ident } from '../db/sql.js';
import { childEnv, type DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { failpoint } from '../failpoint.js';
import { findPgTool } from '../pg-tools/find.js';
import { runPgTool, toolFailure } from '../pg-tools/run.js';
import { noProgress, type ProgressFn } from '../progress.js';
import { appendJournalAfterChange } from '../store/journal.js';
import { encryptedAtRest, type Manifest } from '../store/manifest.js';
import { snapshotDir, type Store } from '../store/store.js';
import { type DecryptedArchive, decryptArchive } from '../snapshot/decrypted.js';
import { corruptError, verifySnapshot } from '../snapshot/verify.js';
import { DUMP_DIR, DUMP_FILE } from '../strategies/dump.js';
import { refuseScoped } from '../strategies/scoped.js';
import type { Intent } from '../store/intent.js';
import { allowsConnections, swapDatabases } from './swap.js';

export interface RestoreOptions {
  target: DatabaseTarget;
  store: Store;
  manifest: Manifest;
  /** Restore beside the original, into a new database of this name, touching nothing else. */
  to?: string;
  onProgress?: ProgressFn;
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
  /**
   * Called with the verified staging database before it goes live: a last look (what
   * `rollback` would discard) and a last chance to say no. Throwing cancels the restore:
   * the staging database is dropped and nothing else changed.
   */
  beforeSwap?: (staging: string) => Promise<void>;
  /**
   * The operation's intent record (deploy, restore, rollback, recover): the restore moves it
   * to `restoring` (naming the staging database) and `swapping` (naming the kept copy), so a
   * crash at any point leaves what `lifeboat recover` needs to finish or undo it.
   */
  intent?: Intent;
}

export interface RestoreResult {
  snapshot: string;
  /** The database that now holds the snapshot's content. */
  database: string;
  /** The previous live database, kept under this name (in-place restores). */
  replaced?: string;
  strategy: Manifest['strategy'];
  durationMs: number;
  phases: { checkMs: number; loadMs: number; verifyMs: number; swapMs: number };
}

/** pg_restore -j2 of the 100 MB bench database (a 23 MB archive): 1.25 s against 1.59 s; small archives gain nothing. */
const PARALLEL_RESTORE_BYTES = 16e6;

/** Timestamp for database names: 20261124091500. */
function stamp(now = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Restore that cannot make things worse: load into a new staging database, check it
 * against the manifest, and only then make it live (rename swap, old one kept) or
 * name it `to`. On any failure the staging database is dropped and the live one is
 * exactly as it was.
 */
export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const { target, store, manifest } = options;
  const onProgress = options.onProgress ?? noProgress;
  const started = Date.now();
  const finalName = options.to ?? target.database;
  refuseScoped(manifest, options.to === undefined ? 'restored as the whole database' : 'restored into a database of its own (a drill or --to)');

  onProgress({ phase: 'checking the snapshot' });
  // Checksums only (the manifest, a dump's files): the restore reads the data next, and bad data fails into a dropped staging copy.
  const verified = await verifySnapshot(store, manifest, target, { readArchive: false });
  if (!verified.ok) throw corruptError(verified);
  // A missing key stops here, before a connection; a wrong one when the archive is decrypted, before the staging database.
  if (encryptedAtRest(manifest)) requireKeys(await loadKeys(store.encryption), `Snapshot ${manifest.id}`);

  const maintenance = await connectMaintenance(target, finalName);
  let staging = '';
  let stagingCreated = false;
  let decrypted: DecryptedArchive | undefined;
  try {
    // Unique per run, so a restore only ever drops the staging database it created itself.
    staging = fitIdentifier(`${finalName}__lifeboat_restoring_`, `${stamp()}_${randomBytes(3).toString('hex')}`);
    const server = await serverInfo(maintenance);
    if (!(await canCreateDatabases(maintenance))) {
      throw new LifeboatError('DB_PERMISSION', 'Restoring needs CREATEDB (Lifeboat restores into a new database, then swaps), and this role does not have it.', {
        hint: 'Grant CREATEDB to the role, or restore with a role that has it; an in-place restore without it is refused because it could not be undone.',
      });
    }
    const liveExists = await databaseExists(maintenance, target.database);
    if (options.to !== undefined && (await databaseExists(maintenance, options.to))) {
      throw new LifeboatError('TARGET_EXISTS', `Database "${options.to}" already exists.`, {
        hint: 'Choose another name for --to, or drop that database first.',
      });
    }
    if (manifest.strategy === 'clone' && !(await databaseExists(maintenance, manifest.clone!.database))) {
      throw new LifeboatError('SNAPSHOT_CORRUPT', `Snapshot ${manifest.id} is a clone and its database "${manifest.clone!.database}" is gone from the server.`, {
        hint: 'Pick another snapshot with `lifeboat list`.',
      });
    }
    const owner = await usableOwner(maintenance, manifest.database.owner);
    const checkMs = Date.now() - started;

    const loadStart = Date.now();
    await options.intent?.update({ phase: 'restoring', snapshot: manifest.id, staging });
    if (manifest.strategy === 'clone') {
      onProgress({ phase: 'copying the clone' });
      await copyDatabase(maintenance, manifest.clone!.database, staging, owner);
      stagingCreated = true;
    } else {
      const archiveMajor = Number(manifest.dump!.toolVersion.split('.')[0]);
      const tool = await findPgTool('pg_restore', Math.max(server.major, archiveMajor), server.major >= archiveMajor ? server.version : manifest.dump!.toolVersion);
      if (encryptedAtRest(manifest)) {
        onProgress({ phase: 'decrypting the snapshot' });
        decrypted = await decryptArchive(store, manifest);
      }
      await createEmptyLike(maintenance, staging, manifest.database, owner, options.onNotice);
      stagingCreated = true;
      await loadArchive(options, staging, tool, onProgress, decrypted?.dir ?? snapshotDir(store, manifest.id));
      await decrypted?.dispose();
    }
    const loadMs = Date.now() - loadStart;
    await failpoint('restore:after-load');

    const verifyStart = Date.now();
    onProgress({ phase: 'verifying the restored database' });
    const restored = await withClient(target, staging, readState);
    const problems = compareStates(manifest, restored);
    if (problems.length > 0) {
      throw new LifeboatError('RESTORE_FAILED', `The restored database does not match snapshot ${manifest.id}: ${problems.slice(0, 5).join('; ')}.`, {
        hint: 'It was discarded and the live database was not touched; run `lifeboat verify` on the snapshot.',
      });
    }
    const verifyMs = Date.now() - verifyStart;
    await options.beforeSwap?.(staging);
    await failpoint('restore:before-swap');

    const swapStart = Date.now();
    onProgress({ phase: 'swapping in the restored database' });
    let replaced: string | undefined;
    if (options.to === undefined && liveExists) {
      replaced = await unusedName(maintenance, `${target.database}__lifeboat_replaced_`);
      const allowed = await allowsConnections(maintenance, target.database);
      await options.intent?.update({ phase: 'swapping', staging, replaced, allowConnections: allowed });
      await swapDatabases(maintenance, target.database, staging, replaced, allowed);
    } else {
      await maintenance.query(`alter database ${ident(staging)} rename to ${ident(finalName)}`);
    }
    stagingCreated = false;
    const swapMs = Date.now() - swapStart;

    const result: RestoreResult = {
      snapshot: manifest.id,
      database: finalName,
      ...(replaced ? { replaced } : {}),
      strategy: manifest.strategy,
      durationMs: Date.now() - started,
      phases: { checkMs, loadMs, verifyMs, swapMs },
    };
    await appendJournalAfterChange(store, { event: 'restore', ...result }, options.onNotice);
    return result;
  } catch (error) {
    if (stagingCreated) await dropDatabase(maintenance, staging).catch(() => {});
    throw asRestoreError(error);
  } finally {
    await decrypted?.dispose().catch(() => {});
    await maintenance.end().catch(() => {});
  }
}

/** `<prefix><stamp>`, with a counter when a restore in the same second already took it (restores in place hold the database's lock). */
async function unusedName(client: pg.Client, prefix: string): Promise<string> {
  const base = stamp();
  for (let n = 1; ; n++) {
    const name = fitIdentifier(prefix, n === 1 ? base : `${base}_${n}`);
    if (!(await databaseExists(client, name))) return name;
  }
}

/** The original owner, when this role may hand the database to it. */
async function usableOwner(client: pg.Client, owner: string): Promise<string | undefined> {
  const { rows } = await client
    .query<{ ok: boolean }>(`select exists(select 1 from pg_roles where rolname = $1) and pg_has_role(current_user, (select oid from pg_roles where rolname = $1), 'MEMBER') as ok`, [owner])
    .catch(() => ({ rows: [{ ok: false }] }));
  return rows[0]?.ok ? owner : undefined;
}

/** pg_restore from `dir`: the snapshot's folder, or the decrypted copy of an archive encrypted at rest. */
async function loadArchive(options: RestoreOptions, staging: string, tool: Awaited<ReturnType<typeof findPgTool>>, onProgress: ProgressFn, dir: string): Promise<void> {
  const { manifest } = options;
  const directory = manifest.dump!.format === 'directory';
  const archive = join(dir, directory ? DUMP_DIR : DUMP_FILE);
  const tablesTotal = manifest.tables.filter((t) => t.kind !== 'matview').length;
  let tablesDone = 0;
  const args = ['--verbose', '--no-password', '--exit-on-error', `--dbname=${staging}`];
  // Parallel restore: a directory archive always, a custom one (a seekable file) once it is big enough to gain.
  if (directory || manifest.sizeBytes > PARALLEL_RESTORE_BYTES) args.push(`--jobs=${Math.max(1, availableParallelism())}`);
  args.push(archive);
  onProgress({ phase: 'restoring', tablesDone, tablesTotal });
  const { process: child, errors } = await runPgTool(tool, args, {
    env: childEnv(options.target, staging),
    signal: options.signal,
    onLine: (line) => {
      if (/processing data for table/.test(line)) {
        tablesDone++;
        onProgress({ phase: 'restoring', tablesDone, tablesTotal });
      }
    },
  });
  const result = await child;
  if (result.isCanceled) throw new LifeboatError('RESTORE_FAILED', 'The restore was interrupted.', { hint: 'The live database was not touched.' });
  if (result.exitCode !== 0) {
    throw toolFailure('RESTORE_FAILED', tool, result.exitCode, errors, 'The half-restored copy was dropped and the live database was not touched.');
  }
}

function asRestoreError(error: unknown): unknown {
  if (error instanceof LifeboatError) return error;
  const err = error as { code?: string; message?: string };
  if (err.code === '42501') {
    return new LifeboatError('DB_PERMISSION', `The role lacks a privilege the restore needs: ${err.message}.`, {
      hint: 'Restore as the database owner or a role with CREATEDB; the live database was not touched.',
      cause: error,
    });
  }
  return new LifeboatError('RESTORE_FAILED', `The restore failed: ${err.message ?? String(error)}.`, {
    hint: 'Any staging database was dropped and the live database was not touched.',
    cause: error,
  });
}
