import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redact } from '../secrets.js';
import { appendLine } from './files.js';
import type { Store } from './location.js';

/**
 * One line of `<store>/journal.jsonl`: a fact about the store or its database, one type per
 * event. The fields are what readers rely on; writers may record more beside them (a
 * deploy's whole report, a drill's phases). Lines of events this version does not know are
 * kept as they are and ignored by readers.
 */
export type JournalEvent =
  | { event: 'snapshot'; snapshot: string; database: string; strategy: string; reason: string; durationMs: number; bytes: number; manifestSha256?: string }
  | { event: 'verify'; snapshot: string; ok: boolean; problems: string[] }
  | { event: 'verify-remote'; snapshot: string; remote: string; deep?: boolean; ok: boolean; problems: string[] }
  | { event: 'push'; snapshot: string; database: string; createdAt: string; remote: string; ok: boolean; bytes?: number; durationMs?: number; pushedAs?: string; code?: string; error?: string }
  | { event: 'restore'; snapshot: string; database: string; replaced?: string; strategy: string; durationMs: number; fromRemote?: string; fetchMs?: number }
  | { event: 'restore-point'; deploy: string; snapshot: string; database: string }
  | { event: 'deploy'; id: string; outcome: string; database: string; command: string }
  | { event: 'drill'; snapshot: string; database: string; ok: boolean; restoreSeconds?: number; error?: string; remote?: string }
  | { event: 'rollback'; database: string; restorePoint: string; safetySnapshot: string }
  | { event: 'rollback-undo'; database: string; safetySnapshot: string; restore: { database: string; replaced?: string } }
  | { event: 'prune'; removed: string[]; abandoned: string[]; replacedDatabases: string[] }
  | { event: 'prune-remote'; remote: string; removed: string[]; abandoned: string[] }
  | { event: 'recover-started'; operation: string; intent: string; phase: string; database: string }
  | { event: 'recover'; database: string; intent: string; operation: string; phase: string; outcome: string; found: string; did: string[]; deploy?: string; kept?: string }
  | { event: 'reapply'; database: string; deploy: string; replaced: string; conflicts: number; tables: unknown[]; skippedTables: unknown[]; sequences: unknown[] };

export type JournalEntry = JournalEvent & { at: string };

export async function appendJournal(store: Store, entry: JournalEvent): Promise<void> {
  await appendLine(join(store.root, 'journal.jsonl'), redact(JSON.stringify({ at: new Date().toISOString(), ...entry })));
}

/**
 * For a record written after the database already changed (a deploy kept, a restore
 * swapped): a full disk must not turn a change that happened into a reported failure.
 * The change stands; the missing line is said.
 */
export async function appendJournalAfterChange(store: Store, entry: JournalEvent, onNotice?: (message: string) => void): Promise<void> {
  await appendJournal(store, entry).catch((error: unknown) => {
    onNotice?.(`warning: the ${entry.event} was done but could not be written to the journal (${error instanceof Error ? error.message : String(error)})`);
  });
}

/** The entries of one kind, typed as that kind. */
export function eventsOf<K extends JournalEvent['event']>(journal: JournalEntry[], kind: K): Array<Extract<JournalEntry, { event: K }>> {
  return journal.filter((entry): entry is Extract<JournalEntry, { event: K }> => entry.event === kind);
}

export async function readJournal(store: Store): Promise<JournalEntry[]> {
  const text = await readFile(join(store.root, 'journal.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as JournalEntry];
      } catch {
        return [];
      }
    });
}
