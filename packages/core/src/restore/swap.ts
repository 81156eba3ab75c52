import type pg from 'pg';
import { otherSessions } from '../db/databases.js';
import { ident } from '../db/sql.js';
import { LifeboatError } from '../errors.js';
import { failpoint } from '../failpoint.js';

/**
 * Make `incoming` the live database called `live`, keeping the old one as `keep`.
 * Connections to `live` are closed and refused for the moment of the swap; both
 * renames happen in one transaction, so there is never a moment with no `live`.
 */
export async function swapDatabases(client: pg.Client, live: string, incoming: string, keep: string, allowed?: boolean): Promise<void> {
  // `allowed`: what the live database allowed before (recover passes the recorded value: a crash may have left it sealed).
  allowed ??= await allowsConnections(client, live);
  await client.query(`alter database ${ident(live)} with allow_connections false`);
  await failpoint('swap:after-disallow');
  try {
    await closeSessions(client, live);
    await client.query('begin');
    try {
      await client.query(`alter database ${ident(live)} rename to ${ident(keep)}`);
      await client.query(`alter database ${ident(incoming)} rename to ${ident(live)}`);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    }
  } catch (error) {
    await client.query(`alter database ${ident(live)} with allow_connections ${allowed}`).catch(() => {});
    throw error;
  }
  await failpoint('swap:after-rename');
  // The kept copy is a normal database again, for inspection or a later restore.
  await client.query(`alter database ${ident(keep)} with allow_connections ${allowed}`).catch(() => {});
}

async function closeSessions(client: pg.Client, database: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await client.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    const left = await otherSessions(client, database);
    if (left === 0) return;
    if (Date.now() > deadline) {
      throw new LifeboatError('DATABASE_BUSY', `${left} session(s) on "${database}" could not be closed for the swap.`, {
        hint: 'The role needs to own those sessions or have pg_signal_backend; stop the app and retry.',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** pg_database.datallowconn; true for a database that is not there. */
export async function allowsConnections(client: pg.Client, database: string): Promise<boolean> {
  const { rows } = await client.query<{ allow: boolean }>('select datallowconn as allow from pg_database where datname = $1', [database]);
  return rows[0]?.allow ?? true;
}
