import type pg from 'pg';
import type { Settings } from '../config/resolve.js';
import { withClient } from '../db/connect.js';
import { ident } from '../db/sql.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { acquireDatabaseLock } from '../guard/lock.js';
import { assertNothingInterrupted } from './interrupted.js';
import { appendJournal } from '../store/journal.js';
import type { Store } from '../store/store.js';
import { findWritesRecord, type RecordedTable } from './app-writes.js';
import { qualified } from '../db/identity.js';
import { type Column, keyId, type KeyedRow, normalizeSession, quotedName, rowHashSql, rowsByKey, structureOf, tableColumns } from './keyed-rows.js';

export interface ReapplyOptions {
  target: DatabaseTarget;
  store: Store;
  settings: Settings;
  /** Default: the newest deploy of this database that recorded writes. */
  deployId?: string;
  /** Only these tables (`schema.name`, or a name alone when it is unique). */
  tables?: string[];
  /** false: a dry run, nothing is written and no lock is taken. */
  apply: boolean;
  signal?: AbortSignal;
  onNotice?: (message: string) => void;
}

export interface ReapplyConflict {
  table: string;
  key: Record<string, string>;
  why: string;
}

export interface ReappliedTable {
  table: string;
  inserted: number;
  updated: number;
  deleted: number;
  /** Already as the replaced database has them. */
  unchanged: number;
  conflicts: number;
}

export interface ReapplyResult {
  deploy: string;
  database: string;
  /** The database the writes are read from. */
  replaced: string;
  /** false: a dry run; the counts say what would be done. */
  applied: boolean;
  tables: ReappliedTable[];
  skippedTables: Array<{ table: string; why: string }>;
  /** Rows left as the live database has them. */
  conflicts: ReapplyConflict[];
  /** Sequences moved forward past re-inserted values. */
  sequences: Array<{ sequence: string; from: string; to: string }>;
}

/** A planned write: the row's version in the replaced database (now) and in the live one, where present. */
type Action = { kind: 'insert' | 'update' | 'delete'; key: string[]; now: KeyedRow | undefined; live: KeyedRow | undefined };

interface TablePlan {
  recorded: RecordedTable;
  columns: Column[];
  counts: ReappliedTable;
  actions: Action[];
  conflicts: ReapplyConflict[];
  /** Foreign keys that point at this table, read when first needed. */
  references?: Reference[];
}

/**
 * Re-apply, by primary key, the writes a deploy's rollback took out of the database,
 * from the database it swapped out into the live one, three-way: a row is written only
 * where the live one is still the snapshot's version (or absent, for an insert); anything
 * else is a conflict, listed and left alone. All of it in one transaction.
 */
export async function reapply(options: ReapplyOptions): Promise<ReapplyResult> {
  const { target, store } = options;
  const record = await findWritesRecord(store, target.database, options.deployId);
  const selected = selectTables(record.tables, record.skipped, options.tables, record.deploy);
  const result: ReapplyResult = {
    deploy: record.deploy,
    database: target.database,
    replaced: record.replaced,
    applied: options.apply,
    tables: [],
    skippedTables: record.skipped.filter((s) => selected.skipped.includes(s.table)),
    conflicts: [],
    sequences: [],
  };
  const lock = options.apply
    ? await acquireDatabaseLock(target, {
        operation: 'reapply',
        timeoutMs: options.settings.lockTimeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onNotice ? { onWait: options.onNotice } : {}),
      })
    : undefined;
  try {
    if (lock) await assertNothingInterrupted(options.store, target);
    await withSource(target, record.replaced, record.deploy, (source) =>
      withClient(target, target.database, async (live) => {
        await normalizeSession(source);
        await normalizeSession(live);
        if (options.apply) await live.query('begin');
        try {
          const plans: TablePlan[] = [];
          for (const recorded of await parentsFirst(live, selected.tables)) {
            const plan = await planTable(source, live, recorded, options.apply);
            if (typeof plan === 'string') result.skippedTables.push({ table: qualified(recorded), why: plan });
            else plans.push(plan);
          }
          if (options.apply) {
            await execute(live, plans, options.signal);
            result.sequences = await moveSequences(live, plans);
            await live.query('commit');
          }
          result.tables = plans.map((p) => p.counts);
          result.conflicts = plans.flatMap((p) => p.conflicts);
        } catch (error) {
          if (options.apply) await live.query('rollback').catch(() => {});
          throw error;
        }
      }),
    );
  } finally {
    await lock?.release();
  }
  if (options.apply) {
    await appendJournal(store, {
      event: 'reapply',
      database: target.database,
      deploy: record.deploy,
      replaced: record.replaced,
      tables: result.tables,
      skippedTables: result.skippedTables,
      conflicts: result.conflicts.length,
      sequences: result.sequences,
    });
  }
  return result;
}

function selectTables(tables: RecordedTable[], skipped: Array<{ table: string }>, wanted: string[] | undefined, deploy: string): { tables: RecordedTable[]; skipped: string[] } {
  if (!wanted || wanted.length === 0) return { tables, skipped: skipped.map((s) => s.table) };
  const names = [...tables.map(qualified), ...skipped.map((s) => s.table)];
  const chosen = new Set<string>();
  for (const want of wanted) {
    const matches = names.filter((n) => n === want || n.slice(n.indexOf('.') + 1) === want);
    if (matches.length !== 1) {
      throw new LifeboatError('USAGE', `${matches.length === 0 ? 'No' : 'More than one'} table "${want}" among the writes of deploy ${deploy}; nothing was changed.`, {
        hint: `Tables with writes: ${names.join(', ')}.`,
      });
    }
    chosen.add(matches[0]!);
  }
  return { tables: tables.filter((t) => chosen.has(qualified(t))), skipped: skipped.map((s) => s.table).filter((t) => chosen.has(t)) };
}

async function withSource<T>(target: DatabaseTarget, replaced: string, deploy: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  let connected = false;
  try {
    return await withClient(target, replaced, (client) => {
      connected = true;
      return fn(client);
    });
  } catch (error) {
    if (!connected && error instanceof LifeboatError && error.code === 'DB_NOT_FOUND') {
      throw new LifeboatError('DB_NOT_FOUND', `The database "${replaced}" that kept the writes of deploy ${deploy} is gone; nothing was changed.`, {
        hint: 'Retention (`lifeboat prune`) or someone dropped it; those writes cannot be re-applied any more.',
        cause: error,
      });
    }
    throw error;
  }
}

/** The tables in the order inserts go: a table after those its foreign keys point to. */
async function parentsFirst(live: pg.Client, tables: RecordedTable[]): Promise<RecordedTable[]> {
  const { rows: edges } = await live.query<{ child: string; parent: string }>(
    `select cn.nspname || '.' || c.relname as child, pn.nspname || '.' || p.relname as parent
       from pg_constraint f
       join pg_class c on c.oid = f.conrelid join pg_namespace cn on cn.oid = c.relnamespace
       join pg_class p on p.oid = f.confrelid join pg_namespace pn on pn.oid = p.relnamespace
      where f.contype = 'f' and f.conrelid <> f.confrelid`,
  );
  const left = [...tables];
  const ordered: RecordedTable[] = [];
  while (left.length > 0) {
    const waiting = new Set(left.map(qualified));
    const ready = left.findIndex((t) => !edges.some((e) => e.child === qualified(t) && waiting.has(e.parent)));
    // A cycle of foreign keys: take the next one; rows that fail for a missing parent are retried.
    ordered.push(...left.splice(Math.max(ready, 0), 1));
  }
  return ordered;
}

/** What to do with each row of a table, or why the table is skipped. */
async function planTable(source: pg.Client, live: pg.Client, recorded: RecordedTable, lock: boolean): Promise<TablePlan | string> {
  const [sourceColumns, liveColumns] = [await tableColumns(source, recorded), await tableColumns(live, recorded)];
  if (!liveColumns) return 'not in the live database';
  if (!sourceColumns) return 'not in the replaced database';
  if (structureOf(sourceColumns) !== structureOf(liveColumns)) return 'its columns or primary key differ between the replaced and the live database';
  if (structureOf(recorded.columns) !== structureOf(liveColumns.map((c) => ({ name: c.name, type: c.type })))) return 'its columns changed since the rollback';
  const key = recorded.primaryKey.map((n) => liveColumns.find((c) => c.name === n && c.primaryKey));
  if (key.some((c) => c === undefined) || liveColumns.filter((c) => c.primaryKey).length !== key.length) return 'its primary key changed since the rollback';
  const names = liveColumns.map((c) => c.name);
  const keys = recorded.rows.map((r) => r.key);
  const now = await rowsByKey(source, recorded, key as Column[], names, keys, { values: true });
  // Locked, so that the app cannot change a row between this look and the write.
  const current = await rowsByKey(live, recorded, key as Column[], names, keys, { values: true, forUpdate: lock });
  const plan: TablePlan = {
    recorded,
    columns: liveColumns,
    counts: { table: qualified(recorded), inserted: 0, updated: 0, deleted: 0, unchanged: 0, conflicts: 0 },
    actions: [],
    conflicts: [],
  };
  for (const row of recorded.rows) {
    const n = now.get(keyId(row.key));
    const l = current.get(keyId(row.key));
    const outcome = decide(row.base, n?.hash, l?.hash);
    if (outcome === 'unchanged') plan.counts.unchanged++;
    else if (typeof outcome === 'string') {
      plan.actions.push({ kind: outcome, key: row.key, now: n, live: l });
      plan.counts[COUNTED[outcome]]++;
    } else addConflict(plan, row.key, outcome.conflict);
  }
  return plan;
}

const COUNTED = { insert: 'inserted', update: 'updated', delete: 'deleted' } as const;

function addConflict(plan: TablePlan, key: string[], why: string): void {
  plan.conflicts.push({ table: plan.counts.table, key: Object.fromEntries(plan.recorded.primaryKey.map((c, i) => [c, key[i]!])), why });
  plan.counts.conflicts++;
}

type Attempt = 'done' | { retry: string } | { conflict: string };

/**
 * Inserts and updates parents first, then deletes children first, each row in a
 * savepoint: a row that breaks a constraint is a conflict, not the end of the others.
 * A row missing its parent, or still referenced, waits for the next pass (the row it
 * needs may come later); what no pass can write is a conflict.
 */
async function execute(live: pg.Client, plans: TablePlan[], signal: AbortSignal | undefined): Promise<void> {
  const writes = plans.flatMap((plan) => plan.actions.filter((a) => a.kind !== 'delete').map((action) => ({ plan, action })));
  const deletes = [...plans].reverse().flatMap((plan) => plan.actions.filter((a) => a.kind === 'delete').map((action) => ({ plan, action })));
  for (let pending of [writes, deletes]) {
    for (;;) {
      const retry: Array<{ plan: TablePlan; action: Action; why: string }> = [];
      for (const { plan, action } of pending) {
        if (signal?.aborted) throw new LifeboatError('INTERRUPTED', 'Interrupted; the re-apply was rolled back and nothing was changed.');
        const outcome = await attempt(live, plan, action);
        if (outcome === 'done') continue;
        if ('retry' in outcome) retry.push({ plan, action, why: outcome.retry });
        else unplan(plan, action, outcome.conflict);
      }
      if (retry.length === 0) break;
      if (retry.length === pending.length) {
        for (const { plan, action, why } of retry) unplan(plan, action, why);
        break;
      }
      pending = retry;
    }
  }
}

function unplan(plan: TablePlan, action: Action, why: string): void {
  plan.counts[COUNTED[action.kind]]--;
  addConflict(plan, action.key, why);
}

async function attempt(live: pg.Client, plan: TablePlan, action: Action): Promise<Attempt> {
  await live.query('savepoint lifeboat_reapply_row');
  try {
    const referrer = action.kind === 'insert' ? undefined : await referrerOf(live, plan, action);
    const written = referrer ? 0 : await write(live, plan, action);
    await live.query('release savepoint lifeboat_reapply_row');
    if (referrer) return { retry: `rows of ${referrer} in the live database refer to it` };
    if (written === 1) return 'done';
    return { conflict: action.kind === 'insert' ? 'another row of the live database holds one of its unique values' : 'changed in the live database meanwhile' };
  } catch (error) {
    await live.query('rollback to savepoint lifeboat_reapply_row');
    await live.query('release savepoint lifeboat_reapply_row');
    const { code = '', message = String(error) } = error as { code?: string; message?: string };
    if (code === '23503') return { retry: message };
    if (code.startsWith('23')) return { conflict: message };
    throw error;
  }
}

/** One row's write, guarded by the hash it was planned on: 1 when written. */
async function write(live: pg.Client, plan: TablePlan, action: Action): Promise<number> {
  const table = quotedName(plan.recorded);
  const names = plan.columns.map((c) => c.name);
  const params: Array<string | null> = [];
  const param = (value: string | null) => `$${params.push(value)}`;
  const where = () => `${plan.recorded.primaryKey.map((c, i) => `${ident(c)} = ${param(action.key[i]!)}`).join(' and ')} and ${rowHashSql(names)} = ${param(action.live!.hash)}`;
  let sql: string;
  if (action.kind === 'insert') {
    const columns = plan.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.generated);
    sql =
      `insert into ${table} (${columns.map(({ c }) => ident(c.name)).join(', ')}) overriding system value` +
      ` values (${columns.map(({ i }) => param(action.now!.values![i] ?? null)).join(', ')}) on conflict do nothing`;
  } else if (action.kind === 'update') {
    const columns = plan.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.primaryKey && !c.generated && !c.identityAlways);
    if (columns.length === 0) return 1;
    sql = `update ${table} set ${columns.map(({ c, i }) => `${ident(c.name)} = ${param(action.now!.values![i] ?? null)}`).join(', ')} where ${where()}`;
  } else {
    sql = `delete from ${table} where ${where()}`;
  }
  return (await live.query(sql, params)).rowCount ?? 0;
}

interface Reference {
  schema: string;
  name: string;
  columns: string[];
  referenced: string[];
}

/**
 * A table whose live rows refer to this row's values that the write would take away
 * (a delete, or an update of a referenced column): with ON DELETE CASCADE or SET NULL
 * the write would change rows this re-apply does not own, so it waits, then conflicts.
 */
async function referrerOf(live: pg.Client, plan: TablePlan, action: Action): Promise<string | undefined> {
  if (!plan.references) {
    const { rows } = await live.query<Reference>(
      `select cn.nspname as schema, c.relname as name,
              array(select a.attname::text from unnest(f.conkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = f.conrelid and a.attnum = k.n order by k.i) as columns,
              array(select a.attname::text from unnest(f.confkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = f.confrelid and a.attnum = k.n order by k.i) as referenced
         from pg_constraint f join pg_class c on c.oid = f.conrelid join pg_namespace cn on cn.oid = c.relnamespace
        where f.contype = 'f' and f.confrelid = to_regclass($1)`,
      [quotedName(plan.recorded)],
    );
    plan.references = rows;
  }
  const names = plan.columns.map((c) => c.name);
  const valueIn = (row: KeyedRow | undefined, column: string) => row?.values?.[names.indexOf(column)] ?? null;
  for (const ref of plan.references) {
    const old = ref.referenced.map((c) => valueIn(action.live, c));
    if (old.some((v) => v === null)) continue;
    if (action.kind === 'update' && ref.referenced.every((c) => valueIn(action.now, c) === valueIn(action.live, c))) continue;
    const params: string[] = [...(old as string[])];
    let sql = `select exists(select 1 from ${quotedName(ref)} where ${ref.columns.map((c, i) => `${ident(c)} = $${i + 1}`).join(' and ')}`;
    if (ref.schema === plan.recorded.schema && ref.name === plan.recorded.name) {
      // A row that refers to itself does not hold itself back.
      sql += ` and not (${plan.recorded.primaryKey.map((c, i) => `${ident(c)} = $${params.push(action.key[i]!)}`).join(' and ')})`;
    }
    const { rows } = await live.query<{ exists: boolean }>(`${sql})`, params);
    if (rows[0]?.exists) return qualified(ref);
  }
  return undefined;
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** Sequences feeding columns of tables that got rows: moved past the highest value, never back. */
async function moveSequences(live: pg.Client, plans: TablePlan[]): Promise<ReapplyResult['sequences']> {
  const moved: ReapplyResult['sequences'] = [];
  for (const plan of plans.filter((p) => p.counts.inserted > 0)) {
    const table = quotedName(plan.recorded);
    for (const column of plan.columns.filter((c) => INTEGER_TYPES.has(c.type))) {
      const { rows } = await live.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [table, column.name]);
      const seq = rows[0]?.seq;
      if (!seq) continue;
      const { rows: state } = await live.query<{ inc: string; next: string; max: string | null }>(
        `select s.seqincrement::text as inc, coalesce(pg_sequence_last_value(s.seqrelid) + s.seqincrement, s.seqstart)::text as next,
                (select max(${ident(column.name)})::text from ${table}) as max
           from pg_sequence s where s.seqrelid = $1::regclass`,
        [seq],
      );
      const { inc, next, max } = state[0]!;
      if (max === null || BigInt(inc) <= 0n || BigInt(max) < BigInt(next)) continue;
      await live.query('select setval($1::regclass, $2::bigint, true)', [seq, max]);
      moved.push({ sequence: seq, from: next, to: String(BigInt(max) + BigInt(inc)) });
    }
  }
  return moved;
}

/**
 * The three-way decision for one row, from its version in the snapshot (base), in the
 * replaced database (now) and in the live one: hashes, undefined where the row is absent.
 */
function decide(base: string | null, now: string | undefined, live: string | undefined): 'insert' | 'update' | 'delete' | 'unchanged' | { conflict: string } {
  if (now !== undefined && live === now) return 'unchanged';
  if (base === null) {
    if (now === undefined) return 'unchanged';
    if (live === undefined) return 'insert';
    return { conflict: 'inserted during the deploy, and its key holds another row in the live database (written since the rollback)' };
  }
  if (now === undefined) {
    if (live === undefined) return 'unchanged';
    if (live === base) return 'delete';
    return { conflict: 'deleted during the deploy, and changed in the live database since the rollback' };
  }
  if (live === undefined) return { conflict: 'updated during the deploy, and deleted from the live database since the rollback' };
  if (live === base) return 'update';
  return { conflict: 'updated during the deploy, and changed in the live database since the rollback' };
}
