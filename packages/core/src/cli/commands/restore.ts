import { Command } from 'commander';
import { restoreSnapshot } from '../../restore/restore.js';
import { findSnapshot } from '../../store/store.js';
import { exclusively } from '../../guard/exclusive.js';
import { beginIntent, type Intent } from '../../store/intent.js';
import { confirmDestructive } from '../confirm.js';
import { contextOf } from '../context.js';
import { formatDuration } from '../output.js';
import { progressOnTty } from '../progress.js';

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore a snapshot: into a new database, verified, then swapped in (the replaced database is kept)')
    .argument('<id>', 'a snapshot id, a unique prefix of one, or "latest"')
    .option('--to <database>', 'restore into this new database beside the original, touching nothing else')
    .action(async (id: string, opts: { to?: string }, cmd: Command) => {
      const ctx = await contextOf(cmd, { interrupted: 'handled' });
      const target = ctx.target();
      const manifest = await findSnapshot(ctx.store, id);
      if (opts.to === undefined) {
        await confirmDestructive(
          `replace database "${target.database}" with snapshot ${manifest.id} of ${manifest.createdAt}` +
            (manifest.database.name === target.database ? '' : ` (taken from another database, "${manifest.database.name}")`) +
            ' (the current one is kept under a new name)',
          ctx.options.yes,
        );
      }
      const progress = progressOnTty(!ctx.out.json);
      const restore = (intent: Intent) =>
        restoreSnapshot({
          target,
          store: ctx.store,
          manifest,
          intent,
          ...(opts.to !== undefined ? { to: opts.to } : {}),
          onProgress: progress.onProgress,
          onNotice: ctx.out.note,
          signal: ctx.signal,
        });
      const record = { operation: 'restore' as const, database: target.database, server: `${target.host}:${target.port}`, snapshot: manifest.id };
      // In place, it waits for any other command changing this database; beside it (--to), it only records what to clean up.
      const result = await (opts.to === undefined
        ? exclusively({ target, store: ctx.store, operation: 'restore', lockTimeoutMs: ctx.settings.lockTimeoutMs, record, onNotice: (m) => ctx.out.note(`lifeboat: ${m}`), signal: ctx.signal }, restore)
        : beginIntent(ctx.store, record).then((intent) => restore(intent).finally(() => intent.close()))
      ).finally(progress.stop);
      ctx.out.document(result);
      ctx.out.line(`Restored snapshot ${result.snapshot} into "${result.database}" in ${formatDuration(result.durationMs)}.`);
      const p = result.phases;
      ctx.out.line(`  check ${formatDuration(p.checkMs)}, load ${formatDuration(p.loadMs)}, verify ${formatDuration(p.verifyMs)}, swap ${formatDuration(p.swapMs)}`);
      if (result.replaced) ctx.out.line(`The database it replaced is kept as "${result.replaced}".`);
    });
}
