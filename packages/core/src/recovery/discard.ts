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
  /** Asked for with `differingKeys`: the primary key's columns, and the key of every row that differs (its columns' text). */
  primaryKey?: string[];
  differingKeys?: string[][];
}

export interface DiscardOptions {
  /** Also return the keys of the differing rows, for tables with at most this many of them. */
  differingKeys?: number;
  /** Time for row-by-row comparisons; tables left when it is spent are compared by count. */
  budgetMs?: number;
  /**
   * The restore point's manifest: the copy has its names, the live database (when it is
   * the database the restore point was taken of) its OIDs, so tables and columns are
   * matched through it and a renamed table is one table with its changes.
   */
  restorePoint?: DatabaseState;
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
 * database of a rollback): per table, rows added, removed and changed since then.
 */
export async function discardReport(target: DatabaseTarget, live: string, then: string, rowLimit = 1_000_000, options: DiscardOptions = {}): Promise<DiscardReport> {
  const { restorePoint } = options;
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
      const deadline = Date.now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
      for (const pair of matching.pairs) {
        const columns = matchColumns(pair).pairs.map((c) => ({ now: pair.after.columns![c.after]!, past: pair.before.columns![c.before]! }));
        const diff = await compareTable(now, past, pair.after, pastByName.get(qualified(pair.before))!, columns, rowLimit, options, Date.now() > deadline);
        if (diff.rowsNow !== diff.rowsThen || (diff.added ?? 0) + (diff.removed ?? 0) + (diff.changed ?? 0) > 0) report.tables.push(diff);
      }
      return report;
    }),
  );
}

/** A table as one side names it: where to read, its key and its compared columns as SQL. */
interface Side {
  from: string;
  key: string;
  row: string;
}

/** One table now and in the restore point; `columns` pairs the names both versions have. */
async function compareTable(
  now: pg.Client,
  past: pg.Client,
  table: TableInfo,
  before: TableInfo,
  columns: Array<{ now: string; past: string }>,
  rowLimit: number,
  options: DiscardOptions,
  budgetSpent: boolean,
): Promise<TableDiscard> {
  const [fromNow, fromThen] = [`${ident(table.schema)}.${ident(table.name)}`, `${ident(before.schema)}.${ident(before.name)}`];
  const count = async (client: pg.Client, from: string) => Number((await client.query<{ n: string }>(`select count(*) as n from ${from}`)).rows[0]!.n);
  const result: TableDiscard = {
    table: qualified(table),
    ...(qualified(table) !== qualified(before) ? { tableThen: qualified(before) } : {}),
    rowsNow: await count(now, fromNow),
    rowsThen: await count(past, fromThen),
    compared: '',
  };
  const thenOf = new Map(columns.map((c) => [c.now, c.past]));
  const keyThen = table.key.map((k) => thenOf.get(k));
  if (table.key.length === 0 || keyThen.join('\0') !== before.key.join('\0')) {
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
  const sideNow: Side = { from: fromNow, key: rowKeySql(table.key), row: `row(${columns.map((c) => ident(c.now)).join(', ')})` };
  const sideThen: Side = { from: fromThen, key: rowKeySql(before.key), row: `row(${columns.map((c) => ident(c.past)).join(', ')})` };
  const only = await differingBuckets(now, past, sideNow, sideThen, Math.max(result.rowsNow, result.rowsThen));
  const rowsOf = async (client: pg.Client, side: Side) => {
    const where = only(side);
    const sql = `select ${side.key} as k, md5(${side.row}::text) as h from ${side.from}${where.sql}`;
    return new Map((await client.query<{ k: string; h: string }>(sql, where.params)).rows.map((r) => [r.k, r.h]));
  };
  const [nowRows, pastRows] = await Promise.all([rowsOf(now, sideNow), rowsOf(past, sideThen)]);
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
  return { ...compared, primaryKey: table.key, differingKeys: differing.map((k) => JSON.parse(k) as string[]) };
}

/** Tables up to this size are read row by row whole; bigger ones in buckets of about BUCKET_ROWS rows. */
const WHOLE_TABLE_ROWS = 20_000;
const BUCKET_ROWS = 256;

/**
 * Reading a million rows' hashes into Node takes seconds a side, while the server sums
 * them in one: rows are grouped into buckets by their key, each bucket summed (count and
 * the sum of its rows' hashes) on both sides, and only the buckets that differ are read
 * row by row. A few writes in a big table cost two scans and a few hundred rows. The
 * answer is the filter each side reads its rows through.
 */
async function differingBuckets(now: pg.Client, past: pg.Client, sideNow: Side, sideThen: Side, rows: number): Promise<(side: Side) => { sql: string; params: unknown[] }> {
  if (rows <= WHOLE_TABLE_ROWS) return () => ({ sql: '', params: [] });
  const buckets = 2 ** Math.min(16, Math.ceil(Math.log2(rows / BUCKET_ROWS)));
  // hashtext: half the cost of md5 here, and both sides are on one server (the same hash function).
  const bucket = (side: Side) => `(hashtext(${side.key}) & ${buckets - 1})`;
  const sums = async (client: pg.Client, side: Side) =>
    new Map(
      (await client.query<{ b: number; s: string }>(`select ${bucket(side)} as b, count(*) || ':' || sum(hashtextextended(${side.row}::text, 0)) as s from ${side.from} group by 1`)).rows.map((r) => [
        r.b,
        r.s,
      ]),
    );
  const [a, b] = await Promise.all([sums(now, sideNow), sums(past, sideThen)]);
  const differing = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  if (differing.length === 0) return () => ({ sql: ' where false', params: [] });
  return (side) => ({ sql: ` where ${bucket(side)} = any($1::int[])`, params: [differing] });
}

/** A row's key as SQL: the key columns' text in a JSON array, unambiguous and readable back (`jsonb_to_recordset`). */
export function rowKeySql(columns: string[]): string {
  return `json_build_array(${columns.map((c) => `${ident(c)}::text`).join(', ')})::text`;
}
