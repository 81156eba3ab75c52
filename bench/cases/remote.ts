/**
 * Off-site: `lifeboat push` of a dump snapshot against the AWS SDK's own Upload of the
 * same archive, and `lifeboat restore --from-remote --to` against a raw download of the
 * same object + createdb + pg_restore; both against an S3-compatible server (s3rver) on
 * this machine, started for the run. Unencrypted (the ratio's target), and encrypted with
 * age (for reading). Each side's peak memory is measured (`bench/peak-rss.cjs`).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalS3, type LocalS3 } from '../../dev/s3-server.js';
import { alternate, benchDir, type CaseResult, cliPath, type Context, dropDatabase, formatBytes, formatMs, median, medianOf, pgEnv, ratioRow, type Row, type RunRecord, timed } from '../lib.js';
import { archiveOf } from './snapshot.js';

const RAW = join(benchDir, 'raw-s3.mjs');
const PEAK = join(benchDir, 'peak-rss.cjs');

interface Remote {
  s3: LocalS3;
  env: Record<string, string>;
  /** A dump snapshot taken without compression, so the object is big: what the memory figure is about. */
  store: string;
  id: string;
  archive: string;
  sizeBytes: number;
}

let shared: Remote | undefined;

async function remoteFixture(ctx: Context): Promise<Remote> {
  if (shared) return shared;
  const s3 = await startLocalS3('lifeboat-bench');
  const env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };
  const store = join(ctx.work, 'remote-store');
  ctx.log('  taking an uncompressed dump snapshot to push (untimed)');
  const taken = await timed(process.execPath, [cliPath, 'snapshot', '--strategy', 'dump', '--format', 'custom', '--compress', 'none', '--json', '--store', store], { env: { DATABASE_URL: ctx.url } });
  const manifest = JSON.parse(taken.stdout);
  shared = { s3, env, store, id: manifest.id, archive: archiveOf(store, manifest), sizeBytes: manifest.sizeBytes };
  return shared;
}

export async function stopRemoteFixture(): Promise<void> {
  await shared?.s3.stop();
  shared = undefined;
}

async function configFor(ctx: Context, remote: Remote, prefix: string, encrypted: boolean): Promise<string> {
  const file = join(ctx.work, `remote-${prefix}.json`);
  const config: Record<string, unknown> = { remote: { url: `s3://${remote.s3.bucket}/${prefix}`, endpoint: remote.s3.endpoint, forcePathStyle: true, region: 'us-east-1' } };
  if (encrypted) config.encryption = { recipients: [AGE_RECIPIENT], identityFile: join(ctx.work, 'bench-key.txt') };
  await writeFile(join(ctx.work, 'bench-key.txt'), `${AGE_IDENTITY}\n`);
  await writeFile(file, JSON.stringify(config));
  return file;
}

// A fixed key pair for the benchmark only (generated once with age-keygen; it protects nothing).
const AGE_IDENTITY = 'AGE-SECRET-KEY-1X8HTTUG8NUC4WH3HSDSL79VFWFXVMG955XXG3P96KS0SV9QECKVSWTFT2L';
const AGE_RECIPIENT = 'age1t9tj9373ml9qyaxv37328hzpssdwerpftctezya326ewqzac0s5se5wvyt';

/** A command's time and its peak resident memory. */
async function measured(ctx: Context, file: string, args: string[], env: Record<string, string>): Promise<{ ms: number; peakBytes: number; stdout: string }> {
  const peakFile = join(ctx.work, `peak-${randomBytes(4).toString('hex')}`);
  const result = await timed(process.execPath, ['-r', PEAK, file, ...args], { env: { ...env, BENCH_PEAK_RSS_FILE: peakFile } });
  const peakBytes = Number(await readFile(peakFile, 'utf8').catch(() => '0'));
  await rm(peakFile, { force: true });
  return { ms: result.ms, peakBytes, stdout: result.stdout };
}

export async function push(ctx: Context): Promise<CaseResult> {
  const remote = await remoteFixture(ctx);
  const rows: Row[] = [];
  const details: Record<string, unknown> = { archiveBytes: remote.sizeBytes };
  const allRuns: Record<string, RunRecord[]> = {};
  for (const encrypted of [false, true]) {
    const name = encrypted ? 'push-age' : 'push';
    const runs = await alternate(ctx, name, {
      lifeboat: async (run) => {
        const prefix = `${name}-lb-${run}`;
        const config = await configFor(ctx, remote, prefix, encrypted);
        const r = await measured(ctx, cliPath, ['push', remote.id, '--json', '--store', remote.store, '--config', config], { DATABASE_URL: ctx.url, ...remote.env });
        return { ms: r.ms, detail: { peakBytes: r.peakBytes } };
      },
      baseline: async (run) => {
        const r = await measured(ctx, RAW, ['upload', remote.s3.endpoint, remote.s3.bucket, `${name}-raw-${run}/data.dump`, remote.archive], remote.env);
        return { ms: r.ms, detail: { peakBytes: r.peakBytes } };
      },
    });
    allRuns[name] = runs;
    const peak = medianOf(runs, 'lifeboat', (s) => s.detail?.peakBytes as number);
    const rawPeak = medianOf(runs, 'baseline', (s) => s.detail?.peakBytes as number);
    details[`${name}PeakBytes`] = { lifeboat: peak, raw: rawPeak };
    const mbps = remote.sizeBytes / 1e6 / (medianOf(runs, 'lifeboat') / 1000);
    rows.push(
      ratioRow(
        name,
        encrypted ? 'lifeboat push ID (age, to a recipient)' : 'lifeboat push ID',
        "the SDK's Upload of the same file",
        runs,
        encrypted ? undefined : 1.1,
        `${name}: a ${formatBytes(remote.sizeBytes)} uncompressed dump, ${mbps.toFixed(0)} MB/s; peak memory ${formatBytes(peak)} (the raw Upload: ${formatBytes(rawPeak)}).`,
      ),
    );
  }
  return { id: 'push', rows, runs: allRuns.push ?? [], details: { ...details, pushAgeRuns: allRuns['push-age'] } };
}

export async function restoreRemote(ctx: Context): Promise<CaseResult> {
  const remote = await remoteFixture(ctx);
  const config = await configFor(ctx, remote, 'restore-source', false);
  await timed(process.execPath, [cliPath, 'push', remote.id, '--store', remote.store, '--config', config], { env: { DATABASE_URL: ctx.url, ...remote.env } });
  const runs = await alternate(ctx, 'restore-remote', {
    lifeboat: async (run) => {
      const name = `${ctx.database}_from_remote_lb_${run}`;
      ctx.track(name);
      // An empty store: the machine that lost everything.
      const store = join(ctx.work, `empty-store-${run}`);
      const r = await measured(ctx, cliPath, ['restore', remote.id, '--from-remote', '--to', name, '--json', '--store', store, '--config', config], { DATABASE_URL: ctx.url, ...remote.env });
      const doc = JSON.parse(r.stdout) as { fetchMs: number; durationMs: number };
      return {
        ms: r.ms,
        detail: { peakBytes: r.peakBytes, fetchMs: doc.fetchMs, restoreMs: doc.durationMs },
        cleanup: async () => {
          await dropDatabase(ctx, name);
          await rm(store, { recursive: true, force: true });
        },
      };
    },
    baseline: async (run) => {
      const name = `${ctx.database}_from_remote_pg_${run}`;
      ctx.track(name);
      const file = join(ctx.work, `raw-download-${run}.dump`);
      const start = performance.now();
      await timed(process.execPath, [RAW, 'download', remote.s3.endpoint, remote.s3.bucket, `restore-source/snapshots/${remote.id}/data.dump`, file], { env: remote.env });
      const env = pgEnv(ctx.adminUrl);
      await timed('createdb', ['--no-password', '-T', 'template0', name], { env });
      await timed('pg_restore', ['--no-password', '-d', name, file], { env });
      return {
        ms: performance.now() - start,
        cleanup: async () => {
          await dropDatabase(ctx, name);
          await rm(file, { force: true });
        },
      };
    },
  });
  const fetch = medianOf(runs, 'lifeboat', (s) => s.detail?.fetchMs as number);
  const inside = medianOf(runs, 'lifeboat', (s) => s.detail?.restoreMs as number);
  const peak = medianOf(runs, 'lifeboat', (s) => s.detail?.peakBytes as number);
  const note =
    `restore-remote: download and checks ${formatMs(fetch)}, then the restore ${formatMs(inside)} (verify against the manifest included); ` +
    `peak memory ${formatBytes(peak)}; the baseline runs pg_restore without -j, Lifeboat with -j above 16 MB.`;
  return {
    id: 'restore-remote',
    rows: [ratioRow('restore-remote', 'lifeboat restore ID --from-remote --to NEW', 'SDK download + createdb + pg_restore', runs, 1.1, note)],
    runs,
    details: { medianFetchMs: fetch, medianRestoreMs: inside, peakBytes: peak, archiveBytes: remote.sizeBytes, median: median(runs.map((r) => r.lifeboat.ms)) },
  };
}
