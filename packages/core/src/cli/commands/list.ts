import { Command } from 'commander';
import { listStore } from '../../store/store.js';
import { listRemote, readRemoteManifest } from '../../remote/layout.js';
import type { Manifest } from '../../store/manifest.js';
import { type CommandContext, contextOf } from '../context.js';
import { commandRemote, REMOTE_OPTION } from '../remote.js';
import { columns, formatBytes, formatCount, notASnapshot } from '../output.js';

export function listCommand(): Command {
  return new Command('list')
    .description('list the finished snapshots in the store (with --remote: on the remote store)')
    .option(...REMOTE_OPTION)
    .action(async (opts: { remote?: string | true }, cmd: Command) => {
      const ctx = await contextOf(cmd);
      if (opts.remote !== undefined) return listRemoteCommand(ctx, opts.remote);
      const listing = await listStore(ctx.store);
      ctx.out.document({
        store: ctx.store.root,
        snapshots: listing.snapshots.map((s) => ({
          id: s.id,
          createdAt: s.createdAt,
          database: s.database.name,
          strategy: s.strategy,
          reason: s.reason,
          label: s.label ?? null,
          cloneDatabase: s.clone?.database ?? null,
          scope: s.scope ? { tables: s.scope.tables } : null,
          sizeBytes: s.sizeBytes,
          tables: s.tables.length,
          rows: s.tables.reduce((sum, t) => sum + t.rows, 0),
        })),
        incomplete: listing.incomplete.length,
        unreadable: listing.unreadable,
        withoutManifest: listing.withoutManifest,
      });
      if (listing.snapshots.length === 0) {
        ctx.out.line(`No snapshots in ${ctx.store.root}. Take one with: lifeboat snapshot`);
      } else {
        const rows = listing.snapshots.map((s) => [
          s.id,
          s.createdAt.replace('T', ' ').slice(0, 19),
          s.database.name,
          s.strategy === 'scoped' ? `scoped (${s.scope?.tables.length ?? 0} table${s.scope?.tables.length === 1 ? '' : 's'})` : s.strategy,
          formatBytes(s.sizeBytes),
          formatCount(s.tables.reduce((sum, t) => sum + t.rows, 0)),
          s.label ?? s.reason,
        ]);
        for (const line of columns([['ID', 'CREATED (UTC)', 'DATABASE', 'STRATEGY', 'SIZE', 'ROWS', 'LABEL'], ...rows])) ctx.out.line(line);
      }
      for (const folder of listing.withoutManifest) ctx.out.note(`warning: ${notASnapshot(folder)}. Put its manifest.json back, or remove the folder yourself.`);
      for (const bad of listing.unreadable) ctx.out.note(`warning: ${bad.id} has an unreadable manifest (${bad.problem}); it is ignored.`);
      const abandoned = listing.incomplete.filter((i) => !i.inProgress).length;
      if (abandoned > 0) ctx.out.note(`${abandoned} unfinished snapshot folder(s) left by interrupted runs; \`lifeboat prune\` removes them.`);
    });
}

/**
 * The remote's snapshots. Their ids, times and sizes need no key; an encrypted manifest is
 * opened for the details (database, strategy, rows) when an identity is at hand.
 */
async function listRemoteCommand(ctx: CommandContext, flag: string | true): Promise<void> {
  const { remote, keys } = await commandRemote(ctx, flag);
  try {
    await remote.check();
    const listing = await listRemote(remote);
    const key = listing.snapshots.some((s) => s.encrypted) ? await keys() : undefined;
    let unopened: string | undefined;
    const rows = [];
    for (const snapshot of listing.snapshots) {
      let manifest: Manifest | undefined;
      if (!snapshot.encrypted || (key && !unopened)) {
        manifest = await readRemoteManifest(remote, snapshot, key)
          .then((m) => m.manifest)
          .catch((error: unknown) => {
            unopened = error instanceof Error ? error.message : String(error);
            return undefined;
          });
      }
      rows.push({
        id: snapshot.id,
        createdAt: manifest?.createdAt ?? snapshot.createdAt,
        bytes: snapshot.bytes,
        encrypted: snapshot.encrypted,
        database: manifest?.database.name ?? null,
        strategy: manifest ? (manifest.origin ? 'clone (as dump)' : manifest.strategy) : null,
        rows: manifest ? manifest.tables.reduce((sum, t) => sum + t.rows, 0) : null,
        label: manifest ? (manifest.label ?? manifest.reason) : null,
      });
    }
    ctx.out.document({ remote: remote.location.display, snapshots: rows, incomplete: listing.incomplete.map(({ keys: _k, ...i }) => i) });
    if (rows.length === 0) ctx.out.line(`No snapshots on ${remote.location.display}. Push one with: lifeboat push`);
    else {
      const table = rows.map((r) => [
        r.id,
        r.createdAt.replace('T', ' ').slice(0, 19),
        r.database ?? '?',
        r.strategy ?? '?',
        formatBytes(r.bytes),
        r.rows === null ? '?' : formatCount(r.rows),
        r.encrypted ? 'age' : 'no',
        r.label ?? '',
      ]);
      ctx.out.line(`${remote.location.display}:`);
      for (const line of columns([['ID', 'CREATED (UTC)', 'DATABASE', 'STRATEGY', 'STORED', 'ROWS', 'ENCRYPTED', 'LABEL'], ...table])) ctx.out.line(line);
    }
    if (listing.snapshots.some((s) => s.encrypted) && !key)
      ctx.out.note('note: the manifests are encrypted; give the identity (encryption.identityFile or $LIFEBOAT_AGE_IDENTITY) to see what each holds.');
    if (unopened) ctx.out.note(`warning: ${unopened}`);
    for (const i of listing.incomplete)
      ctx.out.note(`note: ${i.id} on the remote has no manifest (a push that did not finish, ${formatBytes(i.bytes)}): it is not a snapshot; the next push of it finishes it.`);
  } finally {
    remote.close();
  }
}
