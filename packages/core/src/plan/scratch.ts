import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { connect, connectMaintenance } from '../db/connect.js';
import { createEmptyLike, databaseExists, dropDatabase } from '../db/databases.js';
import { type DatabaseSettings, databaseSettings } from '../db/introspect.js';
import { serverErrorText } from '../db/server-error.js';
import { fitIdentifier } from '../db/sql.js';
import { childEnv, type DatabaseTarget, withDatabase } from '../db/target.js';
import { debug } from '../debug.js';
import { LifeboatError } from '../errors.js';
import { failpoint } from '../failpoint.js';
import { findPgTool } from '../pg-tools/find.js';
import { runPgTool } from '../pg-tools/run.js';
import { beginIntent, type Intent } from '../store/intent.js';
import type { Store } from '../store/location.js';

/**
 * Scratch databases beside the live one for rehearsals: `<db>__lifeboat_rehearsal_<random>`,
 * recorded in an intent record before they exist (a `kill -9` leaves them for
 * `lifeboat recover`) and always dropped afterwards, Ctrl-C included.
 */

export interface ScratchDatabase {
  /** Its name, on the live database's server. */
  name: string;
  /** The same server and credentials, this database. */
  target: DatabaseTarget;
}

export interface ScratchTimings {
  /** CREATE DATABASE … TEMPLATE template0 (concurrent with the dump). */
  createMs: number;
  /** pg_dump --schema-only of the live database (concurrent with the create). */
  dumpMs: number;
  /** The schema loaded into the scratch database. */
  loadMs: number;
  /** From the first connection to a loaded scratch database. */
  readyMs: number;
  dropMs?: number;
}

export type ScratchRun<T> = { ran: true; value: T; timings: ScratchTimings } | { ran: false; why: string };

export interface SchemaScratchOptions {
  target: DatabaseTarget;
  /** Where the intent record goes; without a store a crash can leave the scratch database behind. */
  store?: Store | undefined;
  signal?: AbortSignal | undefined;
  onNotice?: ((message: string) => void) | undefined;
  /** pg_dump's wait for a table lock held by another session (a long ALTER): then the rehearsal is skipped. Default 5 s. */
  lockWaitMs?: number | undefined;
}

/** A fresh scratch name beside `database`, unique per run. */
export function scratchName(database: string): string {
  return fitIdentifier(database, `__lifeboat_rehearsal_${randomBytes(4).toString('hex')}`);
}

/**
 * Run `fn` against a scratch database holding the live database's schema and no rows,
 * then drop it. Its cost does not depend on the data: `CREATE DATABASE … TEMPLATE
 * template0` runs while `pg_dump --schema-only` reads the live catalogs, then the dump is
 * sent as one script (one implicit transaction, synchronous_commit off: one WAL flush
 * instead of one per statement). Anything that stops the copy (no CREATEDB, no
 * maintenance database, pg_dump missing or waiting on a lock, an extension this role may
 * not create) skips the run with its reason, never an error; what `fn` throws is rethrown
 * after the drop.
 */
export async function withSchemaScratch<T>(options: SchemaScratchOptions, fn: (scratch: ScratchDatabase) => Promise<T>): Promise<ScratchRun<T>> {
  const { target } = options;
  const started = performance.now();
  let maintenance: pg.Client;
  try {
    maintenance = await connectMaintenance(target);
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'DB_NOT_FOUND') return skipped('no maintenance database (postgres or template1) to create it from');
    return skipped(`cannot connect for it (${error instanceof Error ? error.message : String(error)})`);
  }
  let intent: Intent | undefined;
  let created = false;
  const name = scratchName(target.database);
  try {
    const about = await aboutServer(maintenance, target.database);
    if (!about.createdb) return skipped(`the role "${target.user}" may not create databases (no CREATEDB)`);
    if (!about.settings) return skipped(`database "${target.database}" was not found`);
    if (options.signal?.aborted) return skipped('interrupted');
    // Recorded before it exists: a kill at any later point leaves a record naming it.
    if (options.store) intent = await beginIntent(options.store, target, { operation: 'rehearsal', phase: 'restoring', staging: name });
    const timings: ScratchTimings = { createMs: 0, dumpMs: 0, loadMs: 0, readyMs: 0 };
    const createStart = performance.now();
    const creating = createEmptyLike(maintenance, name, about.settings, undefined, options.onNotice).then(() => {
      created = true;
      timings.createMs = Math.round(performance.now() - createStart);
    });
    const dumping = schemaDump(options, about.major, about.version).then((script) => {
      timings.dumpMs = Math.round(performance.now() - createStart);
      return script;
    });
    const scratch: ScratchDatabase = { name, target: withDatabase(target, name) };
    // The load's session opens as soon as the database exists, while pg_dump may still be reading.
    const connecting = creating.then(() => connect(scratch.target));
    const [connectOutcome, dumpOutcome] = await Promise.allSettled([connecting, dumping]);
    const client = connectOutcome.status === 'fulfilled' ? connectOutcome.value : undefined;
    try {
      if (connectOutcome.status === 'rejected') return skipped(`${created ? 'connecting to it' : 'CREATE DATABASE'} failed: ${serverErrorText(connectOutcome.reason)}`);
      if (dumpOutcome.status === 'rejected') return skipped(reason(dumpOutcome.reason));
      if (options.signal?.aborted) return skipped('interrupted');
      const loadStart = performance.now();
      const loaded = await loadSchema(client!, dumpOutcome.value);
      if (loaded !== true) return skipped(`the live schema could not be copied into it: ${loaded}`);
      timings.loadMs = Math.round(performance.now() - loadStart);
    } finally {
      await client?.end().catch(() => {});
    }
    timings.readyMs = Math.round(performance.now() - started);
    debug(`rehearsal scratch ${name} ready in ${timings.readyMs} ms (create ${timings.createMs}, dump ${timings.dumpMs}, load ${timings.loadMs})`);
    await failpoint('rehearsal:after-create');
    const value = await fn(scratch);
    return { ran: true, value, timings };
  } finally {
    // Dropped whatever happened, Ctrl-C included (the CLI's handler lets this run).
    const dropStart = performance.now();
    if (created || (intent && (await databaseExists(maintenance, name).catch(() => true)))) {
      await dropDatabase(maintenance, name).catch((error: unknown) => {
        options.onNotice?.(`could not drop the rehearsal database "${name}" (${serverErrorText(error)}); \`lifeboat recover\` will`);
        intent = undefined;
      });
    }
    debug(`rehearsal scratch ${name} dropped in ${Math.round(performance.now() - dropStart)} ms`);
    await intent?.close();
    await maintenance.end().catch(() => {});
  }
}

function skipped(why: string): { ran: false; why: string } {
  return { ran: false, why };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the scratch needs to know, in one round trip. */
async function aboutServer(client: pg.Client, database: string): Promise<{ createdb: boolean; major: number; version: string; settings: Omit<DatabaseSettings, 'owner'> | undefined }> {
  const { rows } = await client.query<{ createdb: boolean; num: string; version: string }>(
    "select (select rolcreatedb or rolsuper from pg_roles where rolname = current_user) as createdb, current_setting('server_version_num') as num, current_setting('server_version') as version",
  );
  const row = rows[0]!;
  const major = Math.floor(Number(row.num) / 10000);
  return { createdb: row.createdb === true, major, version: row.version.split(' ')[0]!, settings: await databaseSettings(client, database, major) };
}

/**
 * `pg_dump --schema-only` of the live database as a plain SQL script. No owners or
 * grants (the scratch belongs to this role, which runs the migrations in it), no
 * publications or subscriptions (a subscription would connect out), no tablespaces.
 */
async function schemaDump(options: SchemaScratchOptions, major: number, version: string): Promise<string> {
  const tool = await findPgTool('pg_dump', major, version);
  const lockWait = Math.max(1, Math.round(options.lockWaitMs ?? 5000));
  const args = [
    '--schema-only',
    '--no-owner',
    '--no-privileges',
    '--no-publications',
    '--no-subscriptions',
    '--no-security-labels',
    '--no-tablespaces',
    '--no-password',
    `--lock-wait-timeout=${lockWait}ms`,
  ];
  const { process: child, errors } = await runPgTool(tool, args, { env: childEnv(options.target), signal: options.signal, stdout: 'pipe' });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const result = await child;
  if (result.isCanceled) throw new Error('interrupted');
  if (result.exitCode !== 0) {
    const detail = errors[0]?.replace(/^pg_dump: (error: )?/, '') ?? `exited with code ${result.exitCode}`;
    throw new Error(`pg_dump --schema-only failed: ${detail}`);
  }
  return withoutRestrictLines(Buffer.concat(chunks).toString('utf8'));
}

/**
 * pg_dump 17.6, 16.10, 15.14 and later frame a plain script with psql's `\restrict <key>`
 * and `\unrestrict <key>` (a psql command, not SQL). The script goes to the server here,
 * not to psql: exactly those two lines, with the key pg_dump chose, are taken out.
 */
function withoutRestrictLines(script: string): string {
  const lines = script.split('\n');
  const first = lines.find((line) => line.startsWith('\\restrict '));
  if (!first) return script;
  const key = first.slice('\\restrict '.length);
  return lines.filter((line) => line !== `\\restrict ${key}` && line !== `\\unrestrict ${key}`).join('\n');
}

/** The script as one simple query: one implicit transaction, all or nothing. True, or the server's error. */
async function loadSchema(client: pg.Client, script: string): Promise<true | string> {
  try {
    await client.query(`set synchronous_commit = off;\n${script}`);
    return true;
  } catch (error) {
    return serverErrorText(error);
  }
}
