import type pg from 'pg';
import { LifeboatError } from '../errors.js';
import type { DatabaseSettings } from './introspect.js';
import { ident, literal } from './sql.js';

/**
 * Whole-database operations, run from a maintenance connection (never from a
 * session on the database being copied, renamed or dropped).
 */

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

export async function canCreateDatabases(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>('select rolcreatedb or rolsuper as ok from pg_roles where rolname = current_user');
  return rows[0]?.ok === true;
}

/** Sessions on `database` other than ours. */
export async function otherSessions(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  return rows[0]?.n ?? 0;
}

/**
 * CREATE DATABASE … TEMPLATE: a copy on the server. On PostgreSQL 15+ with STRATEGY
 * FILE_COPY, a file copy (about twice as fast as the default WAL_LOG on a 1 GB database,
 * which also writes the whole copy to the WAL); it costs a checkpoint before and after.
 */
export async function copyDatabase(client: pg.Client, source: string, copy: string, owner?: string): Promise<void> {
  const { rows } = await client.query<{ num: string }>("select current_setting('server_version_num') as num");
  const strategy = Number(rows[0]!.num) >= 150000 ? ' strategy file_copy' : '';
  try {
    await client.query(`create database ${ident(copy)} template ${ident(source)}${owner ? ` owner ${ident(owner)}` : ''}${strategy}`);
  } catch (error) {
    const err = error as { code?: string; message?: string };
    if (err.code === '55006') {
      const n = await otherSessions(client, source).catch(() => 0);
      throw new LifeboatError('DATABASE_BUSY', `Cannot copy "${source}": ${n > 0 ? `${n} other session(s) are` : 'another session is'} connected to it.`, {
        hint: 'A clone needs the database to itself: stop the app or use --strategy dump (online, consistent).',
        cause: error,
      });
    }
    if (err.code === '42501') {
      throw new LifeboatError('DB_PERMISSION', `The role may not create databases (${err.message}).`, {
        hint: 'Grant CREATEDB to the role (ALTER ROLE … CREATEDB) or use --strategy dump.',
        cause: error,
      });
    }
    throw error;
  }
}

export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  // FORCE (PostgreSQL 13+) ends stray sessions; our scratch databases have no users.
  await client.query(`drop database if exists ${ident(name)} with (force)`);
}

export async function setAllowConnections(client: pg.Client, name: string, allow: boolean): Promise<void> {
  await client.query(`alter database ${ident(name)} with allow_connections ${allow ? 'true' : 'false'}`);
}

/** Open a sealed database (one that allows no connections) for the duration of `fn`. */
export async function withUnsealed<T>(client: pg.Client, name: string, fn: () => Promise<T>): Promise<T> {
  await setAllowConnections(client, name, true);
  try {
    return await fn();
  } finally {
    await setAllowConnections(client, name, false).catch(() => {});
  }
}

/**
 * An empty database (from template0) with another's encoding and locale: a restore's
 * staging database, a rehearsal's scratch. Where this server lacks the locale, the
 * server's default is used and `notice` says so.
 */
export async function createEmptyLike(client: pg.Client, name: string, db: Omit<DatabaseSettings, 'owner'>, owner: string | undefined, notice?: (message: string) => void): Promise<void> {
  const ownerSql = owner ? ` owner ${ident(owner)}` : '';
  const libc = ` lc_collate ${literal(db.collate)} lc_ctype ${literal(db.ctype)}`;
  const locale =
    db.localeProvider === 'i' && db.icuLocale
      ? ` locale_provider icu icu_locale ${literal(db.icuLocale)}${libc}`
      : db.localeProvider === 'b' && db.icuLocale
        ? ` locale_provider builtin builtin_locale ${literal(db.icuLocale)}${libc}`
        : libc;
  try {
    await client.query(`create database ${ident(name)} template template0 encoding ${literal(db.encoding)}${locale}${ownerSql}`);
  } catch (error) {
    // Another server may lack the original's locale: use the server's defaults and say so.
    if ((error as { code?: string }).code !== '22023' && (error as { code?: string }).code !== '42704') throw error;
    notice?.(`locale ${db.collate} is not available on this server; using the server's default locale`);
    await client.query(`create database ${ident(name)} template template0 encoding ${literal(db.encoding)}${ownerSql}`);
  }
}
