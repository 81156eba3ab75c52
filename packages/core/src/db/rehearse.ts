import type pg from 'pg';
import { literal } from './sql.js';

/** One piece of SQL as the tool sends it (it may hold several statements), and where it comes from. */
export interface RehearsalStep {
  /** For messages: "0002_archive, statement 4". */
  label: string;
  sql: string;
}

export type Rehearsal =
  | { ok: true; steps: number }
  | {
      ok: false;
      step: RehearsalStep;
      /** PostgreSQL's message and SQLSTATE. */
      message: string;
      code: string | undefined;
      /**
       * The step cannot run inside a transaction (COMMIT, VACUUM, CREATE INDEX CONCURRENTLY)
       * or waited for a lock another session holds: the rehearsal stopped there, and its
       * error is not the tool's.
       */
      blocked: boolean;
    };

/** "… cannot run inside a transaction block", and lock_timeout. */
const BLOCKED = new Set(['25001', '55P03']);

/**
 * PostgreSQL refused to EXECUTE the step at all (a transaction command: feature_not_supported,
 * with no statement of the step in the error's context), as opposed to a statement of the
 * step failing with feature_not_supported (ALTER TYPE of a column a view uses).
 */
function refusedToExecute(error: { code?: string; where?: string }, step: RehearsalStep): boolean {
  return error.code === '0A000' && !(error.where ?? '').includes(step.sql.trim().slice(0, 40));
}

/**
 * Run the steps in order in one transaction that is always rolled back and that nothing
 * inside can commit: each step runs through PL/pgSQL's EXECUTE, where PostgreSQL refuses
 * COMMIT, ROLLBACK and everything that cannot run in a transaction block. So it is safe on
 * a live database; it holds the locks the statements take until the first error or the end,
 * waiting at most `lockTimeoutMs` for each.
 */
export async function rehearse(client: pg.Client, steps: RehearsalStep[], options: { lockTimeoutMs?: number } = {}): Promise<Rehearsal> {
  await client.query('begin');
  try {
    await client.query(`set local lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs ?? 5000))}`);
    for (const step of steps) {
      try {
        await client.query(`do ${literal(`begin execute ${literal(step.sql)}; end`)}`);
      } catch (error) {
        const err = error as { message?: string; code?: string; where?: string };
        const blocked = (err.code !== undefined && BLOCKED.has(err.code)) || refusedToExecute(err, step);
        return { ok: false, step, message: err.message ?? String(error), code: err.code, blocked };
      }
    }
    return { ok: true, steps: steps.length };
  } finally {
    await client.query('rollback').catch(() => {});
  }
}
