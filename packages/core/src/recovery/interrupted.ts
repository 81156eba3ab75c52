import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { isAlive } from '../process/identity.js';
import { type IntentRecord, type OpenIntent, openIntents } from '../store/intent.js';
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
        return record.operation === 'deploy'
          ? [`while rolling back (loading ${snapshot} into "${record.staging}"): the database holds the migration's result`, `drop "${record.staging}" and restore ${snapshot} again`]
          : record.operation === 'drill'
            ? [`during the drill: its scratch database "${record.staging}" is left`, `drop "${record.staging}"`]
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

/** Operations on `database` whose process is gone and whose record was never closed. */
export async function interruptedOperations(store: Store, database?: string): Promise<InterruptedOperation[]> {
  return (await openIntents(store))
    .filter((open: OpenIntent) => !open.alive && (database === undefined || open.record.database === database))
    .map((open) => describeInterrupted(open.record));
}

/** Every command that changes a database calls this under its lock: an interrupted operation comes first. */
export async function assertNothingInterrupted(store: Store, target: DatabaseTarget): Promise<void> {
  const [first, ...more] = await interruptedOperations(store, target.database);
  if (!first) return;
  throw new LifeboatError('RECOVERY_NEEDED', `${first.state}${more.length > 0 ? ` (and ${more.length} more interrupted operation(s))` : ''}; nothing was changed.`, {
    hint: `Run \`lifeboat recover\` first: it will ${first.plan}.`,
  });
}
