import type pg from 'pg';
import type { Settings } from '../config/resolve.js';
import { byNewest, databaseSizes, replacedDatabases } from '../db/server-copies.js';
import { sizeOf } from '../store/files.js';
import { eventsOf, type JournalEntry, readJournal } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import { listStore, type Store, type StoreListing } from '../store/store.js';

export interface Objective {
  limitSeconds: number;
  holds: boolean;
  /** One line: the figure and the limit. */
  detail: string;
}

export interface StatusReport {
  database: string | undefined;
  newestSnapshot: { id: string; createdAt: string; ageSeconds: number; strategy: string; verified: boolean } | undefined;
  /** The newest snapshot verified (or drilled) since it was written. */
  newestGoodSnapshot: { id: string; createdAt: string; ageSeconds: number } | undefined;
  newestDrill: { at: string; snapshot: string; ok: boolean; restoreSeconds: number | undefined; error: string | undefined } | undefined;
  store: { path: string; snapshots: number; bytesOnDisk: number; bytesOnServer: number; withoutManifest: StoreListing['withoutManifest'] };
  /**
   * This database's full copies on the server, newest first, with their sizes: its clone
   * snapshots and the databases restores replaced (counted by retention's keepOnServer).
   * Undefined without a database; `error` when the server could not be asked.
   */
  onServer: { copies: ServerCopy[]; bytes: number; error?: string } | undefined;
  retention: Settings['retention'];
  objectives: { rpo: Objective | undefined; rto: Objective | undefined };
  ok: boolean;
}

export interface ServerCopy {
  name: string;
  kind: 'clone snapshot' | 'replaced database';
  /** The snapshot it holds (clone snapshots). */
  snapshot?: string;
  createdAt: string;
  /** undefined: the database is gone from the server. */
  bytes: number | undefined;
}

/** A snapshot is good once a verify or a drill passed on it after it was written. */
export function verifiedSnapshots(journal: JournalEntry[], snapshots: Manifest[]): Set<string> {
  const finished = new Map(snapshots.map((s) => [s.id, s.finishedAt]));
  const good = new Set<string>();
  for (const entry of [...eventsOf(journal, 'verify'), ...eventsOf(journal, 'drill')]) {
    if (entry.ok && finished.has(entry.snapshot) && entry.at >= finished.get(entry.snapshot)!) good.add(entry.snapshot);
  }
  return good;
}

/**
 * Where recovery stands: newest snapshot and drill, the store, the copies on the server
 * (`server`: a maintenance connection, to list and size them), and whether the objectives hold.
 */
export async function recoveryStatus(store: Store, settings: Settings, database: string | undefined, now = new Date(), server?: pg.Client | { error: string }): Promise<StatusReport> {
  const listing = await listStore(store);
  const snapshots = listing.snapshots.filter((s) => database === undefined || s.database.name === database);
  const journal = await readJournal(store);
  const good = verifiedSnapshots(journal, snapshots);
  const age = (iso: string) => Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  const newest = snapshots.at(-1);
  // A scoped snapshot holds the data of a few tables: it is no restore point of the database for the RPO.
  const newestGood = [...snapshots].reverse().find((s) => good.has(s.id) && s.strategy !== 'scoped');
  const drills = eventsOf(journal, 'drill').filter((e) => database === undefined || e.database === database);
  const lastDrill = drills.at(-1);

  const { rpoSeconds, rtoSeconds } = settings.objectives;
  const rpo =
    rpoSeconds === undefined
      ? undefined
      : {
          limitSeconds: rpoSeconds,
          holds: newestGood !== undefined && age(newestGood.createdAt) <= rpoSeconds,
          detail: newestGood ? `newest good snapshot is ${formatAge(age(newestGood.createdAt))} old (limit ${formatAge(rpoSeconds)})` : `no verified snapshot (limit ${formatAge(rpoSeconds)})`,
        };
  const restoreSeconds = lastDrill?.restoreSeconds;
  const rto =
    rtoSeconds === undefined
      ? undefined
      : {
          limitSeconds: rtoSeconds,
          holds: lastDrill?.ok === true && restoreSeconds !== undefined && restoreSeconds <= rtoSeconds,
          detail: !lastDrill
            ? `no drill recorded (limit ${formatAge(rtoSeconds)})`
            : lastDrill.ok !== true
              ? `the newest drill failed (limit ${formatAge(rtoSeconds)})`
              : `the newest drill restored in ${restoreSeconds!.toFixed(1)} s (limit ${formatAge(rtoSeconds)})`,
        };
  let bytesOnDisk = 0;
  try {
    bytesOnDisk = await sizeOf(store.root);
  } catch {
    bytesOnDisk = 0;
  }
  return {
    database,
    onServer: database === undefined || server === undefined ? undefined : await copiesOnServer(server, database, snapshots),
    newestSnapshot: newest && { id: newest.id, createdAt: newest.createdAt, ageSeconds: age(newest.createdAt), strategy: newest.strategy, verified: good.has(newest.id) },
    newestGoodSnapshot: newestGood && { id: newestGood.id, createdAt: newestGood.createdAt, ageSeconds: age(newestGood.createdAt) },
    newestDrill: lastDrill && {
      at: lastDrill.at,
      snapshot: lastDrill.snapshot,
      ok: lastDrill.ok,
      restoreSeconds,
      error: lastDrill.error,
    },
    store: {
      path: store.root,
      snapshots: snapshots.length,
      bytesOnDisk,
      bytesOnServer: snapshots.filter((s) => s.strategy === 'clone').reduce((sum, s) => sum + s.sizeBytes, 0),
      withoutManifest: listing.withoutManifest,
    },
    retention: settings.retention,
    objectives: { rpo, rto },
    ok: (rpo?.holds ?? true) && (rto?.holds ?? true),
  };
}

async function copiesOnServer(server: pg.Client | { error: string }, database: string, snapshots: Manifest[]): Promise<NonNullable<StatusReport['onServer']>> {
  if ('error' in server) return { copies: [], bytes: 0, error: server.error };
  try {
    const clones = [...snapshots].reverse().flatMap((s) => (s.clone ? [{ name: s.clone.database, kind: 'clone snapshot' as const, snapshot: s.id, createdAt: s.createdAt }] : []));
    const replaced = (await replacedDatabases(server, database)).map((db) => ({ name: db.name, kind: 'replaced database' as const, createdAt: db.createdAt }));
    const sizes = await databaseSizes(
      server,
      [...clones, ...replaced].map((c) => c.name),
    );
    const copies = [...clones, ...replaced].sort(byNewest).map((c) => ({ ...c, bytes: sizes.get(c.name) }));
    return { copies, bytes: copies.reduce((sum, c) => sum + (c.bytes ?? 0), 0) };
  } catch (error) {
    return { copies: [], bytes: 0, error: error instanceof Error ? error.message : String(error) };
  }
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}
