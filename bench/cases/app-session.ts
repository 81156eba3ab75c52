/**
 * The app, as production has it: a session connected to the database for the whole case
 * (idle, holding no lock), and, where a case measures blocking, a reader of another table
 * timing each of its queries.
 */
import pg from 'pg';
import type { Context } from '../lib.js';

/** Run `fn` with an idle app session open on the bench database (which `auto` sees: no clone). */
export async function withAppSession<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ctx.url, application_name: 'bench-app' });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  const pid = rows[0]!.pid;
  ctx.appPids = new Set([...(ctx.appPids ?? []), pid]);
  // A rollback by rename swap ends it: that is measured, not a failure of the bench.
  client.on('error', () => {});
  try {
    return await fn();
  } finally {
    ctx.appPids.delete(pid);
    await client.end().catch(() => {});
  }
}

export interface ReaderResult {
  queries: number;
  /** The longest any one query took, ms: how long the reader was blocked at worst. */
  longestMs: number;
  /** Queries that failed (the session cut by a swap, say), with the first error. */
  failed: number;
  firstError?: string;
}

/**
 * A reader of `table` on a connection of its own, one primary-key lookup after another
 * until stopped, each timed; reconnects when its session is cut. Its pid is the app's:
 * the bench's settle does not wait for it.
 */
export function startReader(ctx: Context, table: string, maxId: number): { stop: () => Promise<ReaderResult> } {
  const result: ReaderResult = { queries: 0, longestMs: 0, failed: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const client = new pg.Client({ connectionString: ctx.url, application_name: 'bench-reader' });
      client.on('error', () => {});
      try {
        await client.connect();
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
        ctx.appPids = new Set([...(ctx.appPids ?? []), rows[0]!.pid]);
        for (let i = 0; running; i++) {
          const start = performance.now();
          await client.query(`select * from ${table} where id = $1`, [1 + ((i * 7919) % maxId)]);
          result.longestMs = Math.max(result.longestMs, performance.now() - start);
          result.queries++;
        }
      } catch (error) {
        result.failed++;
        result.firstError ??= (error as Error).message;
      } finally {
        await client.end().catch(() => {});
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}
