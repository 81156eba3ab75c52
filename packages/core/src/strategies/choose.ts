import type pg from 'pg';
import { canCreateDatabases, otherSessions } from '../db/databases.js';
import { LifeboatError } from '../errors.js';

export type StrategyName = 'auto' | 'dump' | 'clone';

export interface StrategyChoice {
  strategy: 'dump' | 'clone';
  /** One sentence a user can read: why this strategy. */
  reason: string;
}

/**
 * `clone` when it can run right now (the role may create databases and nobody
 * else is connected), else `dump`. An explicit `clone` that cannot run is an error.
 * `client` may be a session on `database` itself: it does not count as another.
 */
async function settledSessions(client: pg.Client, database: string, graceMs: number): Promise<number> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const sessions = await otherSessions(client, database);
    if (sessions === 0 || Date.now() >= deadline) return sessions;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function chooseStrategy(client: pg.Client, database: string, requested: StrategyName): Promise<StrategyChoice> {
  if (requested === 'dump') return { strategy: 'dump', reason: 'dump was asked for' };
  const createdb = await canCreateDatabases(client);
  // A session its client has just closed can linger for a moment (CREATE DATABASE itself
  // waits up to 5 s for such backends): give them a short grace, longer when clone was asked for.
  const sessions = await settledSessions(client, database, requested === 'clone' ? 2000 : 300);
  if (requested === 'clone') {
    if (!createdb) {
      throw new LifeboatError('DB_PERMISSION', 'The clone strategy needs CREATEDB and this role does not have it.', {
        hint: 'Grant CREATEDB (ALTER ROLE … CREATEDB) or use --strategy dump.',
      });
    }
    if (sessions > 0) {
      throw new LifeboatError('DATABASE_BUSY', `Cannot clone "${database}": ${sessions} other session(s) are connected to it.`, {
        hint: 'A clone needs the database to itself: stop the app, or use --strategy dump (online) or auto.',
      });
    }
    return { strategy: 'clone', reason: 'clone was asked for' };
  }
  if (!createdb) return { strategy: 'dump', reason: 'auto chose dump: the role cannot create databases, so clone is not possible' };
  if (sessions > 0) return { strategy: 'dump', reason: `auto chose dump: ${sessions} other session(s) are connected, and clone needs the database to itself` };
  return { strategy: 'clone', reason: 'auto chose clone: no other sessions and the role may create databases' };
}
