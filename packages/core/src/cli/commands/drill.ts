import { Command } from 'commander';
import { LifeboatError } from '../../errors.js';
import { drill, type DrillResult } from '../../recovery/drill.js';
import { fetchSnapshot } from '../../remote/fetch.js';
import { findSnapshot } from '../../store/store.js';
import { contextOf } from '../context.js';
import { formatDuration } from '../output.js';
import { progressOnTty } from '../progress.js';
import { commandRemote, REMOTE_OPTION, splitRemoteFlag } from '../remote.js';

export function drillCommand(): Command {
  return new Command('drill')
    .description('restore a snapshot into a scratch database, check and time it, drop it, and record the result')
    .argument('[id]', 'a snapshot id, a unique prefix, or "latest" (default)')
    .option('--keep', 'keep the scratch database for inspection')
    .option(...REMOTE_OPTION)
    .action(async (idArg: string | undefined, opts: { keep?: boolean; remote?: string | true }, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const { remote: remoteFlag, argument: id } = splitRemoteFlag(opts.remote, idArg);
      const progress = progressOnTty(!ctx.out.json);
      let result: DrillResult;
      if (remoteFlag !== undefined) {
        // The real test of the off-site copy: downloaded, decrypted, checked, restored, timed as one.
        const { remote, keys } = await commandRemote(ctx, remoteFlag);
        try {
          const fetched = await fetchSnapshot({ remote, ref: id ?? 'latest', into: ctx.store, keys: await keys(), onProgress: progress.onProgress });
          try {
            result = await drill({
              target: ctx.target(),
              store: ctx.store,
              manifest: fetched.manifest,
              keep: opts.keep === true,
              onProgress: progress.onProgress,
              fetched: { store: fetched.store, remote: remote.location.display, fetchMs: fetched.durationMs },
            });
          } finally {
            await fetched.dispose();
          }
        } finally {
          remote.close();
          progress.stop();
        }
      } else {
        const manifest = await findSnapshot(ctx.store, id ?? 'latest');
        result = await drill({ target: ctx.target(), store: ctx.store, manifest, keep: opts.keep === true, onProgress: progress.onProgress }).finally(progress.stop);
      }
      ctx.out.document(result);
      if (result.remote) ctx.out.line(`From ${result.remote}: downloaded and checked in ${formatDuration(result.fetchMs ?? 0)} (part of the restore time below).`);
      const p = result.phases.restore;
      ctx.out.line(
        `Drill of snapshot ${result.snapshot}: ${result.ok ? 'passed' : 'FAILED'}${result.restoreSeconds !== undefined ? `, restored and verified in ${result.restoreSeconds.toFixed(1)} s` : ''}.`,
      );
      if (p)
        ctx.out.line(
          `  check ${formatDuration(p.checkMs)}, load ${formatDuration(p.loadMs)}, verify ${formatDuration(p.verifyMs)}, checks ${formatDuration(result.phases.checksMs ?? 0)}, drop ${formatDuration(result.phases.dropMs ?? 0)}`,
        );
      for (const check of result.checks) ctx.out.line(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.summary}`);
      if (result.kept) ctx.out.line(`  the scratch database is kept: "${result.kept}"`);
      if (!result.ok) {
        throw new LifeboatError('DRILL_FAILED', `The drill of snapshot ${result.snapshot} failed: ${result.error}`, {
          hint: 'The live database was not touched. Verify the snapshot (`lifeboat verify`) and take a new one.',
        });
      }
    });
}
