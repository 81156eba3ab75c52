import type { Settings } from '../config/resolve.js';
import { formatAge, type Objective } from '../recovery/status.js';
import { eventsOf, type JournalEntry, readJournal } from '../store/journal.js';
import { listStore, type Store } from '../store/store.js';
import { parseRemote } from './url.js';

export interface OffsiteStatus {
  /** The remote in the config, for display; undefined when there is none. */
  remote: string | undefined;
  push: 'always' | 'manual' | undefined;
  /** The newest snapshot a push finished for (from the journal). */
  newestCopy: { id: string; createdAt: string; ageSeconds: number; pushedAt: string } | undefined;
  /** The newest push attempt, when it failed: the missing copy, said. */
  lastFailure: { at: string; snapshot: string; code: string; error: string } | undefined;
  /** Local snapshots newer than the newest copy, not pushed. */
  notPushed: string[];
  objective: Objective | undefined;
}

/**
 * Where the off-site copies stand, from this store's journal (no network: status must
 * answer when the remote does not): the newest snapshot pushed, the last failed push,
 * what is not off-site yet, and `objectives.offsite`.
 */
export async function offsiteStatus(store: Store, settings: Settings, database: string | undefined, now = new Date()): Promise<OffsiteStatus> {
  const journal = await readJournal(store);
  const pushes = eventsOf(journal, 'push').filter((e) => database === undefined || e.database === database);
  const good = pushes.filter((e) => e.ok);
  const newest = [...good].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
  const age = (iso: string) => Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  const last = pushes.at(-1);
  const lastFailure = last && !last.ok ? failureOf(last) : undefined;
  const pushed = new Set(good.map((e) => e.snapshot));
  const snapshots = (await listStore(store)).snapshots.filter((s) => database === undefined || s.database.name === database);
  const notPushed = snapshots.filter((s) => !pushed.has(s.id) && (!newest || s.createdAt > newest.createdAt)).map((s) => s.id);
  const limit = settings.objectives.offsiteSeconds;
  const newestCopy = newest && { id: newest.snapshot, createdAt: newest.createdAt, ageSeconds: age(newest.createdAt), pushedAt: newest.at };
  const objective =
    limit === undefined
      ? undefined
      : {
          limitSeconds: limit,
          holds: newestCopy !== undefined && newestCopy.ageSeconds <= limit,
          detail: newestCopy
            ? `the newest off-site copy is ${formatAge(newestCopy.ageSeconds)} old (limit ${formatAge(limit)})${lastFailure ? `; the last push FAILED: ${lastFailure.error}` : ''}`
            : `no snapshot was pushed off-site (limit ${formatAge(limit)})${lastFailure ? `; the last push FAILED: ${lastFailure.error}` : ''}`,
        };
  let remote: string | undefined;
  try {
    remote = settings.remote ? parseRemote(settings.remote).display : undefined;
  } catch {
    remote = settings.remote?.url;
  }
  return { remote, push: settings.remote?.push, newestCopy, lastFailure, notPushed, objective };
}

function failureOf(entry: Extract<JournalEntry, { event: 'push' }>): OffsiteStatus['lastFailure'] {
  return { at: entry.at, snapshot: entry.snapshot, code: entry.code ?? 'INTERNAL', error: entry.error ?? 'unknown error' };
}
