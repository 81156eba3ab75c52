import { Command } from 'commander';
import { runChecks } from '../../checks/run.js';
import { withClient } from '../../db/connect.js';
import { LifeboatError } from '../../errors.js';
import { listStore } from '../../store/store.js';
import { contextOf } from '../context.js';

export function checkCommand(): Command {
  return new Command('check')
    .description("run the integrity checks now, against the newest snapshot of this database (data preservation) and the config's own checks")
    .action(async (_opts: object, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const target = ctx.target();
      const baseline = (await listStore(ctx.store)).snapshots.filter((s) => s.database.name === target.database).at(-1);
      const settings = { ...ctx.settings.checks, dataPreservation: ctx.settings.checks.dataPreservation && baseline !== undefined };
      const empty = { tables: [], schema: { hash: '', objects: {} }, invalidIndexes: [], notValidConstraints: [] };
      const { results } = await withClient(target, target.database, (client) => runChecks(client, baseline ?? empty, settings));
      ctx.out.document({ ok: results.every((r) => r.ok), baseline: baseline?.id ?? null, results });
      ctx.out.line(baseline ? `Compared with snapshot ${baseline.id} (${baseline.createdAt}).` : 'No snapshot of this database in the store: data preservation not checked.');
      for (const result of results) {
        ctx.out.line(`${result.ok ? 'ok  ' : 'FAIL'} ${result.name}: ${result.summary}`);
        for (const problem of result.problems) ctx.out.line(`       - ${problem}`);
        for (const allowed of result.allowed) ctx.out.line(`       - allowed: ${allowed}`);
        for (const note of result.notes ?? []) ctx.out.line(`       - ${note}`);
      }
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) {
        throw new LifeboatError('CHECKS_FAILED', `${failed.length} check(s) failed: ${failed.map((f) => f.name).join(', ')}.`, {
          hint: 'See the problems listed above.',
        });
      }
    });
}
