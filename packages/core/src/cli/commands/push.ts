import { Command } from 'commander';
import { listRemote } from '../../remote/layout.js';
import { pushSnapshot, type PushResult } from '../../remote/push.js';
import type { Manifest } from '../../store/manifest.js';
import { findSnapshot, listStore } from '../../store/store.js';
import { contextOf } from '../context.js';
import { formatBytes, formatDuration } from '../output.js';
import { progressOnTty } from '../progress.js';
import { commandRemote } from '../remote.js';

export function pushCommand(): Command {
  return new Command('push')
    .description('copy snapshots to the remote store (config `remote`, or --remote): streamed, checksummed, encrypted when configured, the manifest last')
    .argument('[id]', 'a snapshot id, a unique prefix, or "latest" (default: every local snapshot the remote does not have)')
    .option('--remote <url>', 'the remote: s3://bucket/prefix or file:///path (default: remote.url in the config)')
    .option('--force', 'push again even when the remote already has the snapshot')
    .action(async (id: string | undefined, opts: { remote?: string; force?: boolean }, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const { remote } = await commandRemote(ctx, opts.remote);
      try {
        await remote.check();
        let manifests: Manifest[];
        if (id) manifests = [await findSnapshot(ctx.store, id)];
        else {
          const there = new Set((await listRemote(remote)).snapshots.map((s) => s.id));
          manifests = (await listStore(ctx.store)).snapshots.filter((s) => opts.force || !there.has(s.id));
          if (manifests.length === 0) {
            ctx.out.document({ remote: remote.location.display, pushed: [] });
            ctx.out.line(`Nothing to push: ${remote.location.display} has every snapshot in ${ctx.store.root}.`);
            return;
          }
        }
        const results: PushResult[] = [];
        for (const manifest of manifests) {
          const progress = progressOnTty(!ctx.out.json);
          const result = await pushSnapshot({
            store: ctx.store,
            manifest,
            remote,
            encryption: ctx.settings.encryption,
            target: manifest.strategy === 'clone' ? ctx.target() : ctx.maybeTarget(),
            compression: ctx.settings.dump.compression,
            force: opts.force === true,
            onProgress: progress.onProgress,
            signal: ctx.signal,
          }).finally(progress.stop);
          results.push(result);
          ctx.out.line(
            result.skipped
              ? `${result.snapshot}: already on ${result.remote} (--force pushes it again)`
              : `${result.snapshot}: pushed to ${result.remote}, ${formatBytes(result.bytes)} in ${formatDuration(result.durationMs)}${result.encryption === 'none' ? '' : ', encrypted (age)'}${result.pushedAs === 'dump of the clone' ? ', as a pg_dump of its clone database' : ''}`,
          );
        }
        ctx.out.document({ remote: remote.location.display, pushed: results });
      } finally {
        remote.close();
      }
    });
}
