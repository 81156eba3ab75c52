import { connectMaintenance } from '../db/connect.js';
import { dropDatabase } from '../db/databases.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { appendJournal } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import { listStore, removeSnapshot, type Store } from '../store/store.js';

export interface RetentionPolicy {
  /** Keep the newest N snapshots. */
  keep?: number;
  /** Keep snapshots younger than this many days. */
  maxAgeDays?: number;
}

export interface PrunePlan {
  /** Finished snapshots the policy lets go. */
  expired: Array<{ id: string; createdAt: string; strategy: Manifest['strategy']; cloneDatabase?: string }>;
  /** Folders never finished whose writer is gone, and what they left on the server. */
  abandoned: Array<{ id: string; cloneDatabase?: string }>;
  kept: number;
}

/**
 * What retention would remove. With both limits, a snapshot stays if either keeps
 * it (among the newest N, or younger than the age). With neither, only abandoned
 * folders go. The newest snapshot is always kept.
 */
export async function planPrune(store: Store, policy: RetentionPolicy, now = new Date()): Promise<PrunePlan> {
  const listing = await listStore(store);
  const newestFirst = [...listing.snapshots].reverse();
  const limited = policy.keep !== undefined || policy.maxAgeDays !== undefined;
  const expired: PrunePlan['expired'] = [];
  newestFirst.forEach((snapshot, index) => {
    if (!limited || index === 0) return;
    const byCount = policy.keep !== undefined && index < policy.keep;
    const byAge = policy.maxAgeDays !== undefined && now.getTime() - Date.parse(snapshot.createdAt) < policy.maxAgeDays * 86_400_000;
    if (byCount || byAge) return;
    expired.push({
      id: snapshot.id,
      createdAt: snapshot.createdAt,
      strategy: snapshot.strategy,
      ...(snapshot.clone ? { cloneDatabase: snapshot.clone.database } : {}),
    });
  });
  const abandoned = listing.incomplete
    .filter((entry) => !entry.inProgress)
    .map((entry) => ({ id: entry.id, ...(entry.marker?.cloneDatabase ? { cloneDatabase: entry.marker.cloneDatabase } : {}) }));
  return { expired, abandoned, kept: listing.snapshots.length - expired.length };
}

/** Carry out a plan: clone databases are dropped on the server, folders removed. */
export async function applyPrune(store: Store, plan: PrunePlan, target: DatabaseTarget | undefined): Promise<void> {
  const databases = [...plan.expired, ...plan.abandoned].flatMap((s) => (s.cloneDatabase ? [s.cloneDatabase] : []));
  if (databases.length > 0) {
    if (!target) {
      throw new LifeboatError('URL_INVALID', `Pruning drops ${databases.length} clone database(s) on the server, which needs the database URL.`, {
        hint: 'Pass --database-url or set DATABASE_URL.',
      });
    }
    const maintenance = await connectMaintenance(target);
    try {
      for (const name of databases) await dropDatabase(maintenance, name);
    } finally {
      await maintenance.end().catch(() => {});
    }
  }
  for (const entry of [...plan.expired, ...plan.abandoned]) await removeSnapshot(store, entry.id);
  await appendJournal(store, {
    event: 'prune',
    removed: plan.expired.map((s) => s.id),
    abandoned: plan.abandoned.map((s) => s.id),
  });
}
