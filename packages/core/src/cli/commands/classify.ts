import { Command } from 'commander';
import { withClient } from '../../db/connect.js';
import { classesSnippet, classify } from '../../recovery/classify.js';
import { contextOf } from '../context.js';

export function classifyCommand(): Command {
  return new Command('classify')
    .description('propose a data class for every table, as a config snippet to paste (writes nothing)')
    .action(async (_opts: object, cmd: Command) => {
      const ctx = await contextOf(cmd);
      const target = ctx.target();
      const proposals = await withClient(target, target.database, classify);
      ctx.out.document({ proposals, snippet: classesSnippet(proposals) });
      ctx.out.line(classesSnippet(proposals));
    });
}
