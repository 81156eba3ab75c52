import type pg from 'pg';
import { classOf } from '../config/resolve.js';
import type { DataClass } from '../config/schema.js';
import type { DatabaseState } from '../db/introspect.js';
import { ident } from '../db/sql.js';
import { type CheckResult, judged } from './result.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const percent = (part: number, whole: number) => `${whole === 0 ? 0 : Math.round((part * 1000) / whole) / 10}%`;

/** What a migration may remove on purpose, by name: `table`, `schema.table`, `table.column`, `schema.table.column`. */
export type RowLossAllowance = string | { table: string; max?: number | undefined; maxPercent?: number | undefined };

export interface Allowances {
  all: boolean;
  droppedTables: string[];
  rowLoss: RowLossAllowance[];
  droppedColumns: string[];
}

/**
 * Whether losing `lost` of `before` rows of this table is within an allowance that names
 * it; when an allowance names it but the loss is beyond its bound, which bound.
 */
function rowLossAllowed(list: RowLossAllowance[], table: { schema: string; name: string; parent?: string }, lost: number, before: number): { ok: boolean; beyond?: string } {
  let beyond: string | undefined;
  for (const entry of list) {
    if (typeof entry === 'string') {
      if (matches([entry], table)) return { ok: true };
      continue;
    }
    if (!matches([entry.table], table)) continue;
    if (entry.max !== undefined && lost > entry.max) beyond = `at most ${fmt(entry.max)} rows`;
    else if (entry.maxPercent !== undefined && lost * 100 > entry.maxPercent * before) beyond = `at most ${entry.maxPercent}%`;
    else return { ok: true };
  }
  return beyond ? { ok: false, beyond } : { ok: false };
}

/** Whether an allowance names this table (or, for a partition, its partitioned table), or this column. */
function matches(list: string[], table: { schema: string; name: string; parent?: string }, column?: string): boolean {
  const names = [`${table.schema}.${table.name}`, table.name];
  if (table.parent) names.push(table.parent, table.parent.slice(table.parent.indexOf('.') + 1));
  const full = column === undefined ? names : names.map((n) => `${n}.${column}`);
  return list.some((entry) => full.includes(entry));
}

/** No table lost, no rows lost, no column that held values dropped, unless allowed. */
export function dataPreservation(before: DatabaseState, after: DatabaseState, allow: Allowances, classes: Record<string, DataClass> = {}): CheckResult {
  const problems: string[] = [];
  const allowed: string[] = [];
  const judge = (finding: string, isAllowed: boolean) => (isAllowed || allow.all ? allowed : problems).push(finding);
  const afterByName = new Map(after.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  let rowsBefore = 0;
  let estimated = 0;
  const tables = before.tables.filter((t) => t.kind !== 'matview');
  for (const table of tables) {
    const key = `${table.schema}.${table.name}`;
    rowsBefore += table.rows;
    const now = afterByName.get(key);
    const dataClass = classOf(classes, table);
    if (dataClass === 'derived' || dataClass === 'ephemeral') {
      // Recomputable or temporary data: its rows may come and go.
      if (now && table.exact && now.exact && now.rows < table.rows) allowed.push(`table ${key} (${dataClass}) lost ${fmt(table.rows - now.rows)} rows`);
      if (!now) judge(`table ${key} (${dataClass}) was dropped`, matches(allow.droppedTables, table));
      continue;
    }
    if (!now) {
      judge(`table ${key} (${fmt(table.rows)} rows) was dropped`, matches(allow.droppedTables, table));
      continue;
    }
    if (!table.exact || !now.exact) {
      estimated++;
    } else if (now.rows < table.rows) {
      const lost = table.rows - now.rows;
      const verdict = rowLossAllowed(allow.rowLoss, table, lost, table.rows);
      const bound = verdict.beyond ? `, beyond the allowance (allow.rowLoss: ${verdict.beyond})` : '';
      judge(`table ${key} lost ${fmt(lost)} of ${fmt(table.rows)} rows (${percent(lost, table.rows)})${bound}`, verdict.ok);
    }
    const remaining = new Set(now.columns ?? []);
    for (const column of table.filledColumns ?? []) {
      if (!remaining.has(column)) {
        judge(`column ${key}.${column}, which held values, was dropped`, matches(allow.droppedColumns, table, column));
      }
    }
  }
  const summary =
    `${tables.length} tables, ${fmt(rowsBefore)} rows before: ` +
    (problems.length === 0 ? (allowed.length === 0 ? 'nothing lost' : `${allowed.length} allowed loss(es)`) : `${problems.length} loss(es)`) +
    (estimated > 0 ? `; ${estimated} big table(s) compared by estimate only` : '');
  return judged('data-preservation', summary, problems, allowed);
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

/** Constraints left NOT VALID now that were not before. */
export function notValidConstraintsCheck(before: DatabaseState, after: DatabaseState): CheckResult {
  const known = new Set(before.notValidConstraints ?? []);
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
