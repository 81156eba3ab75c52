import { Command } from 'commander';
import { connectMaintenance } from '../../db/connect.js';
import { exclusively } from '../../guard/exclusive.js';
import { applyPrune, planPrune } from '../../retention/prune.js';
import { confirmDestructive } from '../confirm.js';
import { openRemote } from '../../remote/remote.js';
import { applyRemotePrune, planRemotePrune } from '../../remote/prune.js';
import { describePolicy } from '../../retention/policy.js';
import { type CommandContext, contextOf } from '../context.js';
import { formatBytes, notASnapshot } from '../output.js';
import { nonNegativeInt, positiveInt, positiveNumber } from './parse.js';

export function pruneCommand(): Command {
  return new Command('prune')
    .description('apply retention: remove snapshots beyond --keep / --max-age, and unfinished ones left by interrupted runs')
    .option('--keep <n>', 'keep the newest N snapshots (default: retention.keep in the config, else 10 unless --max-age is given)', positiveInt)
    .option('--max-age <days>', 'keep snapshots younger than this many days (default: retention.maxAgeDays)', positiveNumber)
    .option('--keep-daily <n>', 'keep the newest of each of the last N days (default: retention.daily)', positiveInt)
    .option('--keep-weekly <n>', 'keep the newest of each of the last N ISO weeks (default: retention.weekly)', positiveInt)
    .option('--keep-monthly <n>', 'keep the newest of each of the last N months (default: retention.monthly)', positiveInt)
    .option('--keep-on-server <n>', 'keep at most N full copies per database on the server: clone snapshots, replaced databases (default: retention.keepOnServer, else 3)', nonNegativeInt)
    .option('--dry-run', 'list what would be removed, remove nothing', false)
    .option('--local-only', 'leave the remote store alone (by default, with a remote configured, its own remote.retention applies there too)')
    .action(async (opts: { dryRun: boolean; localOnly?: boolean }, cmd: Command) => {
      const ctx = await contextOf(cmd, { interrupted: 'handled' });
      // The flags are folded over the config's retention with the defaults (config/resolve.ts).
      const policy = ctx.settings.retention;
      // With a database URL, the databases restores replaced are pruned by the same policy.
      const target = ctx.maybeTarget();
      const server = target ? await connectMaintenance(target) : undefined;
      const plan = await planPrune(ctx.store, policy, new Date(), server && target ? { client: server, database: target.database } : undefined).finally(() => server?.end().catch(() => {}));
      // The remote side, planned before anything is removed, so --dry-run shows both.
      const remoteSide = !opts.localOnly && ctx.settings.remote ? await planRemoteSide(ctx) : undefined;
      const total = plan.expired.length + plan.abandoned.length + plan.replacedDatabases.length;
      if (remoteSide) ctx.out.line(`Local ${ctx.store.root}: ${describePolicy(policy)}`);
      for (const p of plan.protected) ctx.out.line(`keep ${p.id} (${p.why})`);
      for (const s of plan.expired) ctx.out.line(`${opts.dryRun ? 'would remove' : 'remove'} ${s.id} (${s.strategy}, ${s.createdAt})`);
      for (const s of plan.abandoned) ctx.out.line(`${opts.dryRun ? 'would remove' : 'remove'} ${s.id} (unfinished)`);
      for (const folder of plan.withoutManifest) ctx.out.line(`leave ${notASnapshot(folder)}`);
      for (const d of plan.replacedDatabases) ctx.out.line(`${opts.dryRun ? 'would drop' : 'drop'} database ${d.name} (replaced by a restore on ${d.createdAt})`);
      if (total > 0 && !opts.dryRun) {
        await confirmDestructive(
          `remove ${plan.expired.length + plan.abandoned.length} snapshot(s) from ${ctx.store.root} and drop ${plan.replacedDatabases.length} replaced database(s)`,
          ctx.options.yes,
        );
        const drops = [...[...plan.expired, ...plan.abandoned].flatMap((s) => (s.cloneDatabase ? [s.cloneDatabase] : [])), ...plan.replacedDatabases.map((d) => d.name)];
        if (target && drops.length > 0) {
          // Dropping databases on the server: under the database's lock, recorded so an interrupted prune is finished by `recover`.
          const record = { phase: 'removing' as const, drops, removes: [...plan.expired, ...plan.abandoned].map((s) => s.id) };
          await exclusively({ target, store: ctx.store, operation: 'prune', lockTimeoutMs: ctx.settings.lockTimeoutMs, record, onNotice: (m) => ctx.out.note(`lifeboat: ${m}`) }, () =>
            applyPrune(ctx.store, plan, target),
          );
        } else {
          await applyPrune(ctx.store, plan, target);
        }
      }
      ctx.out.line(total === 0 ? `Nothing to prune; ${plan.kept} snapshot(s) kept.` : `${opts.dryRun ? 'Would keep' : 'Kept'} ${plan.kept} snapshot(s).`);
      if (remoteSide) {
        const { remote, plan: r } = remoteSide;
        try {
          ctx.out.line(`Remote ${r.remote}: ${r.policy}`);
          for (const p of r.protected) ctx.out.line(`keep ${p.id} (${p.why})`);
          for (const s of r.expired) ctx.out.line(`${opts.dryRun ? 'would remove' : 'remove'} ${s.id} from the remote (${s.createdAt}, ${formatBytes(s.bytes)})`);
          for (const s of r.abandoned) ctx.out.line(`${opts.dryRun ? 'would remove' : 'remove'} ${s.id} from the remote (a push that never finished, ${formatBytes(s.bytes)})`);
          const removals = r.expired.length + r.abandoned.length;
          if (removals > 0 && !opts.dryRun) {
            await confirmDestructive(`remove ${removals} snapshot(s) from ${r.remote}`, ctx.options.yes);
            await applyRemotePrune(remote, ctx.store, r);
          }
          ctx.out.line(removals === 0 ? `Nothing to prune on the remote; ${r.kept} snapshot(s) kept.` : `${opts.dryRun ? 'Would keep' : 'Kept'} ${r.kept} snapshot(s) on the remote.`);
        } finally {
          remote.close();
        }
      }
      const { keysById: _keys, ...remotePlan } = remoteSide?.plan ?? { keysById: undefined };
      ctx.out.document({ dryRun: opts.dryRun, ...plan, ...(remoteSide ? { remote: remotePlan } : {}) });
    });
}

async function planRemoteSide(ctx: CommandContext) {
  const remote = await openRemote(ctx.settings.remote!);
  try {
    return { remote, plan: await planRemotePrune(remote, ctx.store, ctx.settings.remote!.retention) };
  } catch (error) {
    remote.close();
    throw error;
  }
}
