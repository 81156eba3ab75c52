/**
 * `pnpm bench`: Lifeboat against the PostgreSQL tools it drives, on a generated
 * application database. Each case runs several times, alternating Lifeboat and its
 * baseline; the table gives medians and ratios, and bench/results/<stamp>-<size>.json
 * every raw run with the machine it ran on.
 *
 *   pnpm bench [--size 100MB|1GB|10GB] [--runs N] [--seed N] [--cases a,b]
 *              [--database-url URL]  (or BENCH_DATABASE_URL; default: an embedded PostgreSQL 15)
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { startEmbedded } from '../dev/embedded-postgres.js';
import { deployNoop, deployOne, removeKnexProject } from './cases/deploy.js';
import { floor } from './cases/floor.js';
import { deployAdditive, deployOneTable, planOverhead, rollbackOneTable } from './cases/proportion.js';
import { push, restoreRemote, stopRemoteFixture } from './cases/remote.js';
import { restoreClone, restoreDump } from './cases/restore.js';
import { snapshotClone, snapshotDump } from './cases/snapshot.js';
import { type Generated, generateDatabase, parseSize } from './generate.js';
import { adminQuery, benchDir, type CaseResult, cliPath, type Context, dropDatabase, formatBytes, formatMs, removeDir, repoRoot, type Row, urlFor } from './lib.js';
import { type Probe, probes } from './probes.js';
import { formatProbes, formatTable, type Machine, machineLine } from './report.js';

const CASES: Record<string, { run: (ctx: Context) => Promise<CaseResult>; rows: string[]; default: boolean }> = {
  floor: { run: floor, rows: ['floor'], default: true },
  'snapshot-dump': { run: snapshotDump, rows: ['snapshot-dump'], default: true },
  'snapshot-clone': { run: snapshotClone, rows: ['snapshot-clone'], default: true },
  'restore-dump': { run: restoreDump, rows: ['restore-dump'], default: true },
  'restore-clone': { run: restoreClone, rows: ['restore-clone', 'restore-clone-swap'], default: true },
  'deploy-noop': { run: deployNoop, rows: ['deploy-noop'], default: true },
  'deploy-one': { run: (ctx) => deployOne(ctx), rows: ['deploy-one'], default: true },
  'deploy-one-dump': { run: (ctx) => deployOne(ctx, 'dump'), rows: ['deploy-one-dump'], default: false },
  'deploy-additive': { run: deployAdditive, rows: ['deploy-additive'], default: true },
  'deploy-one-table': { run: deployOneTable, rows: ['deploy-one-table'], default: true },
  'rollback-one-table': { run: rollbackOneTable, rows: ['rollback-one-table', 'rollback-one-table:reader'], default: true },
  plan: { run: planOverhead, rows: ['plan'], default: true },
  push: { run: push, rows: ['push', 'push-age'], default: true },
  'restore-remote': { run: restoreRemote, rows: ['restore-remote'], default: true },
};

const USAGE = `pnpm bench [options]
  --size SIZE          100MB (default), 1GB, 10GB (any NMB / NGB)
  --runs N             repetitions of each case, Lifeboat and baseline alternating (default 3)
  --seed N             the data generator's seed (default 1)
  --cases a,b          of: ${Object.keys(CASES).join(', ')} (default: all but deploy-one-dump)
  --database-url URL   a superuser URL of an existing server (or BENCH_DATABASE_URL); default: an embedded PostgreSQL 15
`;

async function toolVersion(tool: string): Promise<string> {
  const result = await execa(tool, ['--version'], { reject: false });
  return String(result.stdout).trim().split('\n')[0] || `${tool}: not found`;
}

async function machine(adminUrl: string, server: Machine['server']): Promise<Machine> {
  const [version] = await adminQuery<{ version: string; short: string }>({ adminUrl }, "select version(), current_setting('server_version') as short");
  const settings = await adminQuery<{ name: string; setting: string }>(
    { adminUrl },
    "select name, current_setting(name) as setting from pg_settings where name in ('shared_buffers', 'max_wal_size', 'maintenance_work_mem', 'fsync', 'wal_level', 'synchronous_commit')",
  );
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    server,
    postgres: version!.version,
    postgresVersion: version!.short.split(' ')[0]!,
    pgDump: await toolVersion('pg_dump'),
    pgRestore: await toolVersion('pg_restore'),
    settings: Object.fromEntries(settings.map((s) => [s.name, s.setting])),
    loadAverage: { start: loadavg() },
  };
}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '100MB' },
      runs: { type: 'string' },
      seed: { type: 'string', default: '1' },
      cases: { type: 'string' },
      'database-url': { type: 'string' },
      // For the smoke test: where the JSON goes (default bench/results).
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const size = parseSize(values.size!);
  const runs = values.runs === undefined ? 3 : Number(values.runs);
  const seed = Number(values.seed);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: expected a whole number of at least 1`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 1_000_000) throw new Error(`--seed ${values.seed}: expected a whole number from 0 to 1000000`);
  const selected = values.cases
    ? values.cases
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean)
    : Object.keys(CASES).filter((c) => CASES[c]!.default);
  for (const c of selected) if (!CASES[c]) throw new Error(`--cases: unknown case "${c}"; the cases are ${Object.keys(CASES).join(', ')}`);
  const ordered = Object.keys(CASES).filter((c) => selected.includes(c));
  if (!existsSync(cliPath)) throw new Error(`${relative(repoRoot, cliPath)} is missing: run \`pnpm build\` first (pnpm bench does)`);

  let interrupted = false;
  const log = (line: string) => {
    if (!interrupted) process.stderr.write(`${line}\n`);
  };
  const started = new Date();
  const t0 = performance.now();
  const external = values['database-url'] ?? process.env.BENCH_DATABASE_URL;
  log(`Lifeboat benchmark: ${size.label}, ${runs} run(s) per case, seed ${seed}; cases: ${ordered.join(', ')}`);
  const server = external ? undefined : await startEmbedded();
  const adminUrl = external ?? server!.url();
  const database = external ? `lifeboat_bench_${randomBytes(3).toString('hex')}` : 'lifeboat_bench';
  const work = await mkdtemp(join(tmpdir(), 'lifeboat-bench-'));
  const tracked = new Set<string>();

  const ctx: Context = {
    adminUrl,
    database,
    url: urlFor(adminUrl, database),
    size,
    databaseBytes: 0,
    runs,
    work,
    log,
    track: (name) => tracked.add(name),
    fixtures: {},
  };

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    const ctxLike = { adminUrl };
    await removeKnexProject(ctx).catch(() => {});
    const names = await adminQuery<{ datname: string }>(ctxLike, "select datname from pg_database where datname = $1 or starts_with(datname, $1 || '_')", [database]).catch(() => []);
    for (const name of new Set([...tracked, ...names.map((n) => n.datname), database])) await dropDatabase(ctxLike, name).catch((e) => log(`  could not drop ${name}: ${(e as Error).message}`));
    await removeDir(work);
    await stopRemoteFixture().catch(() => {});
    await server?.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`\n${signal}: cleaning up…`);
    // What is still running fails against the dropped databases; it has nothing more to say.
    interrupted = true;
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let exitCode = 0;
  try {
    const info = await machine(adminUrl, server ? 'embedded' : 'external');
    log(`generating ${database} (${size.label}, seed ${seed})…`);
    const generated: Generated = await generateDatabase({ adminUrl, database, bytes: size.bytes, seed, log });
    ctx.databaseBytes = generated.sizeBytes;
    log(
      `  ${formatBytes(generated.sizeBytes)} in ${formatMs(generated.durationMs)} (${Object.entries(generated.steps)
        .map(([k, v]) => `${k} ${formatMs(v)}`)
        .join(', ')})`,
    );

    const results: CaseResult[] = [];
    for (const id of ordered) {
      if (interrupted) break;
      log(`${id}…`);
      const caseStart = performance.now();
      try {
        const result = await CASES[id]!.run(ctx);
        results.push({ ...result, details: { ...result.details, caseMs: Math.round(performance.now() - caseStart) } });
      } catch (error) {
        exitCode = 1;
        const message = (error as Error).message.split('\n')[0]!;
        log(`  ${id} FAILED: ${(error as Error).message}`);
        results.push({
          id,
          runs: [],
          rows: CASES[id]!.rows.map((row) => ({
            id: row,
            measured: `FAILED: ${message.slice(0, 80)}`,
            measuredMs: undefined,
            baseline: '',
            baselineMs: undefined,
            compare: 'none',
            value: undefined,
            target: '—',
            met: false,
          })),
          details: { error: (error as Error).message },
        });
      }
    }
    let probeResults: Probe[] = [];
    try {
      log('probes…');
      probeResults = await probes(ctx);
    } catch (error) {
      log(`  probes failed: ${(error as Error).message}`);
    }
    info.loadAverage.end = loadavg();

    const rows: Row[] = results.flatMap((r) => r.rows);
    const floorMs = rows.find((r) => r.id === 'floor')?.measuredMs;
    const totalMs = Math.round(performance.now() - t0);
    const lines = [
      '',
      `Lifeboat benchmark, ${size.label} (database ${formatBytes(generated.sizeBytes)}, seed ${seed}), median of ${runs} run(s), Lifeboat and baseline alternating:`,
      '',
      ...formatTable(rows, floorMs),
      '',
      ...rows.filter((r) => r.note).map((r) => `Note ${r.note}`),
      ...(floorMs ? [`÷ floor: Lifeboat's median over CREATE DATABASE … STRATEGY FILE_COPY of the same database (${formatMs(floorMs)}).`] : []),
      '',
      ...formatProbes(probeResults),
      '',
      machineLine(info),
    ];
    const file = join(values.out ?? join(benchDir, 'results'), `${stamp(started)}-${size.label}.json`);
    await mkdir(join(file, '..'), { recursive: true });
    const doc = {
      format: 1,
      startedAt: started.toISOString(),
      totalMs,
      options: { size: size.label, sizeBytes: size.bytes, runs, seed, cases: ordered },
      machine: info,
      database: generated,
      rows,
      probes: probeResults,
      cases: results,
    };
    await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
    lines.push(`Results: ${relative(process.cwd(), file) || file}; the whole run took ${formatMs(totalMs)} (generation ${formatMs(generated.durationMs)}).`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    log('cleaning up…');
    await cleanup();
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
