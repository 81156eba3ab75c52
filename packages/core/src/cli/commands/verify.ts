import { Command } from 'commander';
import { LifeboatError } from '../../errors.js';
import { corruptError, verifySnapshot, type VerifyResult } from '../../snapshot/verify.js';
import { findSnapshot, listStore } from '../../store/store.js';
import { contextOf } from '../context.js';
import { notASnapshot } from '../output.js';

export function verifyCommand(): Command {
  return new Command('verify')
    .description('check snapshots: the manifest against its checksum and the journal, sha256 of every file and every byte of the archive read back (dump), or the clone against its manifest')
    .argument('[id]', 'a snapshot id, a unique prefix of one, or "latest" (default: every snapshot)')
    .action(async (id: string | undefined, _opts: object, cmd: Command) => {
      const ctx = await contextOf(cmd);
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
