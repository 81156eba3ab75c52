import { Command } from 'commander';
import { withClient } from '../../db/connect.js';
import { classesSnippet, classify } from '../../recovery/classify.js';
import { toolDatabases } from '../adapters.js';
import { contextOf } from '../context.js';

export function classifyCommand(): Command {
  return new Command('classify').description('propose a data class for every table, as a config to paste (writes nothing)').action(async (_opts: object, cmd: Command) => {
    const ctx = await contextOf(cmd);
    const target = ctx.target();
    // The installed adapters name their tools' bookkeeping tables, which get no class.
    const bookkeeping = [...new Set((await toolDatabases(ctx.cwd, process.env)).flatMap((t) => t.bookkeeping))];
    const proposals = await withClient(target, target.database, (client) => classify(client, { bookkeeping }));
    const snippet = classesSnippet(proposals, bookkeeping);
    ctx.out.document({ proposals, bookkeeping, snippet });
    ctx.out.line(snippet);
  });
}
