import type pg from 'pg';
import { ident, qualifiedName } from '../db/sql.js';
import { rowKeySql } from './discard.js';

/** A table as the app-writes record and `reapply` name it. */
export interface TableName {
  schema: string;
  name: string;
}

export interface Column {
  name: string;
  /** `format_type`: the declared type with its modifier, as SQL. */
  type: string;
  primaryKey: boolean;
  /** A generated column (never written), or an identity column GENERATED ALWAYS (not updated). */
  generated: boolean;
  identityAlways: boolean;
}

/** One row found by its key: the hash of its columns and, when asked, their text (null for NULL). */
export interface KeyedRow {
  hash: string;
  values?: Array<string | null>;
}

/** A table's quoted name, for SQL. */
export function quotedName(table: TableName): string {
  return qualifiedName(table.schema, table.name);
}

/** Key columns' text as JSON, the same whether it came from PostgreSQL or from a record. */
export function keyId(key: string[]): string {
  return JSON.stringify(key);
}

/**
 * Rows are compared across databases by an md5 of their text: the same settings on every
 * connection that hashes, or a database-level TimeZone or DateStyle would make equal rows differ.
 */
export async function normalizeSession(client: pg.Client): Promise<void> {
  await client.query("set datestyle = 'ISO, MDY'; set intervalstyle = 'postgres'; set timezone = 'UTC'; set extra_float_digits = 1; set bytea_output = 'hex'; set lc_monetary = 'C'");
}

/** A row's hash over these columns, in this order. */
export function rowHashSql(columns: string[]): string {
  return `md5(row(${columns.map(ident).join(', ')})::text)`;
}

/** The table's columns in order, or undefined when it does not exist. */
export async function tableColumns(client: pg.Client, table: TableName): Promise<Column[] | undefined> {
  const { rows: found } = await client.query<{ oid: string | null }>('select to_regclass($1)::oid::text as oid', [quotedName(table)]);
  const oid = found[0]?.oid;
  if (!oid) return undefined;
  const { rows } = await client.query<Column>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            exists(select 1 from pg_index i where i.indrelid = a.attrelid and i.indisprimary and a.attnum = any(i.indkey)) as "primaryKey",
            a.attgenerated <> '' as generated, a.attidentity = 'a' as "identityAlways"
       from pg_attribute a where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [oid],
  );
  return rows;
}

/** Columns, types and primary key, as one comparable string. */
export function structureOf(columns: Array<Pick<Column, 'name' | 'type'> & { primaryKey?: boolean }>): string {
  return JSON.stringify(columns.map((c) => [c.name, c.type, c.primaryKey ?? null]));
}

const BATCH = 5_000;

/**
 * The rows with these keys, by the primary key's index: the keys travel as one JSON
 * parameter, read back with the key columns' own types (`jsonb_to_recordset`).
 */
export async function rowsByKey(
  client: pg.Client,
  table: TableName,
  key: Column[],
  columns: string[],
  keys: string[][],
  options: { values?: boolean; forUpdate?: boolean } = {},
): Promise<Map<string, KeyedRow>> {
  const names = key.map((c) => c.name);
  const keyColumns = names.map(ident).join(', ');
  const definition = key.map((c) => `${ident(c.name)} ${c.type}`).join(', ');
  const values = options.values ? `, json_build_array(${columns.map((c) => `${ident(c)}::text`).join(', ')})::text as v` : '';
  const sql =
    `select ${rowKeySql(names)} as k, ${rowHashSql(columns)} as h${values} from ${quotedName(table)}` +
    ` where (${keyColumns}) in (select ${keyColumns} from jsonb_to_recordset($1::jsonb) as k(${definition}))` +
    (options.forUpdate ? ' for update' : '');
  const found = new Map<string, KeyedRow>();
  for (let i = 0; i < keys.length; i += BATCH) {
    const param = JSON.stringify(keys.slice(i, i + BATCH).map((k) => Object.fromEntries(names.map((n, j) => [n, k[j]]))));
    const { rows } = await client.query<{ k: string; h: string; v?: string }>(sql, [param]);
    for (const row of rows) {
      found.set(keyId(JSON.parse(row.k) as string[]), { hash: row.h, ...(row.v !== undefined ? { values: JSON.parse(row.v) as Array<string | null> } : {}) });
    }
  }
  return found;
}
