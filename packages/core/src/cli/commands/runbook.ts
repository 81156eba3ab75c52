import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { recoveryStatus } from '../../recovery/status.js';
import { runbook } from '../../recovery/runbook.js';
import { contextOf } from '../context.js';

export function runbookCommand(): Command {
  return new Command('runbook')
    .description('write RECOVERY.md: what matters, the objectives, where snapshots are, the exact commands to recover')
    .option('--output <file>', 'where to write it', 'RECOVERY.md')
    .action(async (opts: { output: string }, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const target = ctx.target();
      const file = resolve(ctx.cwd, opts.output);
      const status = await recoveryStatus(ctx.store, ctx.settings, target.database);
      const text = await runbook({ target, store: ctx.store, settings: ctx.settings, status, dir: dirname(file), ...(ctx.database ? { database: ctx.database } : {}) });
      await writeFile(file, text);
      ctx.out.document({ file, bytes: Buffer.byteLength(text) });
      ctx.out.line(`Wrote ${file}.`);
    });
}
