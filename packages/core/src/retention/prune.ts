import { connectMaintenance } from '../db/connect.js';
import { dropDatabase } from '../db/databases.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import type pg from 'pg';
import { verifiedSnapshots } from '../recovery/status.js';
import { appendJournal, readJournal } from '../store/journal.js';
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
 * What retention would remove. With both limits, a snapshot stays if either keeps
 * it (among the newest N, or younger than the age). With neither, only abandoned
 * folders go (marked `.incomplete` by a writer that is gone; a folder without the
 * marker and without a manifest is reported and stays). Whatever the policy, these stay: the newest snapshot, the newest
 * verified snapshot and the newest deploy's restore point of each database. The
 * databases restores replaced follow the same policy, per database (`server`: a
 * connection to list them; without one they are left alone).
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
    const point = journal.filter((e) => e.event === 'restore-point' && e.database === database).at(-1);
    if (point && !keep.has(String(point.snapshot))) keep.set(String(point.snapshot), "the newest deploy's restore point");
  }
  const newestFirst = [...listing.snapshots].reverse();
  const byPolicy = retained(listing.snapshots, policy, now);
  const expired: PrunePlan['expired'] = [];
  newestFirst.forEach((snapshot) => {
    if (keep.has(snapshot.id) || byPolicy.has(snapshot.id)) return;
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
  const replacedDatabases = server ? await expiredReplacedDatabases(server.client, server.database, policy, now) : [];
  return {
    replacedDatabases,
    protected: [...keep].map(([id, why]) => ({ id, why })),
    expired,
    abandoned,
    withoutManifest: listing.withoutManifest,
    kept: listing.snapshots.length - expired.length,
  };
}

/** `<database>__lifeboat_replaced_<YYYYMMDDHHMMSS>[_n]` copies the policy lets go, newest first. Other databases' copies are not ours to touch. */
async function expiredReplacedDatabases(server: pg.Client, database: string, policy: RetentionPolicy, now: Date): Promise<PrunePlan['replacedDatabases']> {
  const { rows } = await server.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [`${database}__lifeboat_replaced_`]);
  const parsed = rows.flatMap(({ datname }) => {
    const match = /^(.*)__lifeboat_replaced_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:_(\d+))?$/.exec(datname);
    if (!match) return [];
    const [, live, y, mo, d, h, mi, s, n] = match;
    return [{ name: datname, live: live!, createdAt: `${y}-${mo}-${d}T${h}:${mi}:${s}Z`, order: Number(n ?? 1) }];
  });
  const own = parsed.filter((p) => p.live === database).map((p) => ({ id: p.name, createdAt: p.createdAt, order: p.order }));
  const kept = retained(own, policy, now);
  return own
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.order - a.order)
    .filter((db) => !kept.has(db.id))
    .map((db) => ({ name: db.id, createdAt: db.createdAt }));
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
