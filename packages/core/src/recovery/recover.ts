import type pg from 'pg';
import type { Settings } from '../config/resolve.js';
import { connectMaintenance } from '../db/connect.js';
import { databaseExists, dropDatabase, setAllowConnections } from '../db/databases.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { acquireDatabaseLock } from '../guard/lock.js';
import { stopGroup } from '../process/watchdog.js';
import type { ProgressFn } from '../progress.js';
import { revertInPlace } from '../restore/in-place.js';
import { restoreSnapshot } from '../restore/restore.js';
import { swapDatabases } from '../restore/swap.js';
import { adoptIntent, type Intent, type IntentRecord } from '../store/intent.js';
import { appendJournalAfterChange } from '../store/journal.js';
import { findSnapshot, listStore, removeSnapshot, type Store } from '../store/store.js';
import { type InterruptedOperation, interruptedOperations } from './interrupted.js';

export interface RecoveredOperation {
  intent: string;
  operation: IntentRecord['operation'];
  phase: IntentRecord['phase'];
  deploy?: string;
  /** The state found, and what was done, in words. */
  found: string;
  did: string[];
  /** Where the live database is now: as before the operation (restored / unchanged), or as the finished swap left it; or, dismissed, as whoever put it right by hand left it. */
  outcome: 'restored-to-snapshot' | 'unchanged' | 'swap-finished' | 'cleaned-up' | 'dismissed';
  /** A database the recovery kept aside (the live one a restore replaced). */
  kept?: string;
}

export interface RecoverResult {
  database: string;
  recovered: RecoveredOperation[];
}

export interface RecoverOptions {
  target: DatabaseTarget;
  store: Store;
  settings: Settings;
  /** Shown what will be done; throw to say no (nothing is changed then). */
  confirm: (found: InterruptedOperation[]) => Promise<void>;
  /**
   * Close the records without acting on them: for when recovering is not possible (its
   * snapshot is gone) and the database was put right by hand. Nothing on the server is touched.
   */
  dismiss?: boolean;
  onNotice?: (message: string) => void;
  onProgress?: ProgressFn;
}

/**
 * Finish or undo every interrupted operation on this database, oldest first, under the
 * database's lock: a deploy goes back to its own snapshot, an interrupted swap is
 * finished (its staging copy was verified before the swap began), half-loaded staging
 * and scratch databases and unfinished snapshots are removed, a prune's removals are
 * completed. Each record is adopted first, so a recovery that is itself interrupted is
 * picked up by the next `recover` where it stopped.
 */
export async function recover(options: RecoverOptions): Promise<RecoverResult> {
  const { target, store, settings } = options;
  const notice = options.onNotice ?? (() => {});
  const lock = await acquireDatabaseLock(target, { operation: 'recover', timeoutMs: settings.lockTimeoutMs, onWait: notice });
  try {
    const found = await interruptedOperations(store, target.database, { lockHeld: true });
    const result: RecoverResult = { database: target.database, recovered: [] };
    if (found.length === 0) return result;
    await options.confirm(found);
    for (const interrupted of found) {
      const { record } = interrupted;
      const done: RecoveredOperation = {
        intent: record.id,
        operation: record.operation,
        phase: record.phase,
        ...(record.deploy ? { deploy: record.deploy } : {}),
        found: interrupted.state,
        did: [],
        outcome: 'unchanged',
      };
      const say = (line: string) => {
        done.did.push(line);
        notice(line);
      };
      if (record.tool && interrupted.toolAlive) {
        await stopGroup(record.tool.pid);
        say(`stopped the migrate process group ${record.tool.pid}`);
      }
      const intent = await adoptIntent(store, record);
      if (options.dismiss) {
        say('dismissed: the record is closed and nothing on the server was touched');
        done.outcome = 'dismissed';
      } else {
        await recoverOne(options, intent, done, say);
      }
      await intent.close();
      await appendJournalAfterChange(store, { event: 'recover', database: target.database, ...done }, notice);
      result.recovered.push(done);
    }
    return result;
  } finally {
    await lock.release();
  }
}

async function recoverOne(options: RecoverOptions, intent: Intent, done: RecoveredOperation, say: (line: string) => void): Promise<void> {
  const { target, store } = options;
  const record = intent.record;
  const maintenance = await connectMaintenance(target);
  try {
    if (record.staging && record.phase !== 'swapping' && (await databaseExists(maintenance, record.staging))) {
      await dropDatabase(maintenance, record.staging);
      say(`dropped the unfinished "${record.staging}"`);
    }
    switch (record.phase) {
      case 'started':
        done.outcome = 'unchanged';
        return;
      case 'snapshotting':
        await removeUnfinishedSnapshot(store, maintenance, record.snapshot, say);
        done.outcome = 'unchanged';
        return;
      case 'migrating':
      case 'checking':
        await restoreOwnSnapshot(options, intent, done, say);
        return;
      case 'restoring':
        if (record.operation === 'deploy') await restoreOwnSnapshot(options, intent, done, say);
        else done.outcome = 'cleaned-up';
        return;
      case 'swapping':
        await finishSwap(maintenance, record, done, say);
        return;
      case 'removing':
        for (const name of record.drops ?? []) await dropDatabase(maintenance, name);
        for (const id of record.removes ?? []) await removeSnapshot(store, id);
        say(`finished removing ${record.drops?.length ?? 0} database(s) and ${record.removes?.length ?? 0} snapshot(s)`);
        done.outcome = 'cleaned-up';
        return;
    }
  } finally {
    await maintenance.end().catch(() => {});
  }
}

const DISMISS_HINT = 'Put the database right another way (`lifeboat list`, then restore another snapshot), after closing the record with `lifeboat recover --dismiss --yes`.';

/** A deploy interrupted after its snapshot: back to that snapshot, verified, the half-migrated database kept aside. */
async function restoreOwnSnapshot(options: RecoverOptions, intent: Intent, done: RecoveredOperation, say: (line: string) => void): Promise<void> {
  const id = intent.record.snapshot;
  if (!id) throw new LifeboatError('RESTORE_FAILED', `The interrupted ${intent.record.operation} recorded no snapshot to go back to.`, { hint: DISMISS_HINT });
  const manifest = await findSnapshot(options.store, id).catch((error: unknown) => {
    throw new LifeboatError(
      'SNAPSHOT_NOT_FOUND',
      `The snapshot the interrupted ${intent.record.operation} would go back to, ${id}, cannot be used: ${error instanceof Error ? error.message : String(error)}`,
      { hint: DISMISS_HINT },
    );
  });
  const rethrow = (error: unknown): never => {
    if (!(error instanceof LifeboatError)) throw error;
    throw new LifeboatError(error.code, error.message, { hint: `${error.hint ? `${error.hint} ` : ''}${DISMISS_HINT}`, cause: error });
  };
  const common = {
    target: options.target,
    store: options.store,
    manifest,
    intent,
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  if (manifest.strategy === 'scoped') {
    // A scoped snapshot goes back in place, in one transaction that verifies before it commits.
    await revertInPlace(common).catch(rethrow);
    say(`rolled back in place to scoped snapshot ${manifest.id} in one transaction, verified before it committed (schema fingerprint, rows of ${manifest.scope?.tables.join(', ') || 'no table'})`);
    done.outcome = 'restored-to-snapshot';
    return;
  }
  const restore = await restoreSnapshot(common).catch(rethrow);
  say(`restored snapshot ${manifest.id} and verified it (schema and row counts equal the snapshot's)`);
  if (restore.replaced) say(`the database as the interrupted ${intent.record.operation} left it is kept as "${restore.replaced}"`);
  done.outcome = 'restored-to-snapshot';
  if (restore.replaced) done.kept = restore.replaced;
}

/**
 * The swap's renames commit together or not at all, so exactly one of two states is on
 * the server: before (the staging copy still there) or after (the kept copy there).
 */
async function finishSwap(maintenance: pg.Client, record: IntentRecord, done: RecoveredOperation, say: (line: string) => void): Promise<void> {
  const live = record.database;
  const staging = record.staging!;
  const replaced = record.replaced!;
  const allowed = record.allowConnections ?? true;
  const [hasStaging, hasReplaced] = [await databaseExists(maintenance, staging), await databaseExists(maintenance, replaced)];
  if (hasStaging && !hasReplaced) {
    await swapDatabases(maintenance, live, staging, replaced, allowed);
    say(`finished the swap: "${live}" is now the verified copy of snapshot ${record.snapshot}; the database it replaced is kept as "${replaced}"`);
  } else if (!hasStaging && hasReplaced) {
    await setAllowConnections(maintenance, replaced, allowed);
    say(`the swap had committed; "${replaced}" accepts connections again`);
  } else {
    throw new LifeboatError(
      'RESTORE_FAILED',
      `The interrupted swap of "${live}" left a state recover cannot read: "${staging}" ${hasStaging ? 'and' : 'nor'} "${replaced}" ${hasStaging ? 'both exist' : 'exists'}.`,
      {
        hint: `Look at the databases on the server (\`select datname, datallowconn from pg_database where datname like '${live}%'\`) and rename by hand; the record is in the store's operations/ folder.`,
      },
    );
  }
  if (!(await databaseExists(maintenance, live)))
    throw new LifeboatError('RESTORE_FAILED', `After the swap there is no database "${live}".`, { hint: `Rename "${replaced}" back to "${live}" by hand.` });
  await setAllowConnections(maintenance, live, true);
  done.outcome = record.operation === 'deploy' ? 'restored-to-snapshot' : 'swap-finished';
  done.kept = replaced;
}

/** A snapshot the interrupted operation was writing: its folder (if no manifest was finished) and its clone database. */
async function removeUnfinishedSnapshot(store: Store, maintenance: pg.Client, id: string | undefined, say: (line: string) => void): Promise<void> {
  if (!id) return;
  const listing = await listStore(store);
  if (listing.snapshots.some((s) => s.id === id)) {
    say(`snapshot ${id} had been finished; it is kept`);
    return;
  }
  const unfinished = listing.incomplete.find((entry) => entry.id === id);
  const clone = unfinished?.marker?.cloneDatabase;
  if (clone && (await databaseExists(maintenance, clone))) {
    await dropDatabase(maintenance, clone);
    say(`dropped the unfinished clone "${clone}"`);
  }
  if (unfinished) {
    await removeSnapshot(store, id);
    say(`removed the unfinished snapshot ${id}`);
  }
}
