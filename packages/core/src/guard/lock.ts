import { createHash } from 'node:crypto';
import type pg from 'pg';
import { connect, connectMaintenance } from '../db/connect.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';

export interface DatabaseLock {
  /** The session holding the lock; `maintenance`: it is on another database than the target. */
  client: pg.Client;
  maintenance: boolean;
  release(): Promise<void>;
}

/** Two int4 keys from the target's identity: the same database, the same lock. */
function lockKeys(target: DatabaseTarget): [number, number] {
  const digest = createHash('sha256').update(`lifeboat:deploy:${target.database}`).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

/**
 * A session advisory lock, one per database, taken by every command that changes it
 * (deploy, restore in place, rollback, undo, recover, reapply, prune's drops), so no two
 * of them ever interleave. It is held from the maintenance database, not the target: a
 * session on the target would stop the clone strategy and the rename swap.
 */
export async function acquireDatabaseLock(target: DatabaseTarget, options: { operation: string; timeoutMs: number; signal?: AbortSignal; onWait?: (message: string) => void }): Promise<DatabaseLock> {
  let maintenance = true;
  const client = await connectMaintenance(target).catch(() => {
    maintenance = false;
    return connect(target);
  });
  // Who holds it, for the one waiting: pg_stat_activity shows application_name.
  await client.query(`set application_name = 'lifeboat ${options.operation.replace(/'/g, '')}'`).catch(() => {});
  const [k1, k2] = lockKeys(target);
  try {
    const deadline = Date.now() + options.timeoutMs;
    let told = false;
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [k1, k2]);
      if (rows[0]?.ok) break;
      if (!told) {
        options.onWait?.(`another lifeboat command is changing "${target.database}" (${await holder(client, k1, k2)}); waiting up to ${Math.round(options.timeoutMs / 1000)} s`);
        told = true;
      }
      if (options.signal?.aborted) throw new LifeboatError('INTERRUPTED', `Interrupted while waiting for the lock of "${target.database}"; nothing was changed.`);
      if (Date.now() >= deadline) {
        throw new LifeboatError('LOCK_TIMEOUT', `Another lifeboat command held the lock of "${target.database}" for more than ${Math.round(options.timeoutMs / 1000)} s; nothing was changed.`, {
          hint: 'Wait for it to finish and run again, or raise lockTimeoutSeconds in lifeboat.config.',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return {
    client,
    maintenance,
    release: async () => {
      await client.query('select pg_advisory_unlock($1, $2)', [k1, k2]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

async function holder(client: pg.Client, k1: number, k2: number): Promise<string> {
  const { rows } = await client
    .query<{ pid: number; app: string; since: string | null }>(
      `select a.pid, coalesce(nullif(a.application_name, ''), 'unknown') as app, a.backend_start::text as since
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted and l.classid = $1::int::oid and l.objid = $2::int::oid and l.objsubid = 2`,
      [k1, k2],
    )
    .catch(() => ({ rows: [] as Array<{ pid: number; app: string; since: string | null }> }));
  const row = rows[0];
  return row ? `backend pid ${row.pid}, ${row.app}` : 'holder unknown';
}
