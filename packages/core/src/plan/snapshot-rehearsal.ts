import type { CheckResult } from '../checks/result.js';
import { runChecks } from '../checks/run.js';
import type { Settings } from '../config/resolve.js';
import { withClient } from '../db/connect.js';
import { type DatabaseTarget, withDatabase } from '../db/target.js';
import type { AppliedTime, MigrationAdapter, MigrationRun } from '../guard/adapter.js';
import type { ProgressFn } from '../progress.js';
import { withRestoredScratch } from '../recovery/drill.js';
import type { Manifest } from '../store/manifest.js';
import type { Store } from '../store/store.js';
import { type SampledLock, sampleLocks } from './lock-sampler.js';

/** A table lock a migration held in the rehearsal, and for about how long. */
export interface HeldLock {
  table: string;
  mode: string;
  ms: number;
}

export interface RehearsedMigration {
  name: string;
  /** How long it ran; undefined when the tool records no times (Drizzle): see the total. */
  ms?: number;
  /** The longest table lock taken while it ran. */
  longestLock?: HeldLock;
}

export interface SnapshotRehearsal {
  ok: boolean;
  /** The snapshot restored, and the database it was taken of. */
  snapshot: string;
  database: string;
  /** The scratch database (dropped). */
  scratch: string;
  tool: string;
  pending: string[];
  /** The migrations the tool applied in the rehearsal. */
  migrated: string[];
  migrations: RehearsedMigration[];
  /** The longest table lock of the whole run, and the migration that took it. */
  longestLock?: HeldLock & { migration?: string };
  /** The lock figures' resolution: the time between two samples of pg_locks. */
  lockSampleMs: number;
  checks: CheckResult[];
  /** The tool's failure (or the checks'), in one line. */
  error?: string;
  failed?: 'migrate' | 'checks' | 'restore';
  timings: { restoreMs?: number; migrateMs?: number; checksMs?: number; dropMs?: number; totalMs: number };
}

export interface SnapshotRehearsalOptions {
  /** The live database: never touched; its server holds the scratch copy. */
  target: DatabaseTarget;
  store: Store;
  manifest: Manifest;
  settings: Settings;
  /** The scratch database's name, which the tool was already pointed at (`runOn`). */
  scratch: string;
  /** The tool's command and adapter, pointed at the scratch database. */
  pointed: { run: MigrationRun; adapter: MigrationAdapter };
  output: 'inherit' | 'stderr';
  signal?: AbortSignal | undefined;
  onProgress?: ProgressFn | undefined;
  /** A snapshot fetched from the remote: where its files are. */
  fetched?: { store: Store } | undefined;
}

/**
 * `lifeboat rehearse`: the snapshot restored into a scratch database beside the live one
 * (a drill's restore), the pending migrations run there with the real tool while
 * pg_locks is sampled, the checks run against the snapshot's manifest, each migration
 * timed from the tool's own records, and the scratch dropped. The live database is only
 * read by nothing: the store is all it reads.
 */
export async function rehearseOnSnapshot(options: SnapshotRehearsalOptions): Promise<SnapshotRehearsal> {
  const { target, manifest, pointed } = options;
  const started = Date.now();
  const result: SnapshotRehearsal = {
    ok: false,
    snapshot: manifest.id,
    database: target.database,
    scratch: options.scratch,
    tool: pointed.run.describe,
    pending: [],
    migrated: [],
    migrations: [],
    lockSampleMs: 0,
    checks: [],
    timings: { totalMs: 0 },
  };
  const scratch = withDatabase(target, options.scratch);
  try {
    await withRestoredScratch(
      {
        target,
        store: options.store,
        manifest,
        operation: 'rehearsal',
        scratch: options.scratch,
        onProgress: options.onProgress,
        signal: options.signal,
        fetched: options.fetched,
        phases: result.timings,
      },
      async (restore) => {
        result.timings.restoreMs = restore.durationMs;
        result.pending = (await withClient(scratch, scratch.database, (client) => pointed.adapter.status(client))).pending;
        if (result.pending.length === 0) {
          result.ok = true;
          return;
        }
        const sampler = await sampleLocks(scratch);
        const runStart = Date.now();
        const outcome = await pointed.run.run({ signal: options.signal ?? new AbortController().signal, output: options.output }).finally(() => {
          result.timings.migrateMs = Date.now() - runStart;
        });
        const samples = await sampler.stop();
        result.lockSampleMs = samples.intervalMs;
        await withClient(scratch, scratch.database, async (client) => {
          const applied = new Set((await pointed.adapter.status(client)).applied);
          result.migrated = result.pending.filter((m) => applied.has(m));
          const times = (await pointed.adapter.appliedTimes?.(client)) ?? [];
          const begin = Math.max(runStart, samples.firstActivity ?? runStart);
          result.migrations = timed(result.pending, result.migrated, times, begin, samples.locks, samples.intervalMs);
          if (outcome.exitCode !== 0) {
            result.failed = 'migrate';
            result.error = outcome.error ?? `${pointed.run.describe} exited with code ${outcome.exitCode}`;
            return;
          }
          const checksStart = Date.now();
          result.checks = (await runChecks(client, manifest, options.settings.checks, pointed.adapter)).results;
          result.timings.checksMs = Date.now() - checksStart;
          const failed = result.checks.filter((c) => !c.ok);
          if (failed.length > 0) {
            result.failed = 'checks';
            result.error = failed.flatMap((c) => c.problems).join('; ');
            return;
          }
          result.ok = true;
        });
        result.longestLock = longest(result.migrations);
      },
    );
  } catch (error) {
    result.ok = false;
    result.failed ??= 'restore';
    result.error ??= error instanceof Error ? error.message : String(error);
  }
  result.timings.totalMs = Date.now() - started;
  return result;
}

/**
 * Each pending migration's duration and longest lock. A migration runs from its recorded
 * start (Prisma), else from the end of the one before it (Knex records when each ended),
 * the first from when the tool's transaction began; a lock belongs to the migration
 * running when it was first seen.
 */
function timed(pending: string[], migrated: string[], times: AppliedTime[], begin: number, locks: SampledLock[], intervalMs: number): RehearsedMigration[] {
  const byName = new Map(times.map((t) => [t.migration, t]));
  const windows: Array<{ name: string; from: number; to: number | undefined }> = [];
  let previousEnd = begin;
  for (const name of pending) {
    const time = byName.get(name);
    const ran = migrated.includes(name);
    const from = time?.startedAt?.getTime() ?? previousEnd;
    const to = ran ? time?.finishedAt.getTime() : undefined;
    windows.push({ name, from, to });
    if (to !== undefined) previousEnd = to;
  }
  const known = times.length > 0;
  return windows.map((w, i) => {
    const next = windows[i + 1];
    const end = w.to ?? next?.from ?? Number.POSITIVE_INFINITY;
    const mine = locks.filter((l) => l.firstSeen >= w.from - intervalMs && l.firstSeen < end && (i === 0 || l.firstSeen >= w.from));
    const lock = mine.map((l) => ({ table: l.table, mode: l.mode, ms: l.lastSeen - l.firstSeen + intervalMs })).sort(longerFirst)[0];
    return {
      name: w.name,
      ...(known && w.to !== undefined ? { ms: Math.max(0, Math.round(w.to - w.from)) } : {}),
      ...(lock ? { longestLock: lock } : {}),
    };
  });
}

const MODES = ['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'];
function strength(mode: string): number {
  return MODES.indexOf(mode);
}

/**
 * The lock that matters most first: one that stops the app's writes (SHARE and stronger)
 * before one that does not (ROW EXCLUSIVE of an UPDATE, ACCESS SHARE of a read), then
 * the longer, then the stronger.
 */
function longerFirst(a: HeldLock, b: HeldLock): number {
  const blocks = (l: HeldLock) => (strength(l.mode) >= strength('SHARE') ? 1 : 0);
  return blocks(b) - blocks(a) || b.ms - a.ms || strength(b.mode) - strength(a.mode);
}

function longest(migrations: RehearsedMigration[]): (HeldLock & { migration?: string }) | undefined {
  const all = migrations.flatMap((m) => (m.longestLock ? [{ ...m.longestLock, migration: m.name }] : []));
  return all.sort(longerFirst)[0];
}
