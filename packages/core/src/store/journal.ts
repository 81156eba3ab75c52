import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redact } from '../secrets.js';
import { appendLine } from './files.js';
import type { Store } from './store.js';

/** One line of `<store>/journal.jsonl`: what happened to the store and its database. */
export interface JournalEntry {
  at: string;
  event: string;
  [key: string]: unknown;
}

export async function appendJournal(store: Store, entry: Omit<JournalEntry, 'at'>): Promise<void> {
  await appendLine(join(store.root, 'journal.jsonl'), redact(JSON.stringify({ at: new Date().toISOString(), ...entry })));
}

/**
 * For a record written after the database already changed (a deploy kept, a restore
 * swapped): a full disk must not turn a change that happened into a reported failure.
 * The change stands; the missing line is said.
 */
export async function appendJournalAfterChange(store: Store, entry: Omit<JournalEntry, 'at'>, onNotice?: (message: string) => void): Promise<void> {
  await appendJournal(store, entry).catch((error: unknown) => {
    onNotice?.(`warning: the ${entry.event} was done but could not be written to the journal (${error instanceof Error ? error.message : String(error)})`);
  });
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
