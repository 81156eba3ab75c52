/**
 * The physical floor: copying the database's files on the server (`CREATE DATABASE …
 * STRATEGY FILE_COPY`, which checkpoints, copies the folder and fsyncs it) and a plain
 * copy of one file of the same size (`cp` + `sync` of the copy). No snapshot or restore
 * that copies the data can be faster than these.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { alternate, type CaseResult, type Context, dropDatabase, ident, psql, ratioRow, removeDir, timed } from '../lib.js';

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    const chunk = 8 * 1024 * 1024;
    for (let done = 0; done < bytes; done += chunk) await handle.write(randomBytes(Math.min(chunk, bytes - done)));
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function floor(ctx: Context): Promise<CaseResult> {
  const source = join(ctx.work, 'floor-source.bin');
  await writeRandomFile(source, ctx.databaseBytes);
  try {
    const runs = await alternate(ctx, 'floor', {
      lifeboat: async (run) => {
        const copy = `${ctx.database}_file_copy_${run}`;
        ctx.track(copy);
        const { ms } = await psql(ctx, `create database ${ident(copy)} template ${ident(ctx.database)} strategy file_copy`);
        return { ms, cleanup: () => dropDatabase(ctx, copy) };
      },
      baseline: async (run) => {
        const target = join(ctx.work, `floor-copy-${run}.bin`);
        const start = performance.now();
        await timed('cp', ['--reflink=never', source, target]);
        await timed('sync', [target]);
        return { ms: performance.now() - start, cleanup: () => removeDir(target) };
      },
    });
    return {
      id: 'floor',
      rows: [ratioRow('floor', 'CREATE DATABASE … STRATEGY FILE_COPY', 'cp + sync of a same-sized file', runs, undefined)],
      runs,
      details: { bytes: ctx.databaseBytes },
    };
  } finally {
    await removeDir(source);
  }
}
