import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { identify, isAlive, type ProcessIdentity } from '../process/identity.js';
import { mkdirPrivate, writeFileAtomic } from './files.js';
import { appendJournal } from './journal.js';
import type { Store } from './location.js';

/**
 * Intent records: before an operation changes a database it writes what it is about to
 * do into `<store>/operations/<id>.json`, moves the record's phase on as it goes, and
 * removes it when it ends, whatever the outcome. A record whose process is gone is an
 * interrupted operation: `lifeboat recover` reads it to finish or undo what was started.
 */
export type OperationKind = 'deploy' | 'restore' | 'rollback' | 'undo' | 'prune' | 'drill' | 'rehearsal';

export type Phase =
  /** Holding the lock; nothing changed yet. */
  | 'started'
  /** Taking the snapshot `snapshot`: the database is unchanged. */
  | 'snapshotting'
  /** The migrate tool is running (or ran): the database may be half-migrated. */
  | 'migrating'
  /** The migration ran; the checks are reading the result. */
  | 'checking'
  /** Loading `snapshot` into the new database `staging`: the live database is untouched. */
  | 'restoring'
  /** `staging` is verified; the live database is being renamed to `replaced` and `staging` to it. */
  | 'swapping'
  /** Dropping databases and removing snapshot folders (prune). */
  | 'removing';

export interface IntentRecord {
  id: string;
  operation: OperationKind;
  /** The live database's name, and where its server is (host:port). */
  database: string;
  server: string;
  process: ProcessIdentity;
  /** Taken under the database's lock: while the record is open, its process holds that lock. */
  locked?: boolean;
  startedAt: string;
  phase: Phase;
  updatedAt: string;
  /** A deploy's id (for the journal and `rollback --to-deploy`). */
  deploy?: string;
  /** The snapshot being taken (deploy, safety copy) or restored. */
  snapshot?: string;
  /** The database a restore loads into before the swap (or a drill's or a rehearsal's scratch database). */
  staging?: string;
  /** The name the live database gets in the swap. */
  replaced?: string;
  /** The live database's datallowconn before the swap sealed it. */
  allowConnections?: boolean;
  /** The migrate tool's process group while it runs. */
  tool?: { pid: number; describe: string };
  /** Prune: the databases to drop and snapshot folders to remove. */
  drops?: string[];
  removes?: string[];
}

export interface Intent {
  readonly record: IntentRecord;
  /** Durably move the record on (a new phase, a name it will need to clean up). */
  update(patch: Partial<Omit<IntentRecord, 'id' | 'operation' | 'database' | 'server' | 'startedAt'>>): Promise<void>;
  /** The operation ended (any outcome): the record goes. */
  close(): Promise<void>;
}

function operationsDir(store: Store): string {
  return join(store.root, 'operations');
}

function recordPath(store: Store, id: string): string {
  return join(operationsDir(store), `${id}.json`);
}

async function write(store: Store, record: IntentRecord): Promise<void> {
  await writeFileAtomic(recordPath(store, record.id), `${JSON.stringify(record, null, 2)}\n`);
}

function handle(store: Store, record: IntentRecord): Intent {
  return {
    record,
    async update(patch) {
      Object.assign(record, patch, { updatedAt: new Date().toISOString() });
      await write(store, record);
    },
    async close() {
      await rm(recordPath(store, record.id), { force: true });
    },
  };
}

/** Record an operation before its first change. */
export async function beginIntent(
  store: Store,
  target: { database: string; host: string; port: number },
  init: Pick<IntentRecord, 'operation'> & Partial<Omit<IntentRecord, 'database' | 'server'>>,
): Promise<Intent> {
  await mkdirPrivate(operationsDir(store));
  const now = new Date().toISOString();
  const record: IntentRecord = {
    id: `${init.operation}-${now.replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`,
    process: identify(),
    startedAt: now,
    updatedAt: now,
    phase: 'started',
    database: target.database,
    server: `${target.host}:${target.port}`,
    ...init,
  };
  await write(store, record);
  return handle(store, record);
}

/** Take over an interrupted record (recover): it becomes this process's, phase and names kept. */
export async function adoptIntent(store: Store, record: IntentRecord): Promise<Intent> {
  const adopted = { ...record, process: identify(), updatedAt: new Date().toISOString() };
  await write(store, adopted);
  await appendJournal(store, { event: 'recover-started', operation: record.operation, intent: record.id, phase: record.phase, database: record.database });
  return handle(store, adopted);
}

export interface OpenIntent {
  record: IntentRecord;
  /** Its process still runs (on this machine; another machine's is assumed alive). */
  alive: boolean;
  /** The record is this process's own. */
  own: boolean;
}

/** Every record not closed yet, oldest first; unreadable files are skipped (a torn write cannot happen: writes are atomic). */
export async function openIntents(store: Store): Promise<OpenIntent[]> {
  let names: string[];
  try {
    names = await readdir(operationsDir(store));
  } catch {
    return [];
  }
  const out: OpenIntent[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    try {
      const record = JSON.parse(await readFile(join(operationsDir(store), name), 'utf8')) as IntentRecord;
      const own = record.process.pid === process.pid && record.process.host === identify().host;
      out.push({ record, alive: isAlive(record.process), own });
    } catch {
      // A record being replaced right now (rename) or removed: not ours to judge.
    }
  }
  return out.sort((a, b) => a.record.startedAt.localeCompare(b.record.startedAt));
}
