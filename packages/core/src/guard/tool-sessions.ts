/**
 * The migrate tool's sessions, decided in one place: how long a statement waits for a lock
 * (`lock_timeout`), an optional `statement_timeout`, and the `application_name` tag
 * `lifeboat:<deploy id>` by which the deploy finds those sessions in `pg_stat_activity`.
 *
 * A tool process gets them in its environment: `PGOPTIONS` (appended to the user's) and
 * `PGAPPNAME`. Who reads them, verified with the real tools (test/locks.test.ts):
 * libpq (psql, `lifeboat run -- psql …`) reads both; node-postgres (`pg`: the knex CLI,
 * drizzle-kit with `pg`, Prisma 6.19's JavaScript schema engine through
 * `@prisma/adapter-pg`) reads both when the connection sets no `options` /
 * `application_name` of its own; postgres.js reads `PGAPPNAME` only; Prisma's native
 * (Rust) schema engine reads neither (its URL's `options` and `application_name`
 * parameters instead). An in-process run (the hooks) sets the same on its connections
 * with `SET`, and puts them back after.
 */
export interface SessionSettings {
  lockTimeoutMs: number;
  statementTimeoutMs: number | undefined;
  /** `lifeboat:<deploy id>`: the tag of this deploy's tool sessions. */
  applicationName: string;
}

/** From `Settings.locks` (its shape, not its import: guard/adapter.ts reads this file's types). */
export function toolSessions(locks: { timeoutMs: number; statementTimeoutMs: number | undefined }, deployId: string): SessionSettings {
  return { lockTimeoutMs: locks.timeoutMs, statementTimeoutMs: locks.statementTimeoutMs, applicationName: `lifeboat:${deployId}` };
}

/** The server settings, as `name = value` pairs (milliseconds; 0 is "no limit" to PostgreSQL, so a 0 is sent as it is). */
function settingsOf(session: SessionSettings): Array<[string, string]> {
  const pairs: Array<[string, string]> = [['lock_timeout', String(Math.round(session.lockTimeoutMs))]];
  if (session.statementTimeoutMs !== undefined) pairs.push(['statement_timeout', String(Math.round(session.statementTimeoutMs))]);
  return pairs;
}

/**
 * The environment a tool process gets: `PGOPTIONS` with `-c lock_timeout=…` (and
 * `-c statement_timeout=…`) after whatever the user's `PGOPTIONS` holds (later wins on the
 * server, so ours stand), and `PGAPPNAME` as the tag.
 */
export function sessionEnv(session: SessionSettings, base: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Record<string, string> {
  const ours = settingsOf(session)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  const theirs = base.PGOPTIONS?.trim();
  return { PGOPTIONS: theirs ? `${theirs} ${ours}` : ours, PGAPPNAME: session.applicationName };
}

/** A connection that runs SQL: a pg Client or a knex raw connection (node-postgres). */
export interface SessionConnection {
  query(sql: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/**
 * For an in-process run: set the session's settings on a connection the migration will use,
 * and return what puts the connection's own values back (for a connection that returns to
 * the app's pool). Session-level `set_config`, outside any transaction.
 */
export async function applySession(connection: SessionConnection, session: SessionSettings): Promise<() => Promise<void>> {
  const pairs: Array<[string, string]> = [...settingsOf(session), ['application_name', session.applicationName]];
  const names = pairs.map(([name]) => name);
  const { rows } = await connection.query(`select ${names.map((n, i) => `current_setting('${n}') as s${i}`).join(', ')}`);
  const before = names.map((_, i) => String(rows[0]?.[`s${i}`] ?? ''));
  await setAll(connection, pairs);
  return async () => {
    await setAll(
      connection,
      names.map((n, i) => [n, before[i]!]),
    );
  };
}

/**
 * Set the session's settings on a connection, in one statement queued at once (so that on a
 * connection just handed out, it runs before anything the migration sends), with nothing
 * to put back: for a connection that is closed after the migration.
 */
export function setSession(connection: SessionConnection, session: SessionSettings): Promise<void> {
  return setAll(connection, [...settingsOf(session), ['application_name', session.applicationName]]);
}

async function setAll(connection: SessionConnection, pairs: Array<[string, string]>): Promise<void> {
  const calls = pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, false)`).join(', ');
  await connection.query(`select ${calls}`, pairs.flat());
}

/**
 * What reaches the tool's sessions, in words, for the deploy's notice: a run says it itself
 * (`MigrationRun.sessionReach`: each adapter knows its tool's driver); this is for a command
 * Lifeboat knows nothing of (`lifeboat run`).
 */
export const DEFAULT_SESSION_REACH = 'libpq (psql) and node-postgres read PGOPTIONS and PGAPPNAME; postgres.js reads the tag only (Lifeboat cancels a statement that waits past the timeout)';
