import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withClient } from '../db/connect.js';
import { listTables } from '../db/introspect.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { mkdirPrivate, writeFileAtomic } from '../store/files.js';
import { eventsOf, readJournal } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import type { Store } from '../store/store.js';
import { discardReport, type TableDiscard } from './discard.js';
import { type Column, keyId, normalizeSession, rowsByKey, structureOf, tableColumns } from './keyed-rows.js';

/** Past this many rows written since the snapshot, a table is counted but its rows are not recorded. */
export const REAPPLY_ROW_LIMIT = 100_000;

/** What a deploy's rollback took out of the database: in the DeployReport. */
export interface AppWrites {
  /** Rows inserted, updated or deleted since the snapshot, in the tables compared row by row. */
  rows: number;
  tables: AppWriteTable[];
  /** Tables only the replaced database has (made by the failed migration): they and their rows are gone from the live one. */
  newTables: string[];
  /** The database the rollback swapped out: it holds these writes. */
  keptIn: string | undefined;
  /** The record `lifeboat reapply` reads (none when nothing can be re-applied). */
  record: string | undefined;
  /** The command that re-applies them (a dry run without --yes). */
  reapply: string | undefined;
  /** The count itself failed; the rollback went on. */
  error?: string;
}

export interface AppWriteTable {
  table: string;
  rowsThen: number;
  rowsNow: number;
  /** By primary key; undefined where compared by count only. */
  inserted?: number;
  updated?: number;
  deleted?: number;
  reappliable: boolean;
  /** Why not re-appliable. */
  why?: string;
}

/** `<store>/writes/<deploy>.json`: what a safe three-way re-apply needs, and no data but keys. */
export interface WritesRecord {
  deploy: string;
  database: string;
  snapshot: string;
  countedAt: string;
  /** Set once the swap is done. */
  replaced?: string;
  tables: RecordedTable[];
  /** Tables with writes that cannot be re-applied, and why. */
  skipped: Array<{ table: string; why: string }>;
}

export interface RecordedTable {
  schema: string;
  name: string;
  primaryKey: string[];
  /** The table's columns in the snapshot, in order: the base hashes are over these. */
  columns: Array<{ name: string; type: string }>;
  /** Each row that differs from the snapshot: its key, and the hash of its version in the snapshot (null: not there). */
  rows: Array<{ key: string[]; base: string | null }>;
}

export interface AppWritesCounter {
  /** For `restoreSnapshot`'s `beforeSwap`: compare the live database with the verified staging copy; never throws. */
  beforeSwap(staging: string): Promise<void>;
  /** After the swap: where the writes are kept, recorded; undefined when no count was made. */
  kept(replaced: string | undefined): Promise<AppWrites | undefined>;
}

/**
 * Counts, before a deploy's rollback swaps, what was written since the snapshot (the
 * app's writes and any the failed migration left), and records what `reapply` needs.
 * A failure to count is reported, never a reason to stop the rollback.
 */
export function appWritesCounter(options: { target: DatabaseTarget; store: Store; manifest: Manifest; deploy: string; budgetMs: number }): AppWritesCounter {
  let counted: { summary: AppWrites; record: WritesRecord } | undefined;
  return {
    async beforeSwap(staging) {
      try {
        counted = await countAppWrites(options, staging);
        if (counted.record.tables.length > 0) await writeRecord(options.store, counted.record);
      } catch (error) {
        const summary = { ...emptySummary(), error: `the writes since the snapshot could not be counted: ${error instanceof Error ? error.message : String(error)}` };
        counted = { summary, record: { deploy: options.deploy, database: options.target.database, snapshot: options.manifest.id, countedAt: '', tables: [], skipped: [] } };
      }
    },
    async kept(replaced) {
      if (!counted) return undefined;
      const { summary, record } = counted;
      summary.keptIn = replaced;
      if (record.tables.length > 0 && replaced) {
        record.replaced = replaced;
        try {
          await writeRecord(options.store, record);
          summary.record = recordPath(options.store, record.deploy);
          summary.reapply = `npx lifeboat reapply ${record.deploy}`;
        } catch (error) {
          summary.error = `the record of the writes could not be written: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      return summary;
    },
  };
}

function emptySummary(): AppWrites {
  return { rows: 0, tables: [], newTables: [], keptIn: undefined, record: undefined, reapply: undefined };
}

async function countAppWrites(options: { target: DatabaseTarget; manifest: Manifest; deploy: string; budgetMs: number }, staging: string): Promise<{ summary: AppWrites; record: WritesRecord }> {
  const { target, manifest } = options;
  const discard = await discardReport(target, target.database, staging, undefined, { differingKeys: REAPPLY_ROW_LIMIT, budgetMs: options.budgetMs });
  // Tables whose data snapshots leave out (derived, ephemeral) differ by design, not by a write.
  const excluded = new Set(manifest.tables.filter((t) => t.dataExcluded).map((t) => `${t.schema}.${t.name}`));
  const summary = emptySummary();
  summary.newTables = discard.tablesOnlyNow;
  const record: WritesRecord = { deploy: options.deploy, database: target.database, snapshot: manifest.id, countedAt: new Date().toISOString(), tables: [], skipped: [] };
  await withClient(target, target.database, (now) =>
    withClient(target, staging, async (then) => {
      await normalizeSession(now);
      await normalizeSession(then);
      const tables = new Map((await listTables(now)).map((t) => [`${t.schema}.${t.name}`, t]));
      for (const diff of discard.tables.filter((t) => !excluded.has(t.table))) {
        const entry = tableEntry(diff);
        summary.rows += (entry.inserted ?? 0) + (entry.updated ?? 0) + (entry.deleted ?? 0);
        summary.tables.push(entry);
        if (!diff.differingKeys || !diff.primaryKey) {
          entry.reappliable = false;
          entry.why = diff.compared === 'by primary key' ? `over ${REAPPLY_ROW_LIMIT.toLocaleString('en-US')} rows written: counted, not recorded` : diff.compared;
          record.skipped.push({ table: entry.table, why: entry.why });
          continue;
        }
        const info = tables.get(diff.table)!;
        const table = { schema: info.schema, name: info.name };
        const [columnsNow, columnsThen] = [await tableColumns(now, table), await tableColumns(then, table)];
        if (!columnsNow || !columnsThen || structureOf(columnsNow) !== structureOf(columnsThen)) {
          entry.reappliable = false;
          entry.why = 'the failed migration changed its columns';
          record.skipped.push({ table: entry.table, why: entry.why });
          continue;
        }
        const key = diff.primaryKey.map((n) => columnsThen.find((c) => c.name === n)!);
        const base = await rowsByKey(
          then,
          table,
          key,
          columnsThen.map((c) => c.name),
          diff.differingKeys,
        );
        record.tables.push({
          ...table,
          primaryKey: diff.primaryKey,
          columns: columnsThen.map((c: Column) => ({ name: c.name, type: c.type })),
          rows: diff.differingKeys.map((k) => ({ key: k, base: base.get(keyId(k))?.hash ?? null })),
        });
      }
    }),
  );
  return { summary, record };
}

function tableEntry(diff: TableDiscard): AppWriteTable {
  return {
    table: diff.table,
    rowsThen: diff.rowsThen,
    rowsNow: diff.rowsNow,
    ...(diff.added !== undefined ? { inserted: diff.added, updated: diff.changed ?? 0, deleted: diff.removed ?? 0 } : {}),
    reappliable: true,
  };
}

function writesDir(store: Store): string {
  return join(store.root, 'writes');
}

function recordPath(store: Store, deploy: string): string {
  return join(writesDir(store), `${deploy}.json`);
}

async function writeRecord(store: Store, record: WritesRecord): Promise<void> {
  await mkdirPrivate(writesDir(store));
  await writeFileAtomic(recordPath(store, record.deploy), JSON.stringify(record));
}

/** A deploy's record, or the newest of this database's; with the database its writes are kept in. */
export async function findWritesRecord(store: Store, database: string, deploy?: string): Promise<WritesRecord & { replaced: string }> {
  let record: WritesRecord | undefined;
  if (deploy !== undefined) {
    if (!/^[\w.-]+$/.test(deploy))
      throw new LifeboatError('USAGE', `"${deploy}" is not a deploy id.`, { hint: 'Deploy ids look like deploy-20261124-091500-3f9a (see the deploy report or the journal).' });
    record = await readRecord(recordPath(store, deploy));
    if (record && record.database !== database) {
      throw new LifeboatError('USAGE', `Deploy ${deploy} was of database "${record.database}", not "${database}"; nothing was changed.`, {
        hint: 'Point --database-url at the database that deploy protected.',
      });
    }
  } else {
    const names = (await readdir(writesDir(store)).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    const records = (await Promise.all(names.map((n) => readRecord(join(writesDir(store), n))))).filter((r): r is WritesRecord => r?.database === database);
    record = records.sort((a, b) => a.countedAt.localeCompare(b.countedAt)).at(-1);
  }
  if (!record) {
    throw new LifeboatError(
      'SNAPSHOT_NOT_FOUND',
      deploy ? `Deploy ${deploy} recorded no writes to re-apply in ${store.root}.` : `No deploy of "${database}" recorded writes to re-apply in ${store.root}.`,
      { hint: "A deploy's rollback records them when the app wrote during the deploy; its report names the deploy id." },
    );
  }
  const replaced = record.replaced ?? (await replacedFromJournal(store, record));
  if (!replaced) {
    throw new LifeboatError('RECOVERY_NEEDED', `The rollback of deploy ${record.deploy} counted its writes but did not record its swap; nothing was changed.`, {
      hint: 'If the rollback failed, the writes are still in the live database and there is nothing to re-apply; if it was interrupted, recover first.',
    });
  }
  return { ...record, replaced };
}

/** A process that died after the swap and before the record's last write: the restore's journal entry says where. */
async function replacedFromJournal(store: Store, record: WritesRecord): Promise<string | undefined> {
  const restore = eventsOf(await readJournal(store), 'restore').find((e) => e.snapshot === record.snapshot && e.database === record.database && e.at >= record.countedAt);
  return restore?.replaced;
}

async function readRecord(path: string): Promise<WritesRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as WritesRecord;
  } catch {
    return undefined;
  }
}
