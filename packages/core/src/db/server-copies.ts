import type pg from 'pg';

/** A database a restore of `live` replaced and kept (`<live>__lifeboat_replaced_<YYYYMMDDHHMMSS>[_n]`). */
export interface ReplacedDatabase {
  name: string;
  /** From the name's stamp (UTC). */
  createdAt: string;
  /** Several replaced in the same second are numbered: the higher, the newer. */
  order: number;
}

const REPLACED = /^(.*)__lifeboat_replaced_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:_(\d+))?$/;

/** The databases restores of `live` replaced, newest first. Other databases' copies are not listed (nor ever touched). */
export async function replacedDatabases(client: pg.Client, live: string): Promise<ReplacedDatabase[]> {
  const { rows } = await client.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [`${live}__lifeboat_replaced_`]);
  return rows
    .flatMap(({ datname }) => {
      const match = REPLACED.exec(datname);
      if (!match || match[1] !== live) return [];
      const [, , y, mo, d, h, mi, s, n] = match;
      return [{ name: datname, createdAt: `${y}-${mo}-${d}T${h}:${mi}:${s}Z`, order: Number(n ?? 1) }];
    })
    .sort((a, b) => byNewest(a, b) || b.order - a.order);
}

/**
 * Newest first, by time: a replaced database's stamp has whole seconds ("…:05Z") and a
 * snapshot's time has milliseconds ("…:05.950Z"), which text order would put after it.
 */
export function byNewest(a: { createdAt: string }, b: { createdAt: string }): number {
  return Date.parse(b.createdAt) - Date.parse(a.createdAt);
}

/** Each named database's size on the server; databases that do not exist are left out. */
export async function databaseSizes(client: pg.Client, names: string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const { rows } = await client.query<{ datname: string; bytes: string }>('select datname, pg_database_size(oid)::text as bytes from pg_database where datname = any($1::text[])', [names]);
  return new Map(rows.map((r) => [r.datname, Number(r.bytes)]));
}
