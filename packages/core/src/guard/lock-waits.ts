import type pg from 'pg';

/** Who held the lock a tool's statement waited for. */
export interface LockHolder {
  pid: number;
  applicationName: string;
  /** How long the holder's transaction had been open when last seen; undefined outside a transaction. */
  xactAgeMs: number | undefined;
  state: string | undefined;
}

/** One statement of the tool that waited for a lock. */
export interface LockWait {
  /** The attempt of the deploy it happened in (1 = the first run). */
  attempt: number;
  statement: string;
  /** The relation waited for (`public.orders`), when the lock was on one. */
  table: string | undefined;
  /** `ACCESS EXCLUSIVE`, `SHARE`… (or the lock type for a lock not on a relation: `advisory`). */
  mode: string;
  waitedMs: number;
  /** The first blocking session (pg_blocking_pids) seen. */
  blockedBy: LockHolder | undefined;
  /** Lifeboat cancelled the statement (its driver did not pass lock_timeout to the server). */
  cancelled?: boolean;
}

export interface LockWaitSampler {
  /** Stop sampling; the waits of this run, with their relations named (on a connection to the database). */
  stop(): Promise<LockWait[]>;
}

export interface SampleOptions {
  /** The tool sessions' `application_name`. */
  tag: string;
  database: string;
  attempt: number;
  timeoutMs: number;
  intervalMs?: number;
  /** Cancel a tagged statement waiting this long past `timeoutMs` (a driver that ignored PGOPTIONS). Default 1 s. */
  graceMs?: number;
}

interface Row {
  pid: number;
  query: string;
  waiting: boolean;
  relation: string | null;
  locktype: string | null;
  mode: string | null;
  wait_key: string | null;
  waited_ms: number | null;
  blockers: Array<{ pid: number; application_name: string | null; xact_ms: number | null; state: string | null }> | null;
}

/**
 * Reads `pg_stat_activity` (with `pg_locks`' waiting lock and `pg_blocking_pids`) for the
 * sessions tagged with this deploy every ~100 ms, on the deploy's own connection (which may
 * be on the maintenance database: the catalogs read are the whole server's), while the tool
 * runs. Each wait is keyed by session, statement start and what it waits for, so a wait seen in many samples counts
 * once, for as long as the server says it lasted (`pg_locks.waitstart`, PostgreSQL 14+; the
 * sampled time before). A statement still waiting `graceMs` past the lock timeout is
 * cancelled (`pg_cancel_backend`): the server's lock_timeout did not reach that session.
 */
export function sampleLockWaits(client: pg.Client, options: SampleOptions): LockWaitSampler {
  const interval = options.intervalMs ?? 100;
  const grace = options.graceMs ?? 1000;
  const waits = new Map<string, LockWait & { relationOid: string | undefined; pid: number }>();
  let stopped = false;
  let failedOnce = false;
  let waitStart: string | undefined;

  const sample = async () => {
    if (waitStart === undefined) {
      const { rows } = await client.query<{ v: number }>(`select current_setting('server_version_num')::int as v`);
      waitStart = rows[0]!.v >= 140000 ? 'coalesce(l.waitstart, clock_timestamp())' : 'a.state_change';
    }
    const { rows } = await client.query<Row>(
      `select a.pid, coalesce(a.query, '') as query, a.wait_event_type = 'Lock' as waiting,
              l.relation::text as relation, l.locktype, l.mode,
              a.pid::text || ':' || coalesce(a.query_start::text, '') || ':' || coalesce(l.relation::text, l.locktype, '') as wait_key,
              (extract(epoch from clock_timestamp() - ${waitStart}) * 1000)::float8 as waited_ms,
              case when a.wait_event_type = 'Lock' then (
                select json_agg(json_build_object('pid', b.pid, 'application_name', b.application_name, 'state', b.state,
                                                  'xact_ms', (extract(epoch from clock_timestamp() - b.xact_start) * 1000)::float8))
                  from pg_stat_activity b where b.pid = any(pg_blocking_pids(a.pid))) end as blockers
         from pg_stat_activity a
         left join lateral (select * from pg_locks l where l.pid = a.pid and not l.granted limit 1) l on true
        where a.application_name = $1 and a.datname = $2 and a.pid <> pg_backend_pid()`,
      [options.tag, options.database],
    );
    for (const row of rows) {
      if (!row.waiting || !row.mode) continue;
      const key = row.wait_key ?? `${row.pid}`;
      const holder = row.blockers?.[0];
      const known = waits.get(key);
      const waitedMs = Math.max(known?.waitedMs ?? 0, Math.round(row.waited_ms ?? 0));
      waits.set(key, {
        attempt: options.attempt,
        pid: row.pid,
        statement: row.query.trim(),
        table: undefined,
        relationOid: row.relation ?? undefined,
        mode: row.relation ? modeName(row.mode) : (row.locktype ?? modeName(row.mode)),
        waitedMs,
        blockedBy: holder
          ? { pid: holder.pid, applicationName: holder.application_name ?? '', xactAgeMs: holder.xact_ms === null ? undefined : Math.round(holder.xact_ms), state: holder.state ?? undefined }
          : known?.blockedBy,
        ...(known?.cancelled ? { cancelled: true } : {}),
      });
      if (waitedMs > options.timeoutMs + grace && !known?.cancelled) {
        await client.query('select pg_cancel_backend($1)', [row.pid]);
        waits.get(key)!.cancelled = true;
      }
    }
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await sample();
      } catch {
        // A sample that fails (a catalog race) is skipped; a second failure ends the sampling, never the deploy.
        if (failedOnce) break;
        failedOnce = true;
      }
      if (stopped) break;
      await new Promise((resolve) => setTimeout(resolve, interval).unref());
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      return [...waits.values()].map(({ relationOid, pid: _pid, ...wait }) => ({ ...wait, table: relationOid }));
    },
  };
}

/** `AccessExclusiveLock` → `ACCESS EXCLUSIVE`. */
export function modeName(mode: string): string {
  return mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

/**
 * Name the relations of `waits` (OIDs as text) on a connection to the database they are in
 * (`regclass` resolves only there). Unknown OIDs (a table the failed migration made) stay as they are.
 */
export async function nameRelations(client: pg.Client, waits: LockWait[]): Promise<void> {
  const oids = [...new Set(waits.map((w) => w.table).filter((t): t is string => t !== undefined && /^\d+$/.test(t)))];
  if (oids.length === 0) return;
  const { rows } = await client.query<{ oid: string; name: string }>(
    `select c.oid::text as oid, n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = any($1::oid[])`,
    [oids],
  );
  const names = new Map(rows.map((r) => [r.oid, r.name]));
  for (const wait of waits) if (wait.table && names.has(wait.table)) wait.table = names.get(wait.table);
}

/**
 * Did the tool give up on a lock? Asked only when it failed: one of its statements was seen
 * waiting for a lock for about the lock timeout (within three samples of it: with the
 * timeout on the session, such a wait ends by timing out, or is granted in its last moments),
 * or Lifeboat cancelled it. Read from the server's own view of the sessions, not from the
 * tool's output: the message is translated under `lc_messages`, tools print it differently
 * or not at all (drizzle-kit), and the SQLSTATE (55P03) is in none of their outputs for sure.
 */
export function gaveUpOnLock(waits: LockWait[], timeoutMs: number, intervalMs = 100): LockWait | undefined {
  const near = Math.max(timeoutMs / 2, timeoutMs - 3 * intervalMs);
  return waits.filter((w) => w.cancelled || w.waitedMs >= near).sort((a, b) => b.waitedMs - a.waitedMs)[0];
}
