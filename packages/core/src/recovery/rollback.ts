import type { Settings } from '../config/resolve.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import { type RestoreResult, restoreSnapshot } from '../restore/restore.js';
import { takeSnapshot } from '../snapshot/take.js';
import { appendJournalAfterChange, eventsOf, readJournal } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import { findSnapshot, newSnapshotId, type Store } from '../store/store.js';
import { exclusively } from '../guard/exclusive.js';
import type { Intent } from '../store/intent.js';
import { type DiscardReport, discardReport } from './discard.js';

export interface RollbackOptions {
  target: DatabaseTarget;
  store: Store;
  settings: Settings;
  /** Which restore point: a deploy's id, or any snapshot; default the newest deploy's. */
  deployId?: string;
  snapshotId?: string;
  /** Shown what will be thrown away; throw to say no (nothing is restored then). */
  confirm: (what: { restorePoint: Manifest; discarded: DiscardReport }) => Promise<void>;
  onNotice?: (message: string) => void;
  onProgress?: ProgressFn;
}

export interface RollbackResult {
  restorePoint: string;
  /** The snapshot of the database as it was before the rollback (`rollback --undo` returns to it). */
  safetySnapshot: string;
  discarded: DiscardReport;
  restore: RestoreResult;
}

/**
 * Put the database back to a restore point: first a safety snapshot of the current
 * state, then the restore point loaded and verified beside it, then what going back
 * throws away (per table, by primary key), then the question, then the swap.
 */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  const { target, store } = options;
  // An interrupted deploy comes first (`recover` returns to its own snapshot): the restore point is read under the lock.
  return exclusively({ target, store, operation: 'rollback', lockTimeoutMs: options.settings.lockTimeoutMs, ...(options.onNotice ? { onNotice: options.onNotice } : {}) }, (intent) =>
    rollbackExclusively(options, intent),
  );
}

async function rollbackExclusively(options: RollbackOptions, intent: Intent): Promise<RollbackResult> {
  const { target, store } = options;
  const restorePoint = await findRestorePoint(store, target.database, options);
  options.onNotice?.(`restore point: snapshot ${restorePoint.id} of ${restorePoint.createdAt}`);
  const safetyId = newSnapshotId();
  await intent.update({ phase: 'snapshotting', snapshot: safetyId });
  const safety = await takeSnapshot({
    id: safetyId,
    target,
    store,
    strategy: options.settings.strategy,
    reason: 'safety',
    label: `before rollback to ${restorePoint.id}`,
    countBudgetMs: options.settings.countBudgetMs,
    // A safety copy keeps everything: it is what `--undo` returns to.
    allData: true,
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  options.onNotice?.(`safety snapshot ${safety.id} taken (\`lifeboat rollback --undo\` returns to it)`);
  let discarded: DiscardReport | undefined;
  const restore = await restoreSnapshot({
    target,
    store,
    manifest: restorePoint,
    intent,
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    beforeSwap: async (staging) => {
      discarded = await discardReport(target, target.database, staging, undefined, { restorePoint });
      await options.confirm({ restorePoint, discarded });
    },
  });
  const result: RollbackResult = { restorePoint: restorePoint.id, safetySnapshot: safety.id, discarded: discarded!, restore };
  await appendJournalAfterChange(store, { event: 'rollback', database: target.database, ...result }, options.onNotice);
  return result;
}

/** Back to the state before the newest rollback of this database: its safety snapshot. */
export async function undoRollback(options: Omit<RollbackOptions, 'deployId' | 'snapshotId'>): Promise<{ safetySnapshot: string; restore: RestoreResult }> {
  const last = eventsOf(await readJournal(options.store), 'rollback')
    .filter((e) => e.database === options.target.database)
    .at(-1);
  if (!last) {
    throw new LifeboatError('SNAPSHOT_NOT_FOUND', `No rollback of "${options.target.database}" is recorded in ${options.store.root}.`, {
      hint: 'There is nothing to undo; `lifeboat list` shows the snapshots.',
    });
  }
  const manifest = await findSnapshot(options.store, last.safetySnapshot);
  const restore = await exclusively(
    {
      target: options.target,
      store: options.store,
      operation: 'undo',
      lockTimeoutMs: options.settings.lockTimeoutMs,
      record: { snapshot: manifest.id },
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    },
    (intent) =>
      restoreSnapshot({
        target: options.target,
        store: options.store,
        manifest,
        intent,
        ...(options.onNotice ? { onNotice: options.onNotice } : {}),
        beforeSwap: async (staging) => {
          await options.confirm({ restorePoint: manifest, discarded: await discardReport(options.target, options.target.database, staging, undefined, { restorePoint: manifest }) });
        },
      }),
  );
  await appendJournalAfterChange(options.store, { event: 'rollback-undo', database: options.target.database, safetySnapshot: manifest.id, restore }, options.onNotice);
  return { safetySnapshot: manifest.id, restore };
}

async function findRestorePoint(store: Store, database: string, options: { deployId?: string; snapshotId?: string }): Promise<Manifest> {
  if (options.snapshotId) return findSnapshot(store, options.snapshotId);
  const points = eventsOf(await readJournal(store), 'restore-point').filter((e) => e.database === database);
  const point = options.deployId ? points.find((p) => p.deploy === options.deployId) : points.at(-1);
  if (!point) {
    throw new LifeboatError(
      'SNAPSHOT_NOT_FOUND',
      options.deployId ? `No deploy ${options.deployId} of "${database}" in ${store.root}.` : `No guarded deploy of "${database}" has left a restore point in ${store.root}.`,
      { hint: 'Roll back to a snapshot with --snapshot ID (see `lifeboat list`).' },
    );
  }
  return findSnapshot(store, point.snapshot);
}
