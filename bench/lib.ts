/** What every case uses: timing whole commands, the database plumbing, the row model of the report. */
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type pg from 'pg';
import type { SizeChoice } from './generate.js';
import { ident, urlFor, withClient } from '../dev/pg.js';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, '..');
export const cliPath = join(repoRoot, 'packages/core/dist/cli.js');
export const knexCliPath = join(repoRoot, 'node_modules/knex/bin/cli.js');

/** One row of the table: Lifeboat's figure against its baseline's, and the target. */
export interface Row {
  /** The case id (a sub-row: `case:part`); the smoke test looks for every one. */
  id: string;
  /** What was measured on Lifeboat's side (for the floor: the first physical copy). */
  measured: string;
  measuredMs: number | undefined;
  baseline: string;
  baselineMs: number | undefined;
  /** How the two are compared: measured / baseline, measured − baseline, measured / another figure, or measured alone. */
  compare: 'ratio' | 'difference' | 'share' | 'absolute' | 'none';
  /** The comparison's value: a ratio, a difference in ms, a share (0..1) or the measured ms. */
  value: number | undefined;
  /** In words, e.g. "≤ ×1.05"; '—' when there is none. */
  target: string;
  met: boolean | undefined;
  /** A short note under the table (what the figure includes). */
  note?: string;
}

export interface Side {
  ms: number;
  detail?: Record<string, unknown>;
}

export interface RunRecord {
  run: number;
  order: 'lifeboat-first' | 'baseline-first';
  lifeboat: Side;
  baseline: Side;
}

export interface CaseResult {
  id: string;
  rows: Row[];
  runs: RunRecord[];
  details?: Record<string, unknown>;
}

export interface Fixtures {
  /** A dump snapshot kept from snapshot-dump (or taken by restore-dump), for the restore and probes. */
  dumpSnapshot?: { store: string; id: string; archive: string; sizeBytes: number };
  /** A clone snapshot kept from snapshot-clone (or taken by restore-clone). */
  cloneSnapshot?: { store: string; id: string; database: string };
}

export interface Context {
  /** Superuser URL to the maintenance database. */
  adminUrl: string;
  /** The benchmark database and its URL. */
  database: string;
  url: string;
  size: SizeChoice;
  /** pg_database_size of the generated database. */
  databaseBytes: number;
  runs: number;
  /** A scratch folder outside the repo: stores, dumps, the floor's files. */
  work: string;
  log: (line: string) => void;
  /** A database to drop at the end, whatever happens (clone snapshots are not named after the bench database). */
  track: (database: string) => void;
  fixtures: Fixtures;
  /** Backends of the app's sessions (bench/cases/app-session.ts): connected throughout, never waited for. */
  appPids?: Set<number>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** libpq environment for psql / pg_dump / pg_restore from a URL (the password never on a command line). */
export function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return {
    PGHOST: decodeURIComponent(u.hostname),
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
}

export interface Timed {
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Wall time of one whole command, process start included, with performance.now()
 * around execa. A command that fails is an error: its time means nothing.
 */
export async function timed(file: string, args: string[], options: { env?: Record<string, string>; cwd?: string; exitCode?: number } = {}): Promise<Timed> {
  const start = performance.now();
  const result = await execa(file, args, { env: options.env, cwd: options.cwd ?? repoRoot, reject: false, stdin: 'ignore', all: false });
  const ms = performance.now() - start;
  if (result.exitCode !== (options.exitCode ?? 0)) {
    const out = `${String(result.stderr).trim()}\n${String(result.stdout).trim().slice(0, 2000)}`.trim();
    throw new Error(`${file.split('/').pop()} ${args.join(' ')} exited with ${result.exitCode}: ${out.split('\n').slice(-12).join('\n')}`);
  }
  return { ms, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** `lifeboat <args>` with the real CLI; DATABASE_URL is the benchmark database unless given. */
export function lifeboat(ctx: Context, args: string[], options: { env?: Record<string, string>; cwd?: string; exitCode?: number } = {}): Promise<Timed> {
  return timed(process.execPath, [cliPath, ...args], {
    env: { DATABASE_URL: ctx.url, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.exitCode ? { exitCode: options.exitCode } : {}),
  });
}

/** psql on the maintenance database, one process, each -c on its own. */
export function psql(ctx: Context, ...commands: string[]): Promise<Timed> {
  return timed('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...commands.flatMap((c) => ['-c', c])], { env: pgEnv(ctx.adminUrl) });
}

export async function adminQuery<T extends pg.QueryResultRow = Record<string, unknown>>(ctx: { adminUrl: string }, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(ctx.adminUrl, async (c) => (await c.query<T>(sql, params)).rows);
}

export async function dropDatabase(ctx: { adminUrl: string }, name: string): Promise<void> {
  await adminQuery(ctx, `drop database if exists ${ident(name)} with (force)`);
}

/**
 * Before each timed command: the previous one's sessions gone (a clone needs the
 * database to itself, and a backend outlives its client's exit by a moment), and a
 * CHECKPOINT, so that one side never pays for writing out the other side's pages.
 */
export async function settle(ctx: Context, databases: string[] = [ctx.database]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await adminQuery<{ n: number }>(ctx, 'select count(*)::int as n from pg_stat_activity where datname = any($1) and pid <> pg_backend_pid() and pid <> all($2)', [
      databases,
      [...(ctx.appPids ?? [])],
    ]);
    if (rows[0]!.n === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await adminQuery(ctx, 'checkpoint');
}

/**
 * The runs of a case: in each repetition both sides, Lifeboat first in even runs and
 * the baseline first in odd ones, so neither always gets the warmer cache. Each side
 * returns what to undo, which happens untimed before the next command.
 */
export async function alternate(
  ctx: Context,
  name: string,
  sides: {
    lifeboat: (run: number) => Promise<Side & { cleanup?: () => Promise<void> }>;
    baseline: (run: number) => Promise<Side & { cleanup?: () => Promise<void> }>;
  },
): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    const order = run % 2 === 0 ? (['lifeboat', 'baseline'] as const) : (['baseline', 'lifeboat'] as const);
    const record: Partial<RunRecord> = { run: run + 1, order: run % 2 === 0 ? 'lifeboat-first' : 'baseline-first' };
    for (const side of order) {
      await settle(ctx);
      const result = await sides[side](run);
      record[side] = { ms: Math.round(result.ms * 10) / 10, ...(result.detail ? { detail: result.detail } : {}) };
      await result.cleanup?.();
    }
    ctx.log(`  ${name} run ${run + 1}/${ctx.runs}: Lifeboat ${formatMs(record.lifeboat!.ms)}, baseline ${formatMs(record.baseline!.ms)}`);
    records.push(record as RunRecord);
  }
  return records;
}

export function medianOf(records: RunRecord[], side: 'lifeboat' | 'baseline', pick: (s: Side) => number | undefined = (s) => s.ms): number {
  return median(records.map((r) => pick(r[side])).filter((v): v is number => typeof v === 'number'));
}

export function ratioRow(id: string, measured: string, baseline: string, records: RunRecord[], max: number | undefined, note?: string): Row {
  const a = medianOf(records, 'lifeboat');
  const b = medianOf(records, 'baseline');
  const value = a / b;
  return {
    id,
    measured,
    measuredMs: a,
    baseline,
    baselineMs: b,
    compare: 'ratio',
    value,
    target: max === undefined ? '—' : `≤ ×${max.toFixed(2)}`,
    met: max === undefined ? undefined : value <= max,
    ...(note ? { note } : {}),
  };
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(0)} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024).toFixed(0)} kB`;
}

export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

export { ident, urlFor, withClient };
