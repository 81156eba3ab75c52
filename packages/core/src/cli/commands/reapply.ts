import { Command } from 'commander';
import { ERROR_CODES } from '../../errors.js';
import { reapply, type ReapplyOptions, type ReapplyResult } from '../../recovery/reapply.js';
import { confirmDestructive } from '../confirm.js';
import { contextOf } from '../context.js';
import { columns, formatCount, type Output } from '../output.js';

export function reapplyCommand(): Command {
  return new Command('reapply')
    .description("re-apply the writes a deploy's rollback took out (kept in the database it replaced), by primary key; a dry run without --yes")
    .argument('[deploy-id]', 'the deploy (default: the newest deploy of this database that recorded writes)')
    .option('--table <name>', 'only this table (repeatable)', (value: string, all: string[] | undefined) => [...(all ?? []), value])
    .option('--dry-run', 'only show what would be done (the default without --yes)')
    .action(async (deployId: string | undefined, opts: { table?: string[]; dryRun?: boolean }, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const target = ctx.target();
      const base: Omit<ReapplyOptions, 'apply'> = {
        target,
        store: ctx.store,
        settings: ctx.settings,
        ...(deployId ? { deployId } : {}),
        ...(opts.table ? { tables: opts.table } : {}),
        signal: ctx.signal,
        onNotice: (m) => ctx.out.note(`lifeboat: ${m}`),
      };
      const onTerminal = process.stdin.isTTY === true && process.stderr.isTTY === true;
      let result = await reapply({ ...base, apply: opts.dryRun !== true && ctx.options.yes });
      if (!result.applied && opts.dryRun !== true && onTerminal) {
        printResult(ctx.out, result, false);
        await confirmDestructive(`re-apply these writes into "${target.database}"`, false);
        result = await reapply({ ...base, apply: true });
      }
      ctx.out.document(result);
      printResult(ctx.out, result, true);
      if (result.applied && result.conflicts.length > 0) {
        ctx.out.note(`lifeboat: ${formatCount(result.conflicts.length)} row(s) not re-applied: they conflict with the live database (listed above); nothing was overwritten.`);
        process.exitCode = ERROR_CODES.REAPPLY_CONFLICTS.exit;
      }
    });
}

function printResult(out: Output, result: ReapplyResult, final: boolean): void {
  const verb = result.applied ? 're-applied into' : 'would be re-applied into';
  out.line(`Writes of ${result.deploy}, kept in "${result.replaced}", ${verb} "${result.database}":`);
  if (result.tables.length > 0) {
    const head = result.applied ? ['TABLE', 'INSERTED', 'UPDATED', 'DELETED', 'UNCHANGED', 'CONFLICTS'] : ['TABLE', 'INSERT', 'UPDATE', 'DELETE', 'UNCHANGED', 'CONFLICTS'];
    const rows = result.tables.map((t) => [t.table, ...[t.inserted, t.updated, t.deleted, t.unchanged, t.conflicts].map(formatCount)]);
    for (const line of columns([head, ...rows])) out.line(`  ${line}`);
  }
  for (const s of result.skippedTables) out.line(`  skipped ${s.table}: ${s.why}`);
  if (result.conflicts.length > 0) {
    out.line(`Conflicts (left as the live database has them):`);
    for (const c of result.conflicts)
      out.line(
        `  ${c.table} ${Object.entries(c.key)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}: ${c.why}`,
      );
  }
  for (const s of result.sequences) out.line(`Sequence ${s.sequence} moved forward: next value ${s.from} → ${s.to}.`);
  if (!result.applied && final) out.line(`Dry run: nothing was changed. Apply with: npx lifeboat reapply ${result.deploy} --yes`);
}
