import { stat } from 'node:fs/promises';
import { devNull } from 'node:os';
import { join } from 'node:path';
import { loadKeys } from '../crypto/age.js';
import { connectMaintenance } from '../db/connect.js';
import { databaseExists } from '../db/databases.js';
import { compareStates } from '../db/introspect.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { findPgTool } from '../pg-tools/find.js';
import { runPgTool, toolFailure } from '../pg-tools/run.js';
import { sha256File } from '../store/files.js';
import { appendJournal } from '../store/journal.js';
import { checkManifestFile } from '../store/manifest-checksum.js';
import { encryptedAtRest, type Manifest } from '../store/manifest.js';
import { snapshotDir, type Store } from '../store/store.js';
import { readSealedState } from '../strategies/clone.js';
import { decryptArchive } from './decrypted.js';
import { DUMP_DIR, DUMP_FILE } from '../strategies/dump.js';

export interface VerifyResult {
  id: string;
  ok: boolean;
  /** What was checked, in words. */
  checks: string[];
  /** What failed; empty when ok. */
  problems: string[];
}

/**
 * The manifest against its checksum and the journal's record of it; for a dump, the
 * sha256 of every file and every byte of the archive read back, decompressed as a
 * restore would; for a clone, its state against the manifest. With `readArchive: false`
 * (a restore, which reads the data itself next) only the cheap part: the manifest and
 * a dump's sha256s.
 */
export async function verifySnapshot(store: Store, manifest: Manifest, target?: DatabaseTarget, options: { readArchive?: boolean } = {}): Promise<VerifyResult> {
  const result: VerifyResult = { id: manifest.id, ok: true, checks: [], problems: [] };
  let readFully = options.readArchive !== false;
  const dir = snapshotDir(store, manifest.id);
  const manifestFile = await checkManifestFile(store, dir, manifest.id);
  result.checks.push(...manifestFile.checks);
  result.problems.push(...manifestFile.problems);
  // A scoped snapshot is a dump archive too (the schema, and the data of its tables).
  if (manifest.strategy !== 'clone') {
    const fileProblems: string[] = [];
    for (const file of manifest.files) {
      const path = join(dir, file.path);
      const info = await stat(path).catch(() => undefined);
      if (!info) fileProblems.push(`${file.path} is missing`);
      else if (info.size !== file.bytes) fileProblems.push(`${file.path} is ${info.size} bytes, the manifest says ${file.bytes}`);
      else if ((await sha256File(path)) !== file.sha256) fileProblems.push(`${file.path} does not match its sha256`);
    }
    result.problems.push(...fileProblems);
    result.checks.push(`sha256 of ${manifest.files.length} file(s)`);
    if (fileProblems.length === 0 && options.readArchive !== false) {
      if (!encryptedAtRest(manifest)) await readArchiveBack(manifest, dir, result);
      else if (!(await availableKeys(store))) {
        // Without the key the checksums of the stored bytes are all there is to check: not a full verification.
        readFully = false;
        result.checks.push('archive not read back: it is encrypted at rest and no identity was given (encryption.identityFile or $LIFEBOAT_AGE_IDENTITY)');
      } else {
        const decrypted = await decryptArchive(store, manifest).catch((error: unknown) => {
          if (error instanceof LifeboatError && error.code === 'SNAPSHOT_CORRUPT') result.problems.push(error.message);
          else throw error;
          return undefined;
        });
        if (decrypted) {
          try {
            result.checks.push('decrypted, and the plain sha256 checked');
            await readArchiveBack(manifest, decrypted.dir, result);
          } finally {
            await decrypted.dispose().catch(() => {});
          }
        }
      }
    }
  } else if (options.readArchive !== false) {
    if (!target) {
      throw new LifeboatError('URL_INVALID', `Snapshot ${manifest.id} is a clone on the server; verifying it needs the database URL.`, {
        hint: 'Pass --database-url or set DATABASE_URL.',
      });
    }
    const cloneName = manifest.clone!.database;
    const maintenance = await connectMaintenance(target);
    try {
      if (!(await databaseExists(maintenance, cloneName))) {
        result.problems.push(`the clone database "${cloneName}" no longer exists on the server`);
      } else {
        const state = await readSealedState(maintenance, target, cloneName);
        result.problems.push(...compareStates(manifest, state));
      }
      result.checks.push(`clone database ${cloneName}: schema fingerprint and row counts of ${manifest.tables.length} table(s)`);
    } finally {
      await maintenance.end().catch(() => {});
    }
  }
  result.ok = result.problems.length === 0;
  // Only a full verification makes a snapshot good (status, retention); a restore's checksum pass does not.
  if (readFully || (options.readArchive !== false && !result.ok)) {
    await appendJournal(store, { event: 'verify', snapshot: manifest.id, ok: result.ok, problems: result.problems }).catch(() => {});
  }
  return result;
}

/** The keys to read an encrypted snapshot back, or none: an identity file that is not there is no key here, not an error. */
async function availableKeys(store: Store) {
  try {
    return await loadKeys(store.encryption);
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'KEY_MISSING') return undefined;
    throw error;
  }
}

/**
 * `pg_restore --file=/dev/null`: every data block read and decompressed, as a restore
 * would, where `--list` reads only the table of contents. Damage is found where the
 * format can tell: gzip data carries a checksum; lz4, zstd and uncompressed data only
 * fail when the damage breaks their structure (the sha256 above covers the rest).
 */
async function readArchiveBack(manifest: Manifest, dir: string, result: VerifyResult): Promise<void> {
  const archiveMajor = Number(manifest.dump?.toolVersion.split('.')[0] ?? manifest.server.major);
  const tool = await findPgTool('pg_restore', archiveMajor, manifest.dump?.toolVersion ?? manifest.server.version);
  const name = manifest.dump?.format === 'directory' ? DUMP_DIR : DUMP_FILE;
  const { process: child, errors } = await runPgTool(tool, [`--file=${devNull}`, join(dir, name)], { env: {} });
  const read = await child;
  if (read.exitCode !== 0) result.problems.push(`${name} cannot be read back: ${toolFailure('SNAPSHOT_CORRUPT', tool, read.exitCode, errors, '').message}`);
  result.checks.push(`${tool.name} ${tool.version} reads back every byte of the archive`);
}

export function corruptError(result: VerifyResult): LifeboatError {
  return new LifeboatError('SNAPSHOT_CORRUPT', `Snapshot ${result.id} failed verification: ${result.problems.join('; ')}.`, {
    hint: 'Do not restore it; pick another snapshot with `lifeboat list`.',
  });
}
