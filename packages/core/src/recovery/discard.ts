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
  /** Asked for with `differingKeys`: the primary key's columns, and the key of every row that differs (its columns' text). */
  primaryKey?: string[];
  differingKeys?: string[][];
}

export interface DiscardOptions {
  /** Also return the keys of the differing rows, for tables with at most this many of them. */
  differingKeys?: number;
  /** Time for row-by-row comparisons; tables left when it is spent are compared by count. */
  budgetMs?: number;
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
export async function discardReport(target: DatabaseTarget, live: string, then: string, rowLimit = 1_000_000, options: DiscardOptions = {}): Promise<DiscardReport> {
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
      const deadline = Date.now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
      for (const [name, table] of nowTables) {
        const before = pastTables.get(name);
        if (!before) continue;
        const diff = await compareTable(now, past, table, before, rowLimit, options, Date.now() > deadline);
        if (diff.rowsNow !== diff.rowsThen || (diff.added ?? 0) + (diff.removed ?? 0) + (diff.changed ?? 0) > 0) report.tables.push(diff);
      }
      return report;
    }),
  );
}

async function compareTable(now: pg.Client, past: pg.Client, table: TableInfo, before: TableInfo, rowLimit: number, options: DiscardOptions, budgetSpent = false): Promise<TableDiscard> {
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
  if (budgetSpent) {
    result.compared = 'by count (the time for comparisons was spent)';
    return result;
  }
  // Over the columns both versions have: a column the migration added is not a change to a row.
  const common = table.columns.filter((c) => before.columns.includes(c));
  const row = `row(${common.map(ident).join(', ')})`;
  const only = await differingBuckets(now, past, from, rowKeySql(pk), row, Math.max(result.rowsNow, result.rowsThen));
  const sql = `select ${rowKeySql(pk)} as k, md5(${row}::text) as h from ${from}${only.where}`;
  const rowsOf = async (client: pg.Client) => new Map((await client.query<{ k: string; h: string }>(sql, only.params)).rows.map((r) => [r.k, r.h]));
  const [nowRows, pastRows] = await Promise.all([rowsOf(now), rowsOf(past)]);
  let added = 0;
  let changed = 0;
  for (const [k, h] of nowRows) {
    const old = pastRows.get(k);
    if (old === undefined) added++;
    else if (old !== h) changed++;
  }
  let removed = 0;
  for (const k of pastRows.keys()) if (!nowRows.has(k)) removed++;
  const compared = { ...result, added, removed, changed, compared: 'by primary key' };
  if (options.differingKeys === undefined || added + removed + changed > options.differingKeys) return compared;
  const differing = [...nowRows].filter(([k, h]) => pastRows.get(k) !== h).map(([k]) => k);
  for (const k of pastRows.keys()) if (!nowRows.has(k)) differing.push(k);
  return { ...compared, primaryKey: pk, differingKeys: differing.map((k) => JSON.parse(k) as string[]) };
}

/** Tables up to this size are read row by row whole; bigger ones in buckets of about BUCKET_ROWS rows. */
const WHOLE_TABLE_ROWS = 20_000;
const BUCKET_ROWS = 256;

/**
 * Reading a million rows' hashes into Node takes seconds a side, while the server sums
 * them in one: rows are grouped into buckets by their key, each bucket summed (count and
 * the sum of its rows' hashes) on both sides, and only the buckets that differ are read
 * row by row. A few writes in a big table cost two scans and a few hundred rows.
 */
async function differingBuckets(now: pg.Client, past: pg.Client, from: string, keySql: string, rowSql: string, rows: number): Promise<{ where: string; params: unknown[] }> {
  if (rows <= WHOLE_TABLE_ROWS) return { where: '', params: [] };
  const buckets = 2 ** Math.min(16, Math.ceil(Math.log2(rows / BUCKET_ROWS)));
  // hashtext: half the cost of md5 here, and both sides are on one server (the same hash function).
  const bucket = `(hashtext(${keySql}) & ${buckets - 1})`;
  const sql = `select ${bucket} as b, count(*) || ':' || sum(hashtextextended(${rowSql}::text, 0)) as s from ${from} group by 1`;
  const sums = async (client: pg.Client) => new Map((await client.query<{ b: number; s: string }>(sql)).rows.map((r) => [r.b, r.s]));
  const [a, b] = await Promise.all([sums(now), sums(past)]);
  const differing = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  if (differing.length === 0) return { where: ' where false', params: [] };
  return { where: ` where ${bucket} = any($1::int[])`, params: [differing] };
}

/** A row's key as SQL: the key columns' text in a JSON array, unambiguous and readable back (`jsonb_to_recordset`). */
export function rowKeySql(columns: string[]): string {
  return `json_build_array(${columns.map((c) => `${ident(c)}::text`).join(', ')})::text`;
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
