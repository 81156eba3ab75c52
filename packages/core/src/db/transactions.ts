import type pg from 'pg';

/**
 * Whether anything was written while a tool ran, from transaction ids: PostgreSQL gives
 * a transaction an id only when it first writes, so if no transaction that started after
 * a point has committed, nothing was written since (on the whole server: another
 * database's writes count too, which only ever errs towards restoring).
 */

/** The first transaction id not yet assigned (xid8, as text): every later writer gets one at or above it. */
export async function nextTransactionId(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ xid: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as xid');
  return rows[0]!.xid;
}

/**
 * Transactions that got an id at or after `from` and committed or are still running:
 * 0 means nothing was written since. Past `limit` ids (a busy server) the answer is
 * Infinity, which callers read as "written".
 */
export async function committedSince(client: pg.Client, from: string, limit = 10_000): Promise<number> {
  const to = await nextTransactionId(client);
  if (BigInt(to) - BigInt(from) > BigInt(limit)) return Number.POSITIVE_INFINITY;
  const { rows } = await client.query<{ n: number }>(
    `select count(*)::int as n from generate_series($1::bigint, $2::bigint - 1) as x
      where pg_xact_status(x::text::xid8) is distinct from 'aborted'`,
    [from, to],
  );
  return rows[0]!.n;
}
