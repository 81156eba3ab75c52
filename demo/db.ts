/** The demo's own look at the database, with `pg`: row counts, row digests, and its cleanup. */
import type pg from 'pg';
import { ident, urlFor, withClient } from '../dev/pg.js';

export { ident, urlFor, withClient };

/** Per table: the row count, or null when the table does not exist. */
export type Counts = Record<string, number | null>;
/** Per table (schema.table), every table in the database: an md5 over all its rows in a fixed order. */
export type Digests = Record<string, string>;

export async function exec(url: string, sql: string): Promise<void> {
  await withClient(url, (client) => client.query(sql));
}

export async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(url, async (client) => (await client.query<T>(sql, params)).rows);
}

export async function queryOne<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  return (await query<T>(url, sql, params))[0]!;
}

export async function counts(url: string, tables: readonly string[]): Promise<Counts> {
  return withClient(url, async (client) => {
    const out: Counts = {};
    for (const t of tables) {
      const { rows } = await client.query<{ exists: boolean }>('select to_regclass($1) is not null as exists', [`public.${t}`]);
      out[t] = rows[0]!.exists ? Number((await client.query<{ n: string }>(`select count(*) as n from public.${ident(t)}`)).rows[0]!.n) : null;
    }
    return out;
  });
}

/** Every table of the database, the migration tables included. */
export async function digests(url: string): Promise<Digests> {
  return withClient(url, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      `select format('%I.%I', schemaname, tablename) as name from pg_tables
        where schemaname not like 'pg\\_%' and schemaname <> 'information_schema' order by 1`,
    );
    const out: Digests = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ md5: string | null }>(`select md5(string_agg(x::text, E'\\n' order by x::text)) as md5 from ${name} x`);
      out[name] = rows[0]!.md5 ?? '(empty)';
    }
    return out;
  });
}

/** A closed connection's backend can linger in pg_stat_activity for a moment; a clone needs none. */
export async function waitForNoSessions(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [database]);
      if (rows[0]!.n === 0 || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

/** Drop only what this run made: the database, Lifeboat's databases beside it, and its clone snapshots. */
export async function dropOwnDatabases(adminUrl: string, database: string, clones: string[]): Promise<string[]> {
  return withClient(adminUrl, async (client) => {
    const like = `${database.replace(/[\\%_]/g, (c) => `\\${c}`)}\\_\\_lifeboat\\_%`;
    const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname = any($1::text[]) or datname like $2 order by 1', [[database, ...clones], like]);
    for (const { datname } of rows) await client.query(`drop database if exists ${ident(datname)} with (force)`);
    return rows.map((r) => r.datname);
  });
}
