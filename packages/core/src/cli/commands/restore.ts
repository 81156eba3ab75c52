import { Command } from 'commander';
import { fetchSnapshot } from '../../remote/fetch.js';
import { restoreSnapshot } from '../../restore/restore.js';
import { appendJournalAfterChange } from '../../store/journal.js';
import type { Manifest } from '../../store/manifest.js';
import { findSnapshot, type Store } from '../../store/store.js';
import { exclusively } from '../../guard/exclusive.js';
import { beginIntent, type Intent } from '../../store/intent.js';
import { confirmDestructive } from '../confirm.js';
import { type CommandContext, contextOf } from '../context.js';
import { formatBytes, formatDuration } from '../output.js';
import { progressOnTty } from '../progress.js';
import { commandRemote } from '../remote.js';

interface RestoreOptions {
  to?: string;
  fromRemote?: string | true;
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore a snapshot: into a new database, verified, then swapped in (the replaced database is kept)')
    .argument('<id>', 'a snapshot id, a unique prefix of one, or "latest"')
    .option('--to <database>', 'restore into this new database beside the original, touching nothing else')
    .option('--from-remote [url]', "restore from the remote store (the config's, or this URL): on a new machine, the config and the key are all it needs")
    .action(async (id: string, opts: RestoreOptions, cmd: Command) => {
      const ctx = await contextOf(cmd, { interrupted: 'handled' });
      if (opts.fromRemote !== undefined) return restoreFromRemote(ctx, id, opts, opts.fromRemote);
      const manifest = await findSnapshot(ctx.store, id);
      await confirmReplace(ctx, manifest, opts);
      await runRestore(ctx, manifest, ctx.store, opts);
    });
}

async function confirmReplace(ctx: CommandContext, manifest: Manifest, opts: RestoreOptions): Promise<void> {
  if (opts.to !== undefined) return;
  const target = ctx.target();
  await confirmDestructive(
    `replace database "${target.database}" with snapshot ${manifest.id} of ${manifest.createdAt}` +
      (manifest.database.name === target.database ? '' : ` (taken from another database, "${manifest.database.name}")`) +
      ' (the current one, if any, is kept under a new name)',
    ctx.options.yes,
  );
}

/**
 * The off-site copy, fetched (manifest first: a missing or wrong key stops here, before
 * any database is made), then restored exactly as a local snapshot is: a new database,
 * verified against the manifest, then swapped in under the database's lock. On an empty
 * server there is nothing to swap: the restored database takes the name.
 */
async function restoreFromRemote(ctx: CommandContext, id: string, opts: RestoreOptions, flag: string | true): Promise<void> {
  const target = ctx.target();
  // No terminal and no --yes: refuse before a long download.
  if (opts.to === undefined && !ctx.options.yes && (!process.stdin.isTTY || !process.stderr.isTTY)) await confirmDestructive(`replace database "${target.database}" from the remote`, false);
  const { remote, keys } = await commandRemote(ctx, flag);
  const progress = progressOnTty(!ctx.out.json);
  try {
    const fetched = await fetchSnapshot({ remote, ref: id, into: ctx.store, keys: await keys(), onProgress: progress.onProgress }).finally(progress.stop);
    try {
      ctx.out.note(
        `lifeboat: fetched snapshot ${fetched.manifest.id} from ${remote.location.display}: ${formatBytes(fetched.bytes)} in ${formatDuration(fetched.durationMs)}, checked against its manifest`,
      );
      await confirmReplace(ctx, fetched.manifest, opts);
      const result = await runRestore(ctx, fetched.manifest, fetched.store, opts, { remote: remote.location.display, fetchMs: fetched.durationMs });
      await appendJournalAfterChange(ctx.store, { event: 'restore', ...result, fromRemote: remote.location.display, fetchMs: fetched.durationMs }, ctx.out.note);
    } finally {
      await fetched.dispose();
    }
  } finally {
    remote.close();
  }
}

async function runRestore(ctx: CommandContext, manifest: Manifest, source: Store, opts: RestoreOptions, fromRemote?: { remote: string; fetchMs: number }) {
  const target = ctx.target();
  const progress = progressOnTty(!ctx.out.json);
  const restore = (intent: Intent) =>
    restoreSnapshot({
      target,
      store: source,
      manifest,
      intent,
      ...(opts.to !== undefined ? { to: opts.to } : {}),
      onProgress: progress.onProgress,
      onNotice: ctx.out.note,
      signal: ctx.signal,
    });
  const record = { snapshot: manifest.id };
  // In place, it waits for any other command changing this database; beside it (--to), it only records what to clean up.
  const result = await (opts.to === undefined
    ? exclusively({ target, store: ctx.store, operation: 'restore', lockTimeoutMs: ctx.settings.lockTimeoutMs, record, onNotice: (m) => ctx.out.note(`lifeboat: ${m}`), signal: ctx.signal }, restore)
    : beginIntent(ctx.store, target, { operation: 'restore', ...record }).then((intent) => restore(intent).finally(() => intent.close()))
  ).finally(progress.stop);
  ctx.out.document(fromRemote ? { ...result, fromRemote: fromRemote.remote, fetchMs: fromRemote.fetchMs } : result);
  ctx.out.line(`Restored snapshot ${result.snapshot}${fromRemote ? ` from ${fromRemote.remote}` : ''} into "${result.database}" in ${formatDuration(result.durationMs + (fromRemote?.fetchMs ?? 0))}.`);
  const p = result.phases;
  ctx.out.line(
    `  ${fromRemote ? `download ${formatDuration(fromRemote.fetchMs)}, ` : ''}check ${formatDuration(p.checkMs)}, load ${formatDuration(p.loadMs)}, verify ${formatDuration(p.verifyMs)}, swap ${formatDuration(p.swapMs)}`,
  );
  if (result.replaced) ctx.out.line(`The database it replaced is kept as "${result.replaced}".`);
  return result;
}
