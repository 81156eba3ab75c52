import { describePolicy, retained, type RetentionPolicy } from '../retention/policy.js';
import { appendJournal, eventsOf, readJournal } from '../store/journal.js';
import type { Store } from '../store/store.js';
import { listRemote, snapshotPrefix } from './layout.js';
import type { Remote } from './remote.js';

/** An unfinished push older than this is abandoned: a push under way elsewhere is younger. */
const ABANDONED_MS = 24 * 3600 * 1000;

export interface RemotePrunePlan {
  remote: string;
  policy: string;
  /** Kept whatever the policy says, and why. */
  protected: Array<{ id: string; why: string }>;
  expired: Array<{ id: string; createdAt: string; bytes: number }>;
  /** Pushes that never finished (no manifest), older than a day. */
  abandoned: Array<{ id: string; bytes: number; lastModified: string | undefined }>;
  kept: number;
}

/**
 * Remote retention, its own policy (`remote.retention`). Always kept: the newest copy on
 * the remote, the newest one that passed `verify --remote` or `drill --remote`, and the
 * newest deploy's restore point (as this store's journal knows them).
 */
export async function planRemotePrune(remote: Remote, store: Store, policy: RetentionPolicy, now = new Date()): Promise<RemotePrunePlan & { keysById: Map<string, string[]> }> {
  await remote.check();
  const listing = await listRemote(remote);
  const journal = await readJournal(store);
  const keep = new Map<string, string>();
  const ids = new Set(listing.snapshots.map((s) => s.id));
  const newest = listing.snapshots.at(-1);
  if (newest) keep.set(newest.id, 'the newest copy on the remote');
  const verified = [...eventsOf(journal, 'verify-remote'), ...eventsOf(journal, 'drill').filter((e) => e.remote !== undefined)]
    .filter((e) => e.ok && ids.has(e.snapshot))
    .map((e) => e.snapshot)
    .sort()
    .at(-1);
  if (verified && !keep.has(verified)) keep.set(verified, 'the newest copy verified on the remote');
  const point = eventsOf(journal, 'restore-point').at(-1);
  if (point && ids.has(point.snapshot) && !keep.has(point.snapshot)) keep.set(point.snapshot, "the newest deploy's restore point");
  const byPolicy = retained(listing.snapshots, policy, now);
  const expired = [...listing.snapshots]
    .reverse()
    .filter((s) => !keep.has(s.id) && !byPolicy.has(s.id))
    .map((s) => ({ id: s.id, createdAt: s.createdAt, bytes: s.bytes }));
  const abandoned = listing.incomplete
    .filter((i) => i.lastModified !== undefined && now.getTime() - Date.parse(i.lastModified) > ABANDONED_MS)
    .map((i) => ({ id: i.id, bytes: i.bytes, lastModified: i.lastModified }));
  return {
    remote: remote.location.display,
    policy: describePolicy(policy),
    protected: [...keep].map(([id, why]) => ({ id, why })),
    expired,
    abandoned,
    kept: listing.snapshots.length - expired.length,
    keysById: listing.keysById,
  };
}

/**
 * Each snapshot's manifest goes first: a removal cut short leaves an unfinished folder
 * (never listed, removed by a later prune), never a listed snapshot with data missing.
 */
export async function applyRemotePrune(remote: Remote, store: Store, plan: RemotePrunePlan & { keysById: Map<string, string[]> }): Promise<void> {
  for (const { id } of [...plan.expired, ...plan.abandoned]) {
    const keys = plan.keysById.get(id) ?? [];
    const manifests = keys.filter((k) => /\/manifest\.json(\.age)?$/.test(k));
    if (manifests.length > 0) await remote.remove(manifests);
    await remote.remove(keys.filter((k) => !manifests.includes(k) && k.startsWith(snapshotPrefix(id))));
  }
  await appendJournal(store, { event: 'prune-remote', remote: plan.remote, removed: plan.expired.map((s) => s.id), abandoned: plan.abandoned.map((s) => s.id) });
}
