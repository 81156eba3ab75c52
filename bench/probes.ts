/**
 * Where Lifeboat's time goes: the pieces of work its commands do beside the copy itself,
 * each timed on its own on the benchmark database (untimed in the comparisons). Read
 * them against the cases' medians to see which piece a fast path would remove.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
// Internals, timed on their own: from the source (tsx runs it), as no entry exports them.
import { countRows, schemaFingerprint } from '../packages/core/src/db/introspect.js';
import { knexAdapterProbe } from './cases/deploy.js';
import { cliPath, type Context, median, pgEnv, timed, withClient } from './lib.js';

export interface Probe {
  id: string;
  what: string;
  ms: number;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export async function probes(ctx: Context): Promise<Probe[]> {
  const out: Probe[] = [];
  const starts: number[] = [];
  for (let i = 0; i < 3; i++) starts.push((await timed(process.execPath, [cliPath, '--version'])).ms);
  out.push({ id: 'cli-start', what: 'node + the lifeboat CLI bundle, to --version (median of 3)', ms: median(starts) });

  // What a snapshot reads as its pre-flight record, and what a restore's verify and the checks read again.
  await withClient(ctx.url, async (client) => {
    // The core takes its own pg's Client; it is the same package at run time.
    const c = client as unknown as Parameters<typeof countRows>[0];
    out.push({ id: 'fingerprint', what: 'schema fingerprint (catalog query + sha256)', ms: await time(() => schemaFingerprint(c)) });
    out.push({ id: 'count-rows', what: 'count(*) of every table (restore verify, checks)', ms: await time(() => countRows(c)) });
    out.push({
      id: 'count-rows-contents',
      what: 'one scan per table: rows, values per column, rows per key bucket (snapshot, checks)',
      ms: await time(() => countRows(c, { contents: true })),
    });
  });

  const dump = ctx.fixtures.dumpSnapshot;
  if (dump) {
    out.push({
      id: 'sha256-archive',
      what: `sha256 of the dump archive (restore re-checks it)`,
      ms: await time(async () => {
        // A directory archive is hashed file by file, as Lifeboat does.
        const files = (await stat(dump.archive)).isDirectory() ? (await readdir(dump.archive)).map((f) => join(dump.archive, f)) : [dump.archive];
        for (const file of files) {
          const hash = createHash('sha256');
          for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
          hash.digest('hex');
        }
      }),
    });
    out.push({ id: 'pg-restore-list', what: 'pg_restore --list of the archive (restore re-checks it)', ms: (await timed('pg_restore', ['--list', dump.archive], { env: pgEnv(ctx.url) })).ms });
  }
  try {
    out.push(...(await knexAdapterProbe(ctx)));
  } catch (error) {
    ctx.log(`  the knex adapter probe failed: ${(error as Error).message}`);
  }
  return out.map((p) => ({ ...p, ms: Math.round(p.ms) }));
}
