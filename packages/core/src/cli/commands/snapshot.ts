import { Command, Option } from 'commander';
import { pushIfConfigured } from '../../remote/auto-push.js';
import { takeSnapshot } from '../../snapshot/take.js';
import type { Compression } from '../../strategies/dump.js';
import { contextOf } from '../context.js';
import { formatBytes, formatCount, formatDuration } from '../output.js';
import { progressOnTty } from '../progress.js';
import { compression, positiveInt } from './parse.js';

interface SnapshotOptions {
  label?: string;
  format?: 'auto' | 'custom' | 'directory';
  compress?: string;
  jobs?: number;
  allData?: boolean;
}

export function snapshotCommand(): Command {
  return new Command('snapshot')
    .description('take a snapshot of the database now')
    .option('--label <text>', 'a label to find it by later')
    .addOption(new Option('--strategy <name>', 'how to take it: auto (clone when possible, else dump), dump or clone').choices(['auto', 'dump', 'clone']))
    .addOption(new Option('--format <format>', 'pg_dump archive format (default: config dump.format, else auto: directory with parallel jobs over 1 GB)').choices(['auto', 'custom', 'directory']))
    .option('--compress <method>', 'pg_dump compression: auto (lz4 with pg_dump 16+, else gzip level 1), none, lz4, zstd, gzip or gzip:N', compression)
    .option('--jobs <n>', 'parallel pg_dump jobs with --format directory (default: number of cores)', positiveInt)
    .option('--all-data', 'keep the data of derived and ephemeral tables too (see classes in the config)')
    .action(async (opts: SnapshotOptions, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const progress = progressOnTty(!ctx.out.json);
      const manifest = await takeSnapshot({
        target: ctx.target(),
        store: ctx.store,
        strategy: ctx.settings.strategy,
        countBudgetMs: ctx.settings.countBudgetMs,
        classes: ctx.settings.classes,
        allData: opts.allData === true,
        ...(opts.label ? { label: opts.label } : {}),
        dumpFormat: opts.format ?? ctx.settings.dump.format,
        compression: (opts.compress ?? ctx.settings.dump.compression) as Compression,
        ...((opts.jobs ?? ctx.settings.dump.jobs) ? { jobs: opts.jobs ?? ctx.settings.dump.jobs } : {}),
        onProgress: progress.onProgress,
        onNotice: ctx.out.note,
        signal: ctx.signal,
      }).finally(progress.stop);
      const rows = manifest.tables.reduce((sum, t) => sum + t.rows, 0);
      const pushProgress = progressOnTty(!ctx.out.json);
      const pushed = await pushIfConfigured({
        settings: ctx.settings,
        store: ctx.store,
        manifest,
        target: ctx.maybeTarget(),
        onNotice: (m) => ctx.out.note(`lifeboat: ${m}`),
        onProgress: pushProgress.onProgress,
        signal: ctx.signal,
      }).finally(pushProgress.stop);
      ctx.out.document(pushed ? { ...manifest, push: pushed } : manifest);
      ctx.out.line(
        `Snapshot ${manifest.id} of ${manifest.database.name}: ${manifest.strategy}, ${formatBytes(manifest.sizeBytes)}, ${manifest.tables.length} tables, ${formatCount(rows)} rows, in ${formatDuration(manifest.durationMs)}.`,
      );
      ctx.out.line(`Restore it with: lifeboat restore ${manifest.id}`);
    });
}
