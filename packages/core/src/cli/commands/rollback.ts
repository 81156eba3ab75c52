import { Command } from 'commander';
import { LifeboatError } from '../../errors.js';
import type { DiscardReport } from '../../recovery/discard.js';
import { interruptedOperations } from '../../recovery/interrupted.js';
import { recover } from '../../recovery/recover.js';
import { rollback, undoRollback } from '../../recovery/rollback.js';
import { confirmDestructive } from '../confirm.js';
import { contextOf } from '../context.js';
import { columns, formatCount, formatDuration, type Output } from '../output.js';
import { progressOnTty } from '../progress.js';

export function rollbackCommand(): Command {
  return new Command('rollback')
    .description("put the database back to the last guarded deploy's restore point (a safety snapshot is taken first)")
    .option('--to-deploy <id>', 'the restore point of this deploy (see the journal)')
    .option('--snapshot <id>', 'any snapshot instead of a deploy restore point')
    .option('--undo', 'return to the state before the last rollback (its safety snapshot)')
    .action(async (opts: { toDeploy?: string; snapshot?: string; undo?: boolean }, cmd: Command) => {
      const ctx = await contextOf(cmd, { interrupted: 'handled' });
      const target = ctx.target();
      // No terminal and no --yes: refuse before any work (a safety snapshot would be wasted).
      if (!ctx.options.yes && (!process.stdin.isTTY || !process.stderr.isTTY)) await confirmDestructive(`roll back "${target.database}"`, false);
      const confirm = async ({ restorePoint, discarded }: { restorePoint: { id: string; createdAt: string }; discarded: DiscardReport }) => {
        printDiscarded(ctx.out, discarded);
        await confirmDestructive(`replace "${target.database}" with snapshot ${restorePoint.id} of ${restorePoint.createdAt}, throwing away the changes above`, ctx.options.yes);
      };
      const progress = progressOnTty(!ctx.out.json);
      const notice = (m: string) => ctx.out.note(`lifeboat: ${m}`);
      // A deploy that was interrupted is the newest change: going back means its own snapshot, which is what `recover` does.
      const interrupted = await interruptedOperations(ctx.store, target.database);
      if (!opts.undo && !opts.toDeploy && !opts.snapshot && interrupted.length > 0 && interrupted.every((i) => i.record.operation === 'deploy')) {
        notice(`the newest deploy was interrupted: rolling back to its own snapshot (as \`lifeboat recover\` does)`);
        const result = await recover({
          target,
          store: ctx.store,
          settings: ctx.settings,
          confirm: async (found) => {
            for (const f of found) notice(`found: ${f.state}\n  → will ${f.plan}`);
            await confirmDestructive(`roll back "${target.database}" to the snapshot its interrupted deploy took`, ctx.options.yes);
          },
          onNotice: notice,
          onProgress: progress.onProgress,
        }).finally(progress.stop);
        ctx.out.document(result);
        for (const r of result.recovered) ctx.out.line(`Rolled back the interrupted deploy ${r.deploy ?? r.intent}: ${r.did.join('; ')}.`);
        return;
      }
      if (opts.undo) {
        if (opts.toDeploy || opts.snapshot) throw new LifeboatError('USAGE', '--undo takes no --to-deploy or --snapshot.');
        const result = await undoRollback({ target, store: ctx.store, settings: ctx.settings, confirm, onNotice: notice }).finally(progress.stop);
        ctx.out.document(result);
        ctx.out.line(
          `Undone: "${target.database}" is back to safety snapshot ${result.safetySnapshot} (${formatDuration(result.restore.durationMs)}); the rolled-back state is kept as "${result.restore.replaced}".`,
        );
        return;
      }
      const result = await rollback({
        target,
        store: ctx.store,
        settings: ctx.settings,
        ...(opts.toDeploy ? { deployId: opts.toDeploy } : {}),
        ...(opts.snapshot ? { snapshotId: opts.snapshot } : {}),
        confirm,
        onNotice: notice,
        onProgress: progress.onProgress,
      }).finally(progress.stop);
      ctx.out.document(result);
      ctx.out.line(`Rolled back "${target.database}" to snapshot ${result.restorePoint} in ${formatDuration(result.restore.durationMs)}.`);
      ctx.out.line(`The state before is kept: safety snapshot ${result.safetySnapshot} (\`lifeboat rollback --undo\`), and the database "${result.restore.replaced}".`);
    });
}

function printDiscarded(out: Output, report: DiscardReport): void {
  if (out.json) return;
  const lines: string[] = ['Rolling back throws away what changed since the restore point:'];
  if (report.tables.length === 0 && report.tablesOnlyNow.length === 0) lines.push('  no rows were written since the restore point.');
  else {
    const rows = report.tables.map((t) => [
      t.tableThen ? `${t.table} (was ${t.tableThen})` : t.table,
      formatCount(t.rowsThen),
      formatCount(t.rowsNow),
      t.added === undefined ? '' : formatCount(t.added),
      t.removed === undefined ? '' : formatCount(t.removed),
      t.changed === undefined ? '' : formatCount(t.changed),
      t.compared,
    ]);
    for (const line of columns([['TABLE', 'THEN', 'NOW', 'ADDED', 'REMOVED', 'CHANGED', 'COMPARED'], ...rows])) lines.push(`  ${line}`);
  }
  for (const t of report.tablesOnlyNow) lines.push(`  table ${t} exists only now: it goes, with its rows`);
  for (const t of report.tablesOnlyThen) lines.push(`  table ${t} comes back`);
  for (const r of report.renamed) lines.push(`  ${r} since the restore point: going back undoes it`);
  process.stderr.write(`${lines.join('\n')}\n`);
}
