import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { isAlive } from '../process/identity.js';
import { type IntentRecord, type OpenIntent, openIntents } from '../store/intent.js';
import { hostname } from 'node:os';
import type { Store } from '../store/store.js';

/**
 * What an interrupted operation left, in one line, and what `lifeboat recover` will do
 * about it: the one place that turns an intent record's phase into words.
 */
export interface InterruptedOperation {
  record: IntentRecord;
  /** The state the database is in. */
  state: string;
  /** What `lifeboat recover` will do. */
  plan: string;
  /** The migrate tool of a dead Lifeboat, still running (recover stops it first). */
  toolAlive: boolean;
}

export function describeInterrupted(record: IntentRecord): InterruptedOperation {
  const what = `${record.operation}${record.deploy ? ` ${record.deploy}` : ''} of "${record.database}" (pid ${record.process.pid}, ${record.startedAt})`;
  const toolAlive = record.tool !== undefined && isAlive({ pid: record.tool.pid, host: record.process.host });
  const snapshot = record.snapshot ? `snapshot ${record.snapshot}` : 'its snapshot';
  const [state, plan] = ((): [string, string] => {
    switch (record.phase) {
      case 'started':
        return ['before it changed anything: the database is unchanged', 'close the record'];
      case 'snapshotting':
        return [`while taking ${snapshot}: the database is unchanged`, 'remove the unfinished snapshot and close the record'];
      case 'migrating':
        return [
          `while ${record.tool?.describe ?? 'the migration'} ran${toolAlive ? ` (still running as pid ${record.tool!.pid})` : ''}: the database may be half-migrated`,
          `${toolAlive ? 'stop the migrate process, then ' : ''}restore ${snapshot}, the database as it was before the deploy`,
        ];
      case 'checking':
        return ['after the migration, during its checks: the database holds the unchecked result', `restore ${snapshot}, the database as it was before the deploy`];
      case 'restoring':
        return record.operation === 'deploy' && record.staging === undefined
          ? [`while rolling back in place to ${snapshot} (one transaction: nothing of it committed): the database holds the migration's result`, `roll back in place to ${snapshot} again`]
          : record.operation === 'deploy'
            ? [`while rolling back (loading ${snapshot} into "${record.staging}"): the database holds the migration's result`, `drop "${record.staging}" and restore ${snapshot} again`]
            : record.operation === 'drill' || record.operation === 'rehearsal'
              ? [`during the ${record.operation}: its scratch database "${record.staging}" is left`, `drop "${record.staging}"`]
              : [`while loading ${snapshot} into "${record.staging}": the live database is untouched`, `drop the half-loaded "${record.staging}" (run the ${record.operation} again afterwards)`];
      case 'swapping':
        return [
          `in the middle of swapping the verified "${record.staging}" in for the live database: it may refuse every connection`,
          `finish the swap (the live database becomes ${snapshot}; the one it replaces is kept as "${record.replaced}") and allow connections again`,
        ];
      case 'removing':
        return [`while removing ${(record.drops?.length ?? 0) + (record.removes?.length ?? 0)} expired database(s) and snapshot(s)`, 'finish removing them'];
    }
  })();
  return { record, state: `${what} was interrupted ${state}`, plan, toolAlive };
}

/**
 * Operations on `database` whose record was never closed and whose process is gone.
 * `lockHeld`: the caller holds the database's lock, so a record taken under that lock
 * cannot belong to a running operation, whatever machine wrote it (a process whose
 * record is open holds the lock for as long as it runs): that settles records from
 * other machines, whose processes cannot be looked at from here.
 */
export async function interruptedOperations(store: Store, database?: string, options: { lockHeld?: boolean } = {}): Promise<InterruptedOperation[]> {
  return interruptedAmong(await openIntents(store), database, options);
}

function interruptedAmong(open: OpenIntent[], database: string | undefined, options: { lockHeld?: boolean }): InterruptedOperation[] {
  return open
    .filter((o) => !o.own && (database === undefined || o.record.database === database))
    .filter((o) => !o.alive || (options.lockHeld === true && o.record.locked === true && o.record.process.host !== hostname()))
    .map((o) => describeInterrupted(o.record));
}

/** Records of operations running elsewhere that this machine cannot judge (another host, no lock held here). */
export async function operationsElsewhere(store: Store, database?: string): Promise<IntentRecord[]> {
  return (await openIntents(store)).filter((open) => open.alive && open.record.process.host !== hostname() && (database === undefined || open.record.database === database)).map((open) => open.record);
}

/** Every command that changes a database calls this under its lock: an interrupted operation comes first. */
export async function assertNothingInterrupted(store: Store, target: DatabaseTarget): Promise<void> {
  const open = await openIntents(store);
  const stray = open.find((o) => !o.own && o.alive && o.record.locked && o.record.database === target.database && o.record.process.host === hostname());
  if (stray) {
    // Alive, with an open record, yet not holding the lock: its database session ended under it.
    throw new LifeboatError(
      'DATABASE_BUSY',
      `Lifeboat process ${stray.record.process.pid} is still running a ${stray.record.operation} of "${target.database}" but no longer holds its lock (its database session ended); nothing was changed.`,
      {
        hint: `Wait for it to end, or stop it (kill ${stray.record.process.pid}) and run \`lifeboat recover\`.`,
      },
    );
  }
  const [first, ...more] = interruptedAmong(open, target.database, { lockHeld: true });
  if (!first) return;
  throw new LifeboatError('RECOVERY_NEEDED', `${first.state}${more.length > 0 ? ` (and ${more.length} more interrupted operation(s))` : ''}; nothing was changed.`, {
    hint: `Run \`lifeboat recover\` first: it will ${first.plan}.`,
  });
}
