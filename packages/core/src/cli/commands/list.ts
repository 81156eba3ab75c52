import { Command } from 'commander';
import { listStore } from '../../store/store.js';
import { contextOf } from '../context.js';
import { columns, formatBytes, formatCount, notASnapshot } from '../output.js';

export function listCommand(): Command {
  return new Command('list').description('list the finished snapshots in the store').action(async (_opts: object, cmd: Command) => {
    const ctx = await contextOf(cmd);
    const listing = await listStore(ctx.store);
    ctx.out.document({
      store: ctx.store.root,
      snapshots: listing.snapshots.map((s) => ({
        id: s.id,
        createdAt: s.createdAt,
        database: s.database.name,
        strategy: s.strategy,
        reason: s.reason,
        label: s.label ?? null,
        cloneDatabase: s.clone?.database ?? null,
        sizeBytes: s.sizeBytes,
        tables: s.tables.length,
        rows: s.tables.reduce((sum, t) => sum + t.rows, 0),
      })),
      incomplete: listing.incomplete.length,
      unreadable: listing.unreadable,
      withoutManifest: listing.withoutManifest,
    });
    if (listing.snapshots.length === 0) {
      ctx.out.line(`No snapshots in ${ctx.store.root}. Take one with: lifeboat snapshot`);
    } else {
      const rows = listing.snapshots.map((s) => [
        s.id,
        s.createdAt.replace('T', ' ').slice(0, 19),
        s.database.name,
        s.strategy,
        formatBytes(s.sizeBytes),
        formatCount(s.tables.reduce((sum, t) => sum + t.rows, 0)),
        s.label ?? s.reason,
      ]);
      for (const line of columns([['ID', 'CREATED (UTC)', 'DATABASE', 'STRATEGY', 'SIZE', 'ROWS', 'LABEL'], ...rows])) ctx.out.line(line);
    }
    for (const folder of listing.withoutManifest) ctx.out.note(`warning: ${notASnapshot(folder)}. Put its manifest.json back, or remove the folder yourself.`);
    for (const bad of listing.unreadable) ctx.out.note(`warning: ${bad.id} has an unreadable manifest (${bad.problem}); it is ignored.`);
    const abandoned = listing.incomplete.filter((i) => !i.inProgress).length;
    if (abandoned > 0) ctx.out.note(`${abandoned} unfinished snapshot folder(s) left by interrupted runs; \`lifeboat prune\` removes them.`);
  });
}
