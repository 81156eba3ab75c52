import { Command } from 'commander';
import { recover } from '../../recovery/recover.js';
import { confirmDestructive } from '../confirm.js';
import { contextOf } from '../context.js';
import { progressOnTty } from '../progress.js';

export function recoverCommand(): Command {
  return new Command('recover')
    .description('finish or undo operations on this database that were interrupted (crash, kill -9): says what it found and what it will do, then asks')
    .option('--dismiss', 'close the interrupted records without acting on them (after you put the database right by hand); touches nothing on the server')
    .action(async (opts: { dismiss?: boolean }, cmd: Command) => {
      const ctx = await contextOf(cmd, { interrupted: 'handled' });
      const target = ctx.target();
      const progress = progressOnTty(!ctx.out.json);
      const result = await recover({
        target,
        store: ctx.store,
        settings: ctx.settings,
        ...(opts.dismiss ? { dismiss: true } : {}),
        confirm: async (found) => {
          for (const f of found) ctx.out.note(`lifeboat: found: ${f.state}\n  → will ${opts.dismiss ? 'close its record and do nothing else' : f.plan}`);
          await confirmDestructive(`${opts.dismiss ? 'dismiss' : 'recover'} ${found.length} interrupted operation(s) on "${target.database}", as above`, ctx.options.yes);
        },
        onNotice: (m) => ctx.out.note(`lifeboat: ${m}`),
        onProgress: progress.onProgress,
      }).finally(progress.stop);
      ctx.out.document(result);
      if (result.recovered.length === 0) {
        ctx.out.line(`Nothing to recover: no interrupted operation on "${target.database}" in ${ctx.store.root}.`);
        return;
      }
      for (const r of result.recovered) {
        const where = {
          'restored-to-snapshot': 'is back to the snapshot taken before it',
          unchanged: 'was not changed by it',
          'swap-finished': 'is the restored copy it was swapping in',
          'cleaned-up': 'was not touched by it; what it left is removed',
          dismissed: 'was left as it is (dismissed)',
        }[r.outcome];
        ctx.out.line(`Recovered the interrupted ${r.operation}${r.deploy ? ` ${r.deploy}` : ''}: "${target.database}" ${where}.${r.kept ? ` The database it replaced is kept as "${r.kept}".` : ''}`);
      }
    });
}
