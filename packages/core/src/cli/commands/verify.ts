import { Command } from 'commander';
import { LifeboatError } from '../../errors.js';
import { corruptError, verifySnapshot, type VerifyResult } from '../../snapshot/verify.js';
import { findSnapshot, listStore } from '../../store/store.js';
import { verifyRemote } from '../../remote/verify.js';
import { type CommandContext, contextOf } from '../context.js';
import { commandRemote, REMOTE_OPTION, splitRemoteFlag } from '../remote.js';
import { notASnapshot } from '../output.js';

export function verifyCommand(): Command {
  return new Command('verify')
    .description('check snapshots: the manifest against its checksum and the journal, sha256 of every file and every byte of the archive read back (dump), or the clone against its manifest')
    .argument('[id]', 'a snapshot id, a unique prefix of one, or "latest" (default: every snapshot)')
    .option(...REMOTE_OPTION)
    .option('--deep', "with --remote: download, decrypt and read back every byte (default: the server's checksums, nothing downloaded)")
    .action(async (idArg: string | undefined, opts: { remote?: string | true; deep?: boolean }, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const { remote: remoteFlag, argument: id } = splitRemoteFlag(opts.remote, idArg);
      if (remoteFlag !== undefined) return verifyRemoteCommand(ctx, remoteFlag, id, opts.deep === true);
      if (opts.deep) throw new LifeboatError('USAGE', '--deep goes with --remote: a local verify always reads every byte.');
      const listing = id ? undefined : await listStore(ctx.store);
      for (const folder of listing?.withoutManifest ?? []) ctx.out.note(`warning: ${notASnapshot(folder)}; it cannot be verified.`);
      const manifests = listing ? listing.snapshots : [await findSnapshot(ctx.store, id!)];
      if (manifests.length === 0) {
        throw new LifeboatError('SNAPSHOT_NOT_FOUND', `The store ${ctx.store.root} has no finished snapshot to verify.`, {
          hint: 'Take one with `lifeboat snapshot`.',
        });
      }
      const results: VerifyResult[] = [];
      for (const manifest of manifests) {
        const result = await verifySnapshot(ctx.store, manifest, ctx.maybeTarget());
        results.push(result);
        ctx.out.line(`${result.ok ? 'ok    ' : 'FAILED'} ${result.id}  ${result.ok ? result.checks.join('; ') : result.problems.join('; ')}`);
      }
      ctx.out.document({ ok: results.every((r) => r.ok), results });
      const failed = results.find((r) => !r.ok);
      if (failed) throw corruptError(failed);
    });
}

async function verifyRemoteCommand(ctx: CommandContext, flag: string | true, id: string | undefined, deep: boolean): Promise<void> {
  const { remote, keys } = await commandRemote(ctx, flag);
  try {
    const results = await verifyRemote({ remote, store: ctx.store, ids: id ? [id] : undefined, deep, keys: deep ? await keys() : undefined, target: ctx.maybeTarget() });
    if (results.length === 0) {
      throw new LifeboatError('SNAPSHOT_NOT_FOUND', `The remote ${remote.location.display} has no finished snapshot to verify.`, { hint: 'Push one with `lifeboat push`.' });
    }
    for (const result of results) ctx.out.line(`${result.ok ? 'ok    ' : 'FAILED'} ${result.id}  ${result.ok ? result.checks.join('; ') : result.problems.join('; ')}`);
    ctx.out.document({ ok: results.every((r) => r.ok), remote: remote.location.display, deep, results });
    const failed = results.find((r) => !r.ok);
    if (failed) throw corruptError(failed);
  } finally {
    remote.close();
  }
}
