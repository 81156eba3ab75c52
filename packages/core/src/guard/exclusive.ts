import type { DatabaseTarget } from '../db/target.js';
import { assertNothingInterrupted } from '../recovery/interrupted.js';
import { beginIntent, type Intent, type IntentRecord, type OperationKind } from '../store/intent.js';
import type { Store } from '../store/store.js';
import { acquireDatabaseLock } from './lock.js';

export interface ExclusiveOptions {
  target: DatabaseTarget;
  store: Store;
  operation: OperationKind;
  lockTimeoutMs: number;
  /** Fields the record starts with (the snapshot it restores, a phase). */
  record?: Partial<IntentRecord>;
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * How every command that changes a database runs (restore in place, rollback, undo,
 * prune's drops; deploys do the same inline): the database's lock, then a refusal if an
 * earlier operation was interrupted, then an intent record around the work. The record
 * is closed when `fn` returns or throws: a throw means the operation cleaned up after
 * itself; only a crash leaves the record for `lifeboat recover`.
 */
export async function exclusively<T>(options: ExclusiveOptions, fn: (intent: Intent) => Promise<T>): Promise<T> {
  const { target, store } = options;
  const lock = await acquireDatabaseLock(target, {
    operation: options.operation,
    timeoutMs: options.lockTimeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onNotice ? { onWait: options.onNotice } : {}),
  });
  try {
    await assertNothingInterrupted(store, target);
    const intent = await beginIntent(store, target, { operation: options.operation, locked: true, ...options.record });
    try {
      return await fn(intent);
    } finally {
      await intent.close();
    }
  } finally {
    await lock.release();
  }
}
