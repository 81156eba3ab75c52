/**
 * Taking a snapshot: `lifeboat snapshot --strategy dump` against `pg_dump -Fc`, and
 * `lifeboat snapshot --strategy clone` against `CREATE DATABASE … TEMPLATE`.
 */
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Manifest } from '@lifeboat/core';
import { alternate, type CaseResult, type Context, dropDatabase, formatBytes, formatMs, ident, lifeboat, median, medianOf, pgEnv, psql, ratioRow, removeDir, timed } from '../lib.js';

/** Where a dump snapshot's archive is: data.dump (custom format) or data/ (directory format). */
export function archiveOf(store: string, manifest: Manifest): string {
  return join(store, 'snapshots', manifest.id, manifest.dump?.format === 'directory' ? 'data' : 'data.dump');
}

/** How Lifeboat dumped: format, jobs, the compression flag. */
export function dumpSettings(manifest: Manifest): string {
  const d = manifest.dump;
  return d ? `${d.format}${d.jobs > 1 ? `, ${d.jobs} jobs` : ''}${d.compression ? `, ${d.compression}` : ''}` : '';
}

export async function takeLifeboatSnapshot(ctx: Context, strategy: 'dump' | 'clone', store: string) {
  const result = await lifeboat(ctx, ['snapshot', '--strategy', strategy, '--json', '--store', store]);
  const manifest = JSON.parse(result.stdout) as Manifest;
  if (manifest.clone) ctx.track(manifest.clone.database);
  return { ms: result.ms, manifest };
}

export async function snapshotDump(ctx: Context): Promise<CaseResult> {
  let kept: { store: string; manifest: Manifest } | undefined;
  const runs = await alternate(ctx, 'snapshot-dump', {
    lifeboat: async (run) => {
      const store = join(ctx.work, `snapshot-dump-${run}`);
      const { ms, manifest } = await takeLifeboatSnapshot(ctx, 'dump', store);
      return {
        ms,
        detail: { manifestMs: manifest.durationMs, sizeBytes: manifest.sizeBytes, id: manifest.id, dump: dumpSettings(manifest) },
        cleanup: async () => {
          // The last one is kept for restore-dump and the probes, so they need not take another.
          if (kept) await removeDir(kept.store);
          kept = { store, manifest };
        },
      };
    },
    baseline: async (run) => {
      const file = join(ctx.work, `pg_dump-${run}.dump`);
      const { ms } = await timed('pg_dump', ['-Fc', '--no-password', '-f', file], { env: pgEnv(ctx.url) });
      const { size } = await stat(file);
      return { ms, detail: { sizeBytes: size }, cleanup: () => removeDir(file) };
    },
  });
  if (kept) {
    ctx.fixtures.dumpSnapshot = {
      store: kept.store,
      id: kept.manifest.id,
      archive: archiveOf(kept.store, kept.manifest),
      sizeBytes: kept.manifest.sizeBytes,
    };
  }
  const inside = median(runs.map((r) => Number(r.lifeboat.detail?.manifestMs)));
  const archive = median(runs.map((r) => Number(r.lifeboat.detail?.sizeBytes)));
  const plain = median(runs.map((r) => Number(r.baseline.detail?.sizeBytes)));
  const settings = [...new Set(runs.map((r) => String(r.lifeboat.detail?.dump)))].join(' / ');
  const note =
    `snapshot-dump: Lifeboat dumped with ${settings || 'its defaults'} into ${formatBytes(archive)}; pg_dump -Fc (gzip level 6) wrote ${formatBytes(plain)}. ` +
    `Inside Lifeboat (the manifest's durationMs) ${formatMs(inside)}; the rest of its ${formatMs(medianOf(runs, 'lifeboat'))} is starting node and the CLI.`;
  return {
    id: 'snapshot-dump',
    rows: [ratioRow('snapshot-dump', 'lifeboat snapshot --strategy dump', 'pg_dump -Fc', runs, 1.05, note)],
    runs,
    details: { manifestDurationMedianMs: inside, archiveBytes: archive, pgDumpBytes: plain, dump: settings },
  };
}

export async function snapshotClone(ctx: Context): Promise<CaseResult> {
  let kept: { store: string; manifest: Manifest } | undefined;
  const runs = await alternate(ctx, 'snapshot-clone', {
    lifeboat: async (run) => {
      const store = join(ctx.work, `snapshot-clone-${run}`);
      const { ms, manifest } = await takeLifeboatSnapshot(ctx, 'clone', store);
      return {
        ms,
        detail: { manifestMs: manifest.durationMs, sizeBytes: manifest.sizeBytes, id: manifest.id, database: manifest.clone?.database },
        cleanup: async () => {
          if (kept) {
            await dropDatabase(ctx, kept.manifest.clone!.database);
            await removeDir(kept.store);
          }
          kept = { store, manifest };
        },
      };
    },
    baseline: async (run) => {
      const copy = `${ctx.database}_template_copy_${run}`;
      ctx.track(copy);
      const { ms } = await psql(ctx, `create database ${ident(copy)} template ${ident(ctx.database)}`);
      return { ms, cleanup: () => dropDatabase(ctx, copy) };
    },
  });
  if (kept) ctx.fixtures.cloneSnapshot = { store: kept.store, id: kept.manifest.id, database: kept.manifest.clone!.database };
  const inside = median(runs.map((r) => Number(r.lifeboat.detail?.manifestMs)));
  const note =
    `snapshot-clone: inside Lifeboat (the manifest's durationMs) ${formatMs(inside)}: the copy plus the clone's fingerprint and row counts; ` +
    `the rest of its ${formatMs(medianOf(runs, 'lifeboat'))} is starting node and the CLI.`;
  return {
    id: 'snapshot-clone',
    rows: [ratioRow('snapshot-clone', 'lifeboat snapshot --strategy clone', 'CREATE DATABASE … TEMPLATE (psql)', runs, 1.05, note)],
    runs,
    details: { manifestDurationMedianMs: inside },
  };
}
