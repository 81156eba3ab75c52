import type pg from 'pg';
import { withClient } from '../db/connect.js';
import { listTables, type TableInfo } from '../db/introspect.js';
import { ident } from '../db/sql.js';
import type { DatabaseTarget } from '../db/target.js';

/** What going back to a restore point throws away in one table. */
export interface TableDiscard {
  table: string;
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
  /** Rows compared row by row only up to this size per table; bigger ones by count. */
  rowLimit: number;
}

/**
 * Compare the live database with the restore point's copy (the verified staging
 * database of a rollback): per table, rows added, removed and changed since then.
 */
export async function discardReport(target: DatabaseTarget, live: string, then: string, rowLimit = 1_000_000): Promise<DiscardReport> {
  return withClient(target, live, (now) =>
    withClient(target, then, async (past) => {
      const key = (t: TableInfo) => `${t.schema}.${t.name}`;
      const nowTables = new Map((await listTables(now)).filter((t) => t.kind !== 'matview').map((t) => [key(t), t]));
      const pastTables = new Map((await listTables(past)).filter((t) => t.kind !== 'matview').map((t) => [key(t), t]));
      const report: DiscardReport = {
        tables: [],
        tablesOnlyNow: [...nowTables.keys()].filter((k) => !pastTables.has(k)),
        tablesOnlyThen: [...pastTables.keys()].filter((k) => !nowTables.has(k)),
        rowLimit,
      };
      for (const [name, table] of nowTables) {
        const before = pastTables.get(name);
        if (!before) continue;
        const diff = await compareTable(now, past, table, before, rowLimit);
        if (diff.rowsNow !== diff.rowsThen || (diff.added ?? 0) + (diff.removed ?? 0) + (diff.changed ?? 0) > 0) report.tables.push(diff);
      }
      return report;
    }),
  );
}

async function compareTable(now: pg.Client, past: pg.Client, table: TableInfo, before: TableInfo, rowLimit: number): Promise<TableDiscard> {
  const from = `${ident(table.schema)}.${ident(table.name)}`;
  const count = async (client: pg.Client) => Number((await client.query<{ n: string }>(`select count(*) as n from ${from}`)).rows[0]!.n);
  const result: TableDiscard = { table: `${table.schema}.${table.name}`, rowsNow: await count(now), rowsThen: await count(past), compared: '' };
  const pk = await primaryKey(now, table);
  const pkThen = await primaryKey(past, before);
  if (pk.length === 0 || pk.join() !== pkThen.join()) {
    result.compared = 'by count (no common primary key)';
    return result;
  }
  if (Math.max(result.rowsNow, result.rowsThen) > rowLimit) {
    result.compared = `by count (over ${rowLimit.toLocaleString('en-US')} rows)`;
    return result;
  }
  // Over the columns both versions have: a column the migration added is not a change to a row.
  const common = table.columns.filter((c) => before.columns.includes(c));
  const sql = `select row(${pk.map(ident).join(', ')})::text as k, md5(row(${common.map(ident).join(', ')})::text) as h from ${from}`;
  const rowsOf = async (client: pg.Client) => new Map((await client.query<{ k: string; h: string }>(sql)).rows.map((r) => [r.k, r.h]));
  const [nowRows, pastRows] = [await rowsOf(now), await rowsOf(past)];
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

async function primaryKey(client: pg.Client, table: TableInfo): Promise<string[]> {
  const { rows } = await client.query<{ col: string }>(
    `select a.attname as col from pg_index i
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indisprimary and i.indrelid = $1::regclass
      order by array_position(i.indkey::int2[], a.attnum)`,
    [`${ident(table.schema)}.${ident(table.name)}`],
  );
  return rows.map((r) => r.col);
}
