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
