import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connectMaintenance } from '../db/connect.js';
import { databaseExists } from '../db/databases.js';
import { compareStates } from '../db/introspect.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { findPgTool } from '../pg-tools/find.js';
import { runPgTool, toolFailure } from '../pg-tools/run.js';
import { sha256File } from '../store/files.js';
import { appendJournal } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import { snapshotDir, type Store } from '../store/store.js';
import { readSealedState } from '../strategies/clone.js';
import { DUMP_DIR, DUMP_FILE } from '../strategies/dump.js';

export interface VerifyResult {
  id: string;
  ok: boolean;
  /** What was checked, in words. */
  checks: string[];
  /** What failed; empty when ok. */
  problems: string[];
}

/** Checksums of every file and a readable archive (dump); for a clone, its state against the manifest. */
export async function verifySnapshot(store: Store, manifest: Manifest, target?: DatabaseTarget, options: { readArchive?: boolean } = {}): Promise<VerifyResult> {
  const result: VerifyResult = { id: manifest.id, ok: true, checks: [], problems: [] };
  const dir = snapshotDir(store, manifest.id);
  if (manifest.strategy === 'dump') {
    for (const file of manifest.files) {
      const path = join(dir, file.path);
      const info = await stat(path).catch(() => undefined);
      if (!info) result.problems.push(`${file.path} is missing`);
      else if (info.size !== file.bytes) result.problems.push(`${file.path} is ${info.size} bytes, the manifest says ${file.bytes}`);
      else if ((await sha256File(path)) !== file.sha256) result.problems.push(`${file.path} does not match its sha256`);
    }
    result.checks.push(`sha256 of ${manifest.files.length} file(s)`);
    if (result.problems.length === 0 && options.readArchive !== false) {
      const archiveMajor = Number(manifest.dump?.toolVersion.split('.')[0] ?? manifest.server.major);
      const tool = await findPgTool('pg_restore', archiveMajor, manifest.dump?.toolVersion ?? manifest.server.version);
      const archive = join(dir, manifest.dump?.format === 'directory' ? DUMP_DIR : DUMP_FILE);
      const { process: child, errors } = await runPgTool(tool, ['--list', archive], { env: {} });
      const listed = await child;
      if (listed.exitCode !== 0) result.problems.push(toolFailure('SNAPSHOT_CORRUPT', tool, listed.exitCode, errors, '').message);
      result.checks.push(`${tool.name} ${tool.version} reads the archive`);
    }
  } else {
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
  if (options.readArchive !== false) {
    await appendJournal(store, { event: 'verify', snapshot: manifest.id, ok: result.ok, problems: result.problems }).catch(() => {});
  }
  return result;
}

export function corruptError(result: VerifyResult): LifeboatError {
  return new LifeboatError('SNAPSHOT_CORRUPT', `Snapshot ${result.id} failed verification: ${result.problems.join('; ')}.`, {
    hint: 'Do not restore it; pick another snapshot with `lifeboat list`.',
  });
}
