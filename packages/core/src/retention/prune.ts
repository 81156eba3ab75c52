import { connectMaintenance } from '../db/connect.js';
import { dropDatabase } from '../db/databases.js';
import { byNewest, replacedDatabases } from '../db/server-copies.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import type pg from 'pg';
import { verifiedSnapshots } from '../recovery/status.js';
import { appendJournal, eventsOf, readJournal } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import { listStore, removeSnapshot, type Store, type StoreListing } from '../store/store.js';
import { retained, type RetentionPolicy } from './policy.js';

export type { RetentionPolicy };

export interface PrunePlan {
  /** Databases that restores replaced and kept (`<db>__lifeboat_replaced_<stamp>`), which the policy lets go. */
  replacedDatabases: Array<{ name: string; createdAt: string }>;
  /** Snapshots kept whatever the policy says, and why. */
  protected: Array<{ id: string; why: string }>;
  /** Finished snapshots the policy lets go. */
  expired: Array<{ id: string; createdAt: string; strategy: Manifest['strategy']; cloneDatabase?: string }>;
  /** Folders never finished whose writer is gone, and what they left on the server. */
  abandoned: Array<{ id: string; cloneDatabase?: string }>;
  /** Folders with neither a manifest nor Lifeboat's marker: not snapshots Lifeboat can use, and never removed. */
  withoutManifest: StoreListing['withoutManifest'];
  kept: number;
}

/**
 * What retention would remove. A snapshot stays if any rule keeps it (the newest N,
 * younger than D days, the newest of each of the last days, weeks, months: see
 * policy.ts). With no rule, only abandoned folders go (marked `.incomplete` by a writer that is gone; a folder without the
 * marker and without a manifest is reported and stays). Whatever the policy, these stay: the newest snapshot, the newest
 * verified snapshot and the newest deploy's restore point of each database. The
 * databases restores replaced follow the same policy, per database (`server`: a
 * connection to list them; without one they are left alone). Then `keepOnServer` bounds
 * the full copies on the server: clone snapshots and replaced databases beyond the newest
 * N of a database go too.
 */
export async function planPrune(store: Store, policy: RetentionPolicy, now = new Date(), server?: { client: pg.Client; database: string }): Promise<PrunePlan> {
  const listing = await listStore(store);
  const journal = await readJournal(store);
  const keep = new Map<string, string>();
  const good = verifiedSnapshots(journal, listing.snapshots);
  for (const database of new Set(listing.snapshots.map((s) => s.database.name))) {
    const own = listing.snapshots.filter((s) => s.database.name === database);
    const newest = own.at(-1);
    if (newest) keep.set(newest.id, 'the newest snapshot');
    const verified = [...own].reverse().find((s) => good.has(s.id));
    if (verified && !keep.has(verified.id)) keep.set(verified.id, 'the newest verified snapshot');
    const point = eventsOf(journal, 'restore-point')
      .filter((e) => e.database === database)
      .at(-1);
    if (point && !keep.has(point.snapshot)) keep.set(point.snapshot, "the newest deploy's restore point");
  }
  const newestFirst = [...listing.snapshots].reverse();
  const byPolicy = retained(listing.snapshots, policy, now);
  const going = new Set(newestFirst.filter((snapshot) => !keep.has(snapshot.id) && !byPolicy.has(snapshot.id)).map((s) => s.id));
  // The databases restores replaced follow the same rules, counted among themselves.
  const onServer = server ? await replacedDatabases(server.client, server.database) : [];
  const keptReplaced = retained(
    onServer.map((db) => ({ ...db, id: db.name })),
    policy,
    now,
  );
  const replaced = onServer.filter((db) => keptReplaced.has(db.name));
  const expiredReplaced = onServer.filter((db) => !keptReplaced.has(db.name));
  // Copies on the server, per database, newest first: what the rules keep of them, up to keepOnServer.
  if (policy.keepOnServer !== undefined) {
    for (const database of new Set([...listing.snapshots.map((s) => s.database.name), ...(server ? [server.database] : [])])) {
      const copies = [
        ...newestFirst.filter((s) => s.database.name === database && s.clone && !going.has(s.id)).map((s) => ({ snapshot: s.id, createdAt: s.createdAt })),
        ...(server?.database === database ? replaced.map((db) => ({ replaced: db, createdAt: db.createdAt })) : []),
      ].sort(byNewest);
      copies.slice(policy.keepOnServer).forEach((copy) => {
        if ('snapshot' in copy && !keep.has(copy.snapshot)) going.add(copy.snapshot);
        if ('replaced' in copy) expiredReplaced.push(copy.replaced);
      });
    }
  }
  const expired: PrunePlan['expired'] = newestFirst
    .filter((snapshot) => going.has(snapshot.id))
    .map((snapshot) => ({
      id: snapshot.id,
      createdAt: snapshot.createdAt,
      strategy: snapshot.strategy,
      ...(snapshot.clone ? { cloneDatabase: snapshot.clone.database } : {}),
    }));
  const abandoned = listing.incomplete.filter((entry) => !entry.inProgress).map((entry) => ({ id: entry.id, ...(entry.marker?.cloneDatabase ? { cloneDatabase: entry.marker.cloneDatabase } : {}) }));
  return {
    replacedDatabases: expiredReplaced.map((db) => ({ name: db.name, createdAt: db.createdAt })),
    protected: [...keep].map(([id, why]) => ({ id, why })),
    expired,
    abandoned,
    withoutManifest: listing.withoutManifest,
    kept: listing.snapshots.length - expired.length,
  };
}

/** Carry out a plan: clone databases are dropped on the server, folders removed. */
export async function applyPrune(store: Store, plan: PrunePlan, target: DatabaseTarget | undefined): Promise<void> {
  const databases = [...[...plan.expired, ...plan.abandoned].flatMap((s) => (s.cloneDatabase ? [s.cloneDatabase] : [])), ...plan.replacedDatabases.map((d) => d.name)];
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
    replacedDatabases: plan.replacedDatabases.map((d) => d.name),
  });
}
