import type pg from 'pg';
import { classOf } from '../config/classes.js';
import type { DataClass } from '../config/schema.js';
import { matchColumns, matchTables, namesOf, qualified, type Relation, renames } from '../db/identity.js';
import { type DatabaseState, sameKeyHash, type TableCount } from '../db/introspect.js';
import { ident } from '../db/sql.js';
import { type CheckResult, judged } from './result.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const percent = (part: number, whole: number) => `${whole === 0 ? 0 : Math.round((part * 1000) / whole) / 10}%`;

/** What a migration may remove on purpose, by name: `table`, `schema.table`, `table.column`, `schema.table.column`. */
export type RowLossAllowance = string | { table: string; max?: number | undefined; maxPercent?: number | undefined };

/** Values a migration may wipe (set to NULL, or empty) on purpose: `table.column` or `schema.table.column`, all or at most `max` / `maxPercent`. */
export type ValueLossAllowance = string | { column: string; max?: number | undefined; maxPercent?: number | undefined };

export interface Allowances {
  all: boolean;
  droppedTables: string[];
  rowLoss: RowLossAllowance[];
  droppedColumns: string[];
  valueLoss: ValueLossAllowance[];
}

/**
 * Whether losing `lost` of `before` is within an allowance that names one of `names`;
 * when one names it but the loss is beyond its bound, which bound.
 */
function lossAllowed(
  list: Array<string | { max?: number | undefined; maxPercent?: number | undefined; name: string }>,
  names: string[],
  lost: number,
  before: number,
  unit: string,
): { ok: boolean; beyond?: string } {
  let beyond: string | undefined;
  for (const entry of list) {
    if (typeof entry === 'string') {
      if (names.includes(entry)) return { ok: true };
      continue;
    }
    if (!names.includes(entry.name)) continue;
    if (entry.max !== undefined && lost > entry.max) beyond = `at most ${fmt(entry.max)} ${unit}`;
    else if (entry.maxPercent !== undefined && lost * 100 > entry.maxPercent * before) beyond = `at most ${entry.maxPercent}%`;
    else return { ok: true };
  }
  return beyond ? { ok: false, beyond } : { ok: false };
}

/** A table's names before and after (a renamed table may be named either way), or a column's under each. */
function namesOfPair(before: Relation, after: Relation | undefined, columns?: string[]): string[] {
  const tables = [...new Set([...namesOf(before), ...(after ? namesOf(after) : [])])];
  return columns === undefined ? tables : tables.flatMap((t) => [...new Set(columns)].map((c) => `${t}.${c}`));
}

/**
 * Rows a table lost at least, even where as many were inserted: the sum over its key's
 * hash buckets of the rows each bucket lost. Undefined when the two cannot be compared
 * (no primary key, another key, a key type that hashes otherwise).
 */
function rowsRemoved(before: TableCount, after: TableCount, keyNow: Array<string | undefined> | undefined): number | undefined {
  const [was, now] = [before.buckets, after.buckets];
  if (!was || !now || was.hash !== now.hash || keyNow === undefined) return undefined;
  if (keyNow.length !== now.key.length || keyNow.some((k, i) => k !== now.key[i]) || !sameKeyHash(was.types, now.types)) return undefined;
  return was.counts.reduce((sum, n, i) => sum + Math.max(0, n - (now.counts[i] ?? 0)), 0);
}

/**
 * No table lost, no rows lost (nor deleted and replaced by others), no column that held
 * values dropped, no values wiped (set to NULL, or to '' in text), unless allowed. Tables
 * and columns are matched by identity first (a rename is not a loss), then by name.
 */
export function dataPreservation(before: DatabaseState, after: DatabaseState, allow: Allowances, classes: Record<string, DataClass> = {}): CheckResult {
  const problems: string[] = [];
  const allowed: string[] = [];
  const judge = (finding: string, isAllowed: boolean) => (isAllowed || allow.all ? allowed : problems).push(finding);
  const tables = before.tables.filter((t) => t.kind !== 'matview');
  const matching = matchTables({ identity: before.identity, tables }, { identity: after.identity, tables: after.tables.filter((t) => t.kind !== 'matview') });
  const notes = renames(matching);
  let rowsBefore = 0;
  let estimated = 0;
  let byStatistics = 0;
  const byCount: string[] = [];
  for (const table of matching.gone) {
    rowsBefore += table.rows;
    const dataClass = classOf(classes, table);
    const what = dataClass === 'derived' || dataClass === 'ephemeral' ? `(${dataClass})` : `(${fmt(table.rows)} rows)`;
    judge(
      `table ${qualified(table)} ${what} was dropped`,
      namesOf(table).some((n) => allow.droppedTables.includes(n)),
    );
  }
  for (const pair of matching.pairs) {
    const { before: table, after: now } = pair;
    const key = qualified(table);
    rowsBefore += table.rows;
    const dataClass = [classOf(classes, table), classOf(classes, now)].find((c) => c !== 'critical') ?? 'critical';
    if (dataClass === 'derived' || dataClass === 'ephemeral') {
      // Recomputable or temporary data: its rows may come and go.
      if (table.exact && now.exact && now.rows < table.rows) allowed.push(`table ${key} (${dataClass}) lost ${fmt(table.rows - now.rows)} rows`);
      continue;
    }
    const columns = matchColumns(pair);
    let removed = 0;
    if (table.stats) {
      // Outside the deploy's at-risk set: the untouched-tables check judges it, by its statistics.
      byStatistics++;
    } else if (!table.exact || !now.exact) {
      estimated++;
    } else {
      const lost = Math.max(0, table.rows - now.rows);
      // The key as it is named now: a renamed key column still keys the same rows.
      const keyNow = table.buckets?.key.map((k) => {
        const at = columns.pairs.find((c) => table.columns?.[c.before] === k);
        return at === undefined ? undefined : now.columns?.[at.after];
      });
      const replaced = rowsRemoved(table, now, keyNow);
      // A manifest older than the buckets says nothing here.
      if (replaced === undefined && table.values && table.rows > 0) byCount.push(key);
      removed = Math.max(lost, replaced ?? 0);
      if (removed > 0) {
        const verdict = lossAllowed(rowLoss(allow), namesOfPair(table, now), removed, table.rows, 'rows');
        const bound = verdict.beyond ? `, beyond the allowance (allow.rowLoss: ${verdict.beyond})` : '';
        const finding =
          removed === lost
            ? `table ${key} lost ${fmt(lost)} of ${fmt(table.rows)} rows (${percent(lost, table.rows)})`
            : lost === 0
              ? `table ${key}: at least ${fmt(removed)} of ${fmt(table.rows)} rows were replaced (deleted, and others inserted)`
              : `table ${key} lost ${fmt(lost)} of ${fmt(table.rows)} rows (${percent(lost, table.rows)}), and at least ${fmt(removed - lost)} more were replaced (deleted, and others inserted)`;
        judge(`${finding}${bound}`, verdict.ok);
      }
      for (const column of columns.pairs) {
        const finding = valueLoss(table, now, column, removed);
        if (!finding) continue;
        const names = namesOfPair(table, now, [table.columns![column.before]!, now.columns![column.after]!]);
        const verdict = lossAllowed(valueLossList(allow), names, finding.lost, finding.before, 'values');
        const bound = verdict.beyond ? `, beyond the allowance (allow.valueLoss: ${verdict.beyond})` : '';
        judge(`${finding.text}${bound}`, verdict.ok);
      }
    }
    const filled = table.values ? (table.columns ?? []).filter((_, i) => (table.values![i] ?? 0) > 0) : (table.filledColumns ?? []);
    for (const i of columns.gone) {
      const column = table.columns?.[i];
      if (column === undefined || !filled.includes(column)) continue;
      judge(
        `column ${key}.${column}, which held values, was dropped`,
        namesOfPair(table, now, [column]).some((n) => allow.droppedColumns.includes(n)),
      );
    }
  }
  if (byCount.length > 0) notes.push(`compared by row count only (no primary key, or it changed): ${byCount.join(', ')}`);
  const summary =
    `${tables.length} tables, ${fmt(rowsBefore)} rows before: ` +
    (problems.length === 0 ? (allowed.length === 0 ? 'nothing lost' : `${allowed.length} allowed loss(es)`) : `${problems.length} loss(es)`) +
    (estimated > 0 ? `; ${estimated} big table(s) compared by estimate only` : '') +
    (byStatistics > 0 ? `; ${byStatistics} table(s) outside the at-risk set, not counted` : '');
  return judged('data-preservation', summary, problems, allowed, notes);
}

const rowLoss = (allow: Allowances) => allow.rowLoss.map((e) => (typeof e === 'string' ? e : { ...e, name: e.table }));
const valueLossList = (allow: Allowances) => allow.valueLoss.map((e) => (typeof e === 'string' ? e : { ...e, name: e.column }));

/**
 * Values a column lost beyond the rows its table lost: fewer values that are not NULL
 * (and, where the column's type has an empty value, not empty). Rows deleted take their
 * values with them; those are the row check's to judge. A string column converted with
 * `nullif(c, '')` loses only empty strings, which were no values.
 */
function valueLoss(table: TableCount, now: TableCount, column: { before: number; after: number }, rowsRemoved: number): { text: string; lost: number; before: number } | undefined {
  const wasValues = table.values?.[column.before];
  const nowValues = now.values?.[column.after];
  if (wasValues === undefined || nowValues === undefined) return undefined;
  const was = table.nonEmpty?.[column.before] ?? wasValues;
  const lost = was - (now.nonEmpty?.[column.after] ?? nowValues) - rowsRemoved;
  if (lost <= 0) return undefined;
  const how = wasValues - nowValues - rowsRemoved >= lost ? 'set to NULL' : 'emptied or set to NULL';
  const besides = rowsRemoved > 0 ? `, besides the ${fmt(rowsRemoved)} rows removed` : '';
  return { text: `column ${qualified(table)}.${table.columns![column.before]}: ${fmt(lost)} of ${fmt(was)} values were ${how} (${percent(lost, was)}${besides})`, lost, before: was };
}

/** Indexes invalid now that were not before (a failed CREATE INDEX CONCURRENTLY). */
export function invalidIndexesCheck(before: DatabaseState, after: DatabaseState): CheckResult {
  const known = new Set(before.invalidIndexes ?? []);
  const found = (after.invalidIndexes ?? []).filter((i) => !known.has(i));
  return judged(
    'invalid-indexes',
    found.length === 0 ? 'no new invalid index' : `${found.length} new invalid index(es)`,
    found.map((i) => `index ${i} is INVALID (pg_index.indisvalid = false)`),
  );
}

/** Constraints left NOT VALID now that were not before (on a renamed table, under its new name). */
export function notValidConstraintsCheck(before: DatabaseState, after: DatabaseState): CheckResult {
  const known = new Set(before.notValidConstraints ?? []);
  for (const { before: was, after: now } of matchTables(before, after).pairs) {
    const [from, to] = [`${qualified(was)}.`, `${qualified(now)}.`];
    if (from === to) continue;
    for (const name of before.notValidConstraints ?? []) if (name.startsWith(from)) known.add(to + name.slice(from.length));
  }
  const found = (after.notValidConstraints ?? []).filter((c) => !known.has(c));
  return judged(
    'not-valid-constraints',
    found.length === 0 ? 'no constraint left NOT VALID' : `${found.length} constraint(s) left NOT VALID`,
    found.map((c) => `constraint ${c} is NOT VALID`),
  );
}

/** Sequences whose next value is not above the max of the column they feed (the next insert would collide). */
export async function sequencesCheck(client: pg.Client): Promise<CheckResult> {
  const { rows: owned } = await client.query<{ seqschema: string; seqname: string; schema: string; tbl: string; col: string; increment: string }>(
    `with feeds as (
       -- OWNED BY and identity columns
       select d.objid as seq, d.refobjid as rel, d.refobjsubid as attnum from pg_depend d
        where d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass
          and d.deptype in ('a', 'i') and d.refobjsubid > 0
       union
       -- column defaults calling nextval('…')
       select d.refobjid, ad.adrelid, ad.adnum from pg_attrdef ad
         join pg_depend d on d.classid = 'pg_attrdef'::regclass and d.objid = ad.oid and d.refclassid = 'pg_class'::regclass
     )
     select distinct sn.nspname as seqschema, sc.relname as seqname, n.nspname as schema, c.relname as tbl,
            a.attname as col, s.seqincrement::text as increment
       from feeds f
       join pg_class sc on sc.oid = f.seq and sc.relkind = 'S'
       join pg_namespace sn on sn.oid = sc.relnamespace
       join pg_sequence s on s.seqrelid = sc.oid
       join pg_class c on c.oid = f.rel and not c.relispartition
       join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attnum = f.attnum
      where a.atttypid in ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
        and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
      order by 1, 2`,
  );
  const problems: string[] = [];
  for (const row of owned) {
    if (Number(row.increment) < 0) continue;
    const [{ max }] = (await client.query<{ max: string | null }>(`select max(${ident(row.col)})::text as max from ${ident(row.schema)}.${ident(row.tbl)}`)).rows as [{ max: string | null }];
    if (max === null) continue;
    const [state] = (await client.query<{ last: string; called: boolean }>(`select last_value::text as last, is_called as called from ${ident(row.seqschema)}.${ident(row.seqname)}`)).rows;
    const next = BigInt(state!.last) + (state!.called ? BigInt(row.increment) : 0n);
    if (next <= BigInt(max)) {
      problems.push(`sequence ${row.seqschema}.${row.seqname} would next give ${next}, but ${row.schema}.${row.tbl}.${row.col} already holds ${max}`);
    }
  }
  return judged('sequences', `${owned.length} sequence(s) checked`, problems);
}
