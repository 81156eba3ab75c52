import type pg from 'pg';
import { withClient } from '../db/connect.js';
import { databaseIdentity, matchColumns, matchTables, qualified, type Relation, renames } from '../db/identity.js';
import { type DatabaseState, listTables, type TableInfo } from '../db/introspect.js';
import { ident } from '../db/sql.js';
import type { DatabaseTarget } from '../db/target.js';

/** What going back to a restore point throws away in one table. */
export interface TableDiscard {
  /** The table as it is named now. */
  table: string;
  /** Its name in the restore point, when the deploy renamed it (going back names it so again). */
  tableThen?: string;
  /** Rows now, and in the restore point. */
  rowsNow: number;
  rowsThen: number;
  /** By primary key, over the columns both versions have; undefined where not compared. */
  added?: number;
  removed?: number;
  changed?: number;
  /** How it was compared: row by row (primary key), or counts only (and why). */
  compared: 'by primary key' | string;
}

export interface DiscardReport {
  /** Tables with writes since the restore point (rows added, removed or changed). */
  tables: TableDiscard[];
  /** Tables that exist now and not in the restore point (the deploy made them), and the reverse. */
  tablesOnlyNow: string[];
  tablesOnlyThen: string[];
  /** Tables and columns renamed since the restore point (`renamed table public.orders → purchases`): going back renames them back. */
  renamed: string[];
  /** Rows compared row by row only up to this size per table; bigger ones by count. */
  rowLimit: number;
}

/**
 * Compare the live database with the restore point's copy (the verified staging
 * database of a rollback): per table, rows added, removed and changed since then. The
 * copy has the restore point's names; the live database, when it is the database the
 * restore point was taken of, its OIDs: with `restorePoint` (its manifest) tables and
 * columns are matched through it, so a renamed table is one table with its changes.
 */
export async function discardReport(target: DatabaseTarget, live: string, then: string, rowLimit = 1_000_000, restorePoint?: DatabaseState): Promise<DiscardReport> {
  return withClient(target, live, (now) =>
    withClient(target, then, async (past) => {
      const nowTables = (await listTables(now)).filter((t) => t.kind !== 'matview');
      const pastTables = (await listTables(past)).filter((t) => t.kind !== 'matview');
      const pastByName = new Map(pastTables.map((t) => [qualified(t), t]));
      // A manifest older than its identity may lack the columns: the copy's own tables then, by name.
      const thenTables: Relation[] = restorePoint?.identity ? restorePoint.tables.filter((t) => t.kind !== 'matview' && pastByName.has(qualified(t))) : pastTables;
      const thenNames = new Set(thenTables.map(qualified));
      const matching = matchTables({ identity: restorePoint?.identity, tables: thenTables }, { identity: restorePoint?.identity ? await databaseIdentity(now) : undefined, tables: nowTables });
      const report: DiscardReport = {
        tables: [],
        tablesOnlyNow: matching.added.map(qualified),
        tablesOnlyThen: [...matching.gone.map(qualified), ...pastTables.map(qualified).filter((t) => !thenNames.has(t))],
        renamed: renames(matching),
        rowLimit,
      };
      for (const pair of matching.pairs) {
        const columns = matchColumns(pair).pairs.map((c) => ({ now: pair.after.columns![c.after]!, then: pair.before.columns![c.before]! }));
        const diff = await compareTable(now, past, pair.after, pastByName.get(qualified(pair.before))!, columns, rowLimit);
        if (diff.rowsNow !== diff.rowsThen || (diff.added ?? 0) + (diff.removed ?? 0) + (diff.changed ?? 0) > 0) report.tables.push(diff);
      }
      return report;
    }),
  );
}

/** One table now and in the restore point; `columns` pairs the names both versions have. */
async function compareTable(now: pg.Client, past: pg.Client, table: TableInfo, before: TableInfo, columns: Array<{ now: string; then: string }>, rowLimit: number): Promise<TableDiscard> {
  const [fromNow, fromThen] = [`${ident(table.schema)}.${ident(table.name)}`, `${ident(before.schema)}.${ident(before.name)}`];
  const count = async (client: pg.Client, from: string) => Number((await client.query<{ n: string }>(`select count(*) as n from ${from}`)).rows[0]!.n);
  const result: TableDiscard = {
    table: qualified(table),
    ...(qualified(table) !== qualified(before) ? { tableThen: qualified(before) } : {}),
    rowsNow: await count(now, fromNow),
    rowsThen: await count(past, fromThen),
    compared: '',
  };
  const thenOf = new Map(columns.map((c) => [c.now, c.then]));
  const keyThen = table.key.map((k) => thenOf.get(k));
  if (table.key.length === 0 || keyThen.join('\0') !== before.key.join('\0')) {
    result.compared = 'by count (no common primary key)';
    return result;
  }
  if (Math.max(result.rowsNow, result.rowsThen) > rowLimit) {
    result.compared = `by count (over ${rowLimit.toLocaleString('en-US')} rows)`;
    return result;
  }
  // Over the columns both versions have: a column the migration added is not a change to a row.
  const sql = (key: string[], common: string[], from: string) => `select row(${key.map(ident).join(', ')})::text as k, md5(row(${common.map(ident).join(', ')})::text) as h from ${from}`;
  const rowsOf = async (client: pg.Client, query: string) => new Map((await client.query<{ k: string; h: string }>(query)).rows.map((r) => [r.k, r.h]));
  const nowRows = await rowsOf(now, sql(table.key, columns.map((c) => c.now), fromNow));
  const pastRows = await rowsOf(past, sql(before.key, columns.map((c) => c.then), fromThen));
  let added = 0;
  let changed = 0;
  for (const [k, h] of nowRows) {
    const old = pastRows.get(k);
    if (old === undefined) added++;
    else if (old !== h) changed++;
  }
  let removed = 0;
  for (const k of pastRows.keys()) if (!nowRows.has(k)) removed++;
  return { ...result, added, removed, changed, compared: 'by primary key' };
}
