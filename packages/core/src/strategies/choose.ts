import type pg from 'pg';
import { canCreateDatabases, otherSessions } from '../db/databases.js';
import { LifeboatError } from '../errors.js';
import type { AtRisk } from '../plan/at-risk.js';

export type StrategyName = 'auto' | 'dump' | 'clone' | 'scoped';

export interface StrategyChoice {
  strategy: 'dump' | 'clone' | 'scoped';
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

/** What a deploy's plan says about its data at risk, for the snapshot's strategy. */
export interface DeployScope {
  atRisk: AtRisk;
  /** `true` when an in-place rollback can revert every statement, else why not (plan/at-risk.ts `revertibleInPlace`). */
  inPlace: true | string;
}

/**
 * `scoped` when asked for (`strategy: 'scoped'`), if the deploy's plan bounds the data at
 * risk and every statement reverts in place; else a full snapshot, as `auto` would take, with
 * the reason. `auto` does not choose it: a scoped snapshot rolls back its own deploy's
 * failure in place, but it is no restore point for `lifeboat rollback` after a deploy that
 * went through, which is what a full snapshot gives every deploy today.
 */
export function chooseScoped(requested: StrategyName, scope: DeployScope | undefined): { choice: StrategyChoice } | { fullBecause: string | undefined } {
  if (requested !== 'scoped') return { fullBecause: undefined };
  const why = !scope
    ? 'no plan of the deploy bounds the data at risk (a scoped snapshot is for guarded deploys)'
    : 'unbounded' in scope.atRisk
      ? `the data at risk cannot be bounded: ${scope.atRisk.unbounded}`
      : scope.inPlace !== true
        ? `it cannot be rolled back in place: ${scope.inPlace}`
        : undefined;
  if (why === undefined && scope && 'tables' in scope.atRisk) {
    const tables = scope.atRisk.tables;
    const what = tables.length === 0 ? 'the migration only adds, so the snapshot is the schema alone' : `the data at risk is ${tables.length} table(s): ${tables.join(', ')}`;
    return { choice: { strategy: 'scoped', reason: `scoped was asked for: ${what}` } };
  }
  return { fullBecause: why };
}
