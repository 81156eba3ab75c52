import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { connect } from '../db/connect.js';
import type { DatabaseTarget } from '../db/target.js';

/** A table lock another session held, as the samples saw it; times on this machine's clock (ms since the epoch). */
export interface SampledLock {
  pid: number;
  /** "public.orders" */
  table: string;
  /** "AccessExclusiveLock" as pg_locks names it, turned into "ACCESS EXCLUSIVE". */
  mode: string;
  firstSeen: number;
  lastSeen: number;
}

export interface LockSamples {
  locks: SampledLock[];
  /** The earliest transaction start of another session on the database: when the tool began its work. */
  firstActivity: number | undefined;
  /** The time between samples: the resolution of every figure here. */
  intervalMs: number;
  samples: number;
}

interface Sample {
  now: number;
  first: number | null;
  locks: Array<{ pid: number; table: string; mode: string }> | null;
}

/**
 * Every table lock held on `target` by other sessions, sampled from pg_locks every
 * `intervalMs` on a connection of its own, until `stop()`. What a rehearsal measures the
 * longest lock of a migration with: a lock is held from about its first sample to its
 * last (one interval either way). The server's clock is turned into this machine's with
 * the offset seen on each sample, so the samples line up with the times the tool records.
 */
export async function sampleLocks(target: DatabaseTarget, intervalMs = 25): Promise<{ stop(): Promise<LockSamples> }> {
  const client: pg.Client = await connect(target);
  const held = new Map<string, SampledLock>();
  let firstActivity: number | undefined;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const sent = Date.now();
      let sample: Sample;
      try {
        const { rows } = await client.query<{ sample: Sample }>(SAMPLE);
        sample = rows[0]!.sample;
      } catch {
        return;
      }
      const received = Date.now();
      // Server time → local time: the server read its clock about half-way through the round trip.
      const offset = sample.now - (sent + received) / 2;
      samples++;
      if (sample.first !== null) firstActivity = Math.min(firstActivity ?? Number.POSITIVE_INFINITY, sample.first - offset);
      for (const lock of sample.locks ?? []) {
        const key = `${lock.pid}/${lock.table}/${lock.mode}`;
        const seen = held.get(key);
        if (seen) seen.lastSeen = received;
        else held.set(key, { pid: lock.pid, table: lock.table, mode: modeName(lock.mode), firstSeen: received, lastSeen: received });
      }
      await delay(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.end().catch(() => {});
      return { locks: [...held.values()], firstActivity, intervalMs, samples };
    },
  };
}

/** "ShareRowExclusiveLock" → "SHARE ROW EXCLUSIVE", as the plan and PostgreSQL's documentation name the modes. */
function modeName(mode: string): string {
  return mode
    .replace(/Lock$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

/** One round trip: the server's clock, the oldest open transaction of another session, and the table locks others hold. */
const SAMPLE = `
select json_build_object(
  'now', extract(epoch from clock_timestamp()) * 1000,
  'first', (select extract(epoch from min(xact_start)) * 1000 from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'),
  'locks', (select json_agg(json_build_object('pid', l.pid, 'table', format('%s.%s', n.nspname, c.relname), 'mode', l.mode))
              from pg_locks l
              join pg_class c on c.oid = l.relation
              join pg_namespace n on n.oid = c.relnamespace
             where l.locktype = 'relation' and l.granted and l.pid <> pg_backend_pid()
               and l.database = (select oid from pg_database where datname = current_database())
               and c.relkind in ('r', 'p', 'm') and n.nspname not in ('pg_catalog', 'information_schema'))
) as sample`;
