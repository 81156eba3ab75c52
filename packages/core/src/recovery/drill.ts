import { invalidIndexesCheck, notValidConstraintsCheck, sequencesCheck } from '../checks/builtin.js';
import type { CheckResult } from '../checks/result.js';
import { connectMaintenance, withClient } from '../db/connect.js';
import { dropDatabase } from '../db/databases.js';
import { invalidIndexes, notValidConstraints } from '../db/introspect.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { type RestoreResult, restoreSnapshot } from '../restore/restore.js';
import { appendJournalAfterChange } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import type { Store } from '../store/store.js';
import type { ProgressFn } from '../progress.js';
import { beginIntent } from '../store/intent.js';
import { failpoint } from '../failpoint.js';

export interface DrillResult {
  snapshot: string;
  ok: boolean;
  /** Why it failed, in one line. */
  error?: string;
  errorCode?: string;
  /** The scratch database, when kept with --keep. */
  kept?: string;
  /** Seconds until the snapshot was restored and verified: what the RTO is measured against. */
  restoreSeconds?: number;
  phases: { restore?: RestoreResult['phases']; checksMs?: number; dropMs?: number };
  checks: CheckResult[];
  /** A drill from the off-site copy: the remote, and the download (part of restoreSeconds). */
  remote?: string;
  fetchMs?: number;
}

/**
 * A restore drill: the snapshot restored into a scratch database beside the live one
 * (never touching it), verified against its manifest (schema fingerprint, row counts),
 * checked, timed, dropped, and recorded in the journal.
 */
export async function drill(options: {
  target: DatabaseTarget;
  store: Store;
  manifest: Manifest;
  keep?: boolean;
  onProgress?: ProgressFn;
  /** Where the snapshot's files are when not in `store`: a copy fetched from the remote (`remote/fetch.ts`). */
  fetched?: { store: Store; remote: string; fetchMs: number };
}): Promise<DrillResult> {
  const { target, manifest } = options;
  const scratch = `lifeboat_drill_${manifest.id.replace(/-/g, '_')}_${Date.now().toString(36)}`;
  const result: DrillResult = { snapshot: manifest.id, ok: false, phases: {}, checks: [], ...(options.fetched ? { remote: options.fetched.remote, fetchMs: options.fetched.fetchMs } : {}) };
  let restored = false;
  try {
    await withRestoredScratch({ ...options, operation: 'drill', scratch, phases: result.phases }, async (restore) => {
      restored = true;
      result.phases.restore = restore.phases;
      // From the remote, the download is part of the time to recover.
      result.restoreSeconds = (restore.durationMs + (options.fetched?.fetchMs ?? 0)) / 1000;
      const checksStart = Date.now();
      // The restore already compared the schema fingerprint and every row count with the manifest.
      result.checks = await withClient(target, scratch, async (client) => {
        const state = { ...manifest, invalidIndexes: await invalidIndexes(client), notValidConstraints: await notValidConstraints(client) };
        return [invalidIndexesCheck(manifest, state), notValidConstraintsCheck(manifest, state), await sequencesCheck(client)];
      });
      result.phases.checksMs = Date.now() - checksStart;
      const failed = result.checks.filter((c) => !c.ok);
      result.ok = failed.length === 0;
      if (!result.ok) result.error = failed.flatMap((c) => c.problems).join('; ');
    });
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    result.errorCode = error instanceof LifeboatError ? error.code : 'INTERNAL';
  }
  if (restored && options.keep) result.kept = scratch;
  await appendJournalAfterChange(options.store, { event: 'drill', database: target.database, ...result });
  return result;
}

/**
 * A snapshot restored into the scratch database `scratch` beside the live one (never
 * touching it), `fn` run on it, then dropped (unless `keep`): what a drill and
 * `lifeboat rehearse` share. The scratch database is recorded in an intent record of
 * `operation`: a process killed half-way leaves it for `lifeboat recover` to drop.
 */
export async function withRestoredScratch<T>(
  options: {
    target: DatabaseTarget;
    store: Store;
    manifest: Manifest;
    operation: 'drill' | 'rehearsal';
    scratch: string;
    keep?: boolean | undefined;
    onProgress?: ProgressFn | undefined;
    signal?: AbortSignal | undefined;
    /** Where the snapshot's files are when not in `store`: a copy fetched from the remote. */
    fetched?: { store: Store } | undefined;
    /** Filled in with the drop's time. */
    phases?: { dropMs?: number } | undefined;
  },
  fn: (restore: RestoreResult) => Promise<T>,
): Promise<T> {
  const { target, store, manifest, scratch } = options;
  let restored = false;
  const intent = await beginIntent(store, target, { operation: options.operation, snapshot: manifest.id });
  try {
    const restore = await restoreSnapshot({
      target,
      store: options.fetched?.store ?? store,
      manifest,
      to: scratch,
      intent,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    restored = true;
    await intent.update({ phase: 'restoring', staging: scratch });
    await failpoint(`${options.operation}:after-create`);
    return await fn(restore);
  } finally {
    if (restored && !options.keep) {
      const dropStart = Date.now();
      const maintenance = await connectMaintenance(target);
      try {
        await dropDatabase(maintenance, scratch);
      } finally {
        await maintenance.end().catch(() => {});
      }
      if (options.phases) options.phases.dropMs = Date.now() - dropStart;
    }
    await intent.close();
  }
}
