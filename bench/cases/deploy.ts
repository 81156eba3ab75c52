/**
 * Guarded deploys in a Knex project: `lifeboat knex migrate:latest` against the bare
 * `knex migrate:latest`, with nothing pending, and with one migration (each run's
 * migration is rolled back, untimed, with knex's own migrate:rollback).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeployReport, Manifest } from '@lifeboat/core';
import { chooseDatabase } from '@lifeboat/core/adapter';
import pg from 'pg';
import { createKnexProject } from '../../dev/knex-project.js';
import { withAppSession } from './app-session.js';
import { alternate, benchDir, type CaseResult, type Context, dropDatabase, formatMs, knexCliPath, lifeboat, median, medianOf, ratioRow, removeDir, type Row, type RunRecord, timed } from '../lib.js';

export interface KnexProject {
  dir: string;
  env: Record<string, string>;
}

const projects = new WeakMap<Context, KnexProject>();

const BASELINE_MIGRATION = `exports.up = async (knex) => {
  await knex.schema.createTable('app_settings', (t) => {
    t.text('key').primary();
    t.jsonb('value').notNullable();
  });
};
exports.down = async (knex) => {
  await knex.schema.dropTable('app_settings');
};
`;

/** A typical small migration: a column with a default, a new table with a foreign key, two rows. */
const ONE_MIGRATION = `exports.up = async (knex) => {
  await knex.schema.alterTable('users', (t) => {
    t.text('locale').notNullable().defaultTo('en');
  });
  await knex.schema.createTable('feature_flags', (t) => {
    t.increments('id');
    t.text('name').notNullable().unique();
    t.boolean('enabled').notNullable().defaultTo(false);
    t.bigInteger('account_id').references('accounts.id');
  });
  await knex('feature_flags').insert([{ name: 'new-checkout', enabled: true }, { name: 'dark-mode', enabled: false }]);
};
exports.down = async (knex) => {
  await knex.schema.dropTable('feature_flags');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('locale');
  });
};
`;

/**
 * A Knex project folder in bench/.tmp/ (inside the repo, so Node resolves knex, pg and
 * @lifeboat/knex from the repo's node_modules as from a user's project), with one
 * migration applied by knex itself.
 */
export async function knexProject(ctx: Context): Promise<KnexProject> {
  const existing = projects.get(ctx);
  if (existing) return existing;
  const dir = await createKnexProject(join(benchDir, '.tmp'));
  await writeFile(join(dir, 'migrations', '20260101000000_app_settings.cjs'), BASELINE_MIGRATION);
  const project = { dir, env: { DATABASE_URL: ctx.url, NODE_ENV: 'development' } };
  projects.set(ctx, project);
  await knex(project, ['migrate:latest']);
  return project;
}

export async function removeKnexProject(ctx: Context): Promise<void> {
  const project = projects.get(ctx);
  if (project) await removeDir(project.dir);
  projects.delete(ctx);
}

export function knex(project: KnexProject, args: string[]) {
  return timed(process.execPath, [knexCliPath, ...args], { env: project.env, cwd: project.dir });
}

/** `exitCode`: what the deploy must exit with (20 for a deploy rolled back). */
export async function guarded(ctx: Context, project: KnexProject, store: string, flags: string[] = [], exitCode = 0) {
  const result = await lifeboat(ctx, ['--json', '--store', store, ...flags, 'knex', 'migrate:latest'], { env: project.env, cwd: project.dir, exitCode });
  return { ms: result.ms, report: JSON.parse(result.stdout) as DeployReport };
}

export async function deployNoop(ctx: Context): Promise<CaseResult> {
  const project = await knexProject(ctx);
  const store = join(ctx.work, 'deploy-noop-store');
  const runs = await withAppSession(ctx, () =>
    alternate(ctx, 'deploy-noop', {
      lifeboat: async () => {
        const { ms, report } = await guarded(ctx, project, store);
        if (report.outcome !== 'nothing-pending') throw new Error(`deploy-noop: expected nothing pending, got ${report.outcome}`);
        return { ms, detail: { ...report.timings } };
      },
      baseline: async () => ({ ms: (await knex(project, ['migrate:latest'])).ms }),
    }),
  );
  await removeDir(store);
  const a = medianOf(runs, 'lifeboat');
  const b = medianOf(runs, 'baseline');
  const inside = medianOf(runs, 'lifeboat', (s) => s.detail?.totalMs as number | undefined);
  const tool = medianOf(runs, 'lifeboat', (s) => s.detail?.migrateMs as number | undefined);
  const row: Row = {
    id: 'deploy-noop',
    measured: 'lifeboat knex migrate:latest, nothing pending (app connected)',
    measuredMs: a,
    baseline: 'knex migrate:latest',
    baselineMs: b,
    compare: 'difference',
    value: a - b,
    target: '≤ +0.30 s',
    met: a - b <= 300,
    note: `deploy-noop: of Lifeboat's ${formatMs(a)}, ${formatMs(inside)} is the deploy pipeline (lock, pending, the knex run of ${formatMs(tool)}); the rest, ${formatMs(a - inside)}, is starting node and loading the CLI, the config and the adapter.`,
  };
  return { id: 'deploy-noop', rows: [row], runs, details: { pipelineMedianMs: inside, toolInsideMedianMs: tool } };
}

async function cloneDatabaseOf(store: string, id: string): Promise<string | undefined> {
  const manifest = JSON.parse(await readFile(join(store, 'snapshots', id, 'manifest.json'), 'utf8')) as Manifest;
  return manifest.clone?.database;
}

/** `strategy`: undefined = Lifeboat's default (auto: clone when it can). */
export async function deployOne(ctx: Context, strategy?: 'dump' | 'clone'): Promise<CaseResult> {
  const id = strategy === 'dump' ? 'deploy-one-dump' : 'deploy-one';
  const project = await knexProject(ctx);
  const file = join(project.dir, 'migrations', '20260201000000_add_locale_and_flags.cjs');
  await writeFile(file, ONE_MIGRATION);
  const undo = () => knex(project, ['migrate:rollback']).then(() => undefined);
  let runs: RunRecord[];
  try {
    runs = await alternate(ctx, id, {
      lifeboat: async (run) => {
        const store = join(ctx.work, `${id}-store-${run}`);
        const { ms, report } = await guarded(ctx, project, store, strategy ? ['--strategy', strategy] : []);
        if (report.outcome !== 'applied') throw new Error(`${id}: expected the migration applied, got ${report.outcome}: ${JSON.stringify(report.checks.filter((c) => !c.ok))}`);
        const clone = report.snapshot ? await cloneDatabaseOf(store, report.snapshot.id) : undefined;
        if (clone) ctx.track(clone);
        return {
          ms,
          detail: { ...report.timings, strategy: report.snapshot?.strategy, snapshotBytes: report.snapshot?.sizeBytes },
          cleanup: async () => {
            await undo();
            if (clone) await dropDatabase(ctx, clone);
            await removeDir(store);
          },
        };
      },
      baseline: async () => ({ ms: (await knex(project, ['migrate:latest'])).ms, cleanup: undo }),
    });
  } finally {
    await removeDir(file);
  }

  const t = (key: string) => medianOf(runs, 'lifeboat', (s) => s.detail?.[key] as number | undefined);
  const wall = medianOf(runs, 'lifeboat');
  const bare = medianOf(runs, 'baseline');
  const strategies = [...new Set(runs.map((r) => String(r.lifeboat.detail?.strategy)))].join('/');
  // Share of the snapshot per run, then the median: the target is about each deploy.
  const shares = runs.map((r) => Number(r.lifeboat.detail?.checksMs) / Number(r.lifeboat.detail?.snapshotMs));
  const share = median(shares);
  const phase = (name: string, key: string, what: string): Row => ({
    id: `${id}:${name}`,
    measured: `  ${what}`,
    measuredMs: t(key),
    baseline: '',
    baselineMs: undefined,
    compare: 'none',
    value: undefined,
    target: '—',
    met: undefined,
  });
  const processMs = median(runs.map((r) => r.lifeboat.ms - Number(r.lifeboat.detail?.totalMs)));
  const rows: Row[] = [
    {
      ...ratioRow(id, `lifeboat knex migrate:latest, 1 migration (${strategies})`, 'knex migrate:latest', runs, undefined),
      compare: 'difference',
      value: wall - bare,
    },
    phase('lock', 'lockMs', 'phase: lock'),
    phase('pending', 'pendingMs', 'phase: pre-flight (pending, applied)'),
    phase('snapshot', 'snapshotMs', `phase: snapshot (${strategies}, with counts)`),
    { ...phase('migrate', 'migrateMs', 'phase: migrate (knex)'), baseline: 'knex migrate:latest', baselineMs: bare },
    {
      ...phase('checks', 'checksMs', 'phase: checks'),
      baseline: 'share of the snapshot',
      compare: 'share',
      value: share,
      target: '≤ 10 % of snapshot',
      met: share <= 0.1,
    },
    { ...phase('process', 'totalMs', 'outside the pipeline (node, CLI, adapter)'), measuredMs: processMs },
  ];
  return { id, rows, runs, details: { strategy: strategies, checksShareOfSnapshot: shares } };
}

/**
 * The Knex adapter's share of a deploy, each call timed once in this process: preparing
 * (finding and loading the knexfile), and the reads the pre-flight and the checks make
 * (status, bookkeeping: each one loads knex and opens its own connection).
 */
export async function knexAdapterProbe(ctx: Context): Promise<Array<{ id: string; what: string; ms: number }>> {
  const project = projects.get(ctx);
  if (!project) return [];
  const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const start = performance.now();
    const value = await fn();
    return [value, performance.now() - start];
  };
  const [{ cliAdapter }, importMs] = await time(() => import('@lifeboat/knex'));
  // The knexfile reads process.env when it is loaded, as in the CLI's process.
  const saved = { DATABASE_URL: process.env.DATABASE_URL, NODE_ENV: process.env.NODE_ENV };
  Object.assign(process.env, project.env);
  const [prepared, prepareMs] = await time(() =>
    cliAdapter.prepare({ args: ['migrate:latest'], cwd: project.dir, env: { ...process.env }, choose: (tool) => chooseDatabase({ env: { DATABASE_URL: ctx.url } }, [tool]) }),
  ).finally(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const adapter = prepared.mode === 'migrate' ? prepared.adapter : undefined;
  if (!adapter) return [];
  const client = new pg.Client({ connectionString: ctx.url });
  await client.connect();
  try {
    const [, statusMs] = await time(() => adapter.status(client as never));
    const [, bookkeepingMs] = await time(() => adapter.checkBookkeeping(client as never));
    return [
      { id: 'knex-import', what: 'knex adapter: import @lifeboat/knex (core already loaded)', ms: importMs },
      { id: 'knex-prepare', what: 'knex adapter: find and load the knexfile', ms: prepareMs },
      { id: 'knex-status', what: 'knex adapter: pending and applied (pre-flight, and after the run; knex.migrate.list)', ms: statusMs },
      { id: 'knex-bookkeeping', what: 'knex adapter: bookkeeping check (checks)', ms: bookkeepingMs },
    ];
  } finally {
    await client.end().catch(() => {});
  }
}
