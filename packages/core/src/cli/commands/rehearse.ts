import { Command } from 'commander';
import { withClient } from '../../db/connect.js';
import { type DatabaseTarget, parseDatabaseUrl, withDatabase } from '../../db/target.js';
import { LifeboatError } from '../../errors.js';
import type { PreparedCommand } from '../../guard/adapter.js';
import { rehearseSchemaOnly } from '../../plan/rehearsal.js';
import { scratchName } from '../../plan/scratch.js';
import { rehearseOnSnapshot, type SnapshotRehearsal } from '../../plan/snapshot-rehearsal.js';
import { fetchSnapshot } from '../../remote/fetch.js';
import { findSnapshot } from '../../store/store.js';
import { ADAPTER_PACKAGES, loadCliAdapter } from '../adapters.js';
import { type CommandContext, contextOf } from '../context.js';
import { formatDuration } from '../output.js';
import { progressOnTty } from '../progress.js';
import { commandRemote } from '../remote.js';

interface RehearseOptions {
  snapshot?: string;
  fromRemote?: string | true;
  schemaOnly?: boolean;
}

const FAILED_HINT = 'The live database was not touched. Fix the migration, then rehearse again.';

/** `lifeboat rehearse <tool> <args…>`: the pending migrations run with the real tool in a scratch copy, measured, and dropped. */
export function rehearseCommand(): Command {
  return new Command('rehearse')
    .description(
      'run the pending migrations with the real tool in a scratch copy of the newest snapshot: per-migration durations, the longest locks, the checks; the copy is dropped and the live database never touched',
    )
    .argument('<tool>', `the migrate tool: ${Object.keys(ADAPTER_PACKAGES).join(', ')}`)
    .argument('[args...]', 'its migrate command, as after `lifeboat <tool>` (knex migrate:latest, prisma migrate deploy, drizzle-kit migrate)')
    .option('--snapshot <id>', 'the snapshot to rehearse on: an id, a unique prefix or "latest" (default)')
    .option('--from-remote [url]', "rehearse on a snapshot from the remote store (the config's, or this URL)")
    .option('--schema-only', 'rehearse on the live schema without its rows (no snapshot needed): the check a guarded deploy makes before its snapshot')
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .action(async (tool: string, args: string[], opts: RehearseOptions, cmd: Command) => {
      const ctx = await contextOf(cmd, { askTools: false });
      if (!ADAPTER_PACKAGES[tool]) {
        throw new LifeboatError('USAGE', `lifeboat rehearse does not know the tool "${tool}".`, { hint: `Name one of ${Object.keys(ADAPTER_PACKAGES).join(', ')}, then its migrate command.` });
      }
      const prepared = await (await loadCliAdapter(tool, ctx.cwd)).prepare({ args, cwd: ctx.cwd, env: process.env, choose: ctx.choose });
      if (prepared.mode !== 'migrate') {
        throw new LifeboatError('USAGE', `\`${tool} ${args.join(' ')}\` does not apply migrations: lifeboat rehearse runs a migrate command.`, {
          hint: 'Give the command a guarded deploy runs: knex migrate:latest, prisma migrate deploy, drizzle-kit migrate.',
        });
      }
      ctx.out.note(`lifeboat: database from ${prepared.database.source}`);
      const target = parseDatabaseUrl(prepared.database.url);
      if (opts.schemaOnly) await schemaOnly(ctx, target, prepared);
      else await onSnapshot(ctx, target, prepared, opts);
    });
}

async function schemaOnly(ctx: CommandContext, target: DatabaseTarget, prepared: Extract<PreparedCommand, { mode: 'migrate' }>): Promise<void> {
  const { pending } = await withClient(target, target.database, (client) => prepared.adapter.status(client));
  const result = await rehearseSchemaOnly({ target, adapter: prepared.adapter, pending, store: ctx.store, signal: ctx.signal, onNotice: (m) => ctx.out.note(`lifeboat: ${m}`) });
  const ok = !result.ran || result.ok;
  ctx.out.document({ ok, kind: 'schema-only', database: target.database, pending, ...result });
  if (!result.ran) {
    ctx.out.line(`Schema-only rehearsal of "${target.database}": not run (${result.why}).`);
    return;
  }
  const copy = `scratch copy ready in ${formatDuration(result.scratch.readyMs)}`;
  if (result.ok) {
    ctx.out.line(`Schema-only rehearsal of "${target.database}": ${pending.length} pending migration(s) ran without error (${formatDuration(result.ms)}; ${copy}).`);
    return;
  }
  ctx.out.line(`Schema-only rehearsal of "${target.database}": FAILED (${formatDuration(result.ms)}; ${copy}).`);
  throw new LifeboatError('REHEARSAL_FAILED', `${result.migration ?? 'A migration'} failed in the schema-only rehearsal: ${result.error}`, { hint: FAILED_HINT });
}

async function onSnapshot(ctx: CommandContext, target: DatabaseTarget, prepared: Extract<PreparedCommand, { mode: 'migrate' }>, opts: RehearseOptions): Promise<void> {
  if (!prepared.runOn) throw new LifeboatError('USAGE', `The ${prepared.adapter.name} adapter cannot point its tool at another database.`, { hint: 'Use --schema-only.' });
  const scratch = scratchName(target.database);
  // Before anything is restored: a tool whose configuration fixes its URL cannot be pointed at the copy.
  const pointed = await prepared.runOn(withDatabase(target, scratch).url).catch((error: unknown) => {
    if (!(error instanceof LifeboatError) || error.code !== 'URL_INVALID') throw error;
    throw new LifeboatError('CONFIG_INVALID', `lifeboat rehearse cannot point ${prepared.adapter.name} at a scratch database: ${error.message}`, {
      hint: "Let the tool's configuration read its URL from the environment (DATABASE_URL, or the variable it names): a URL fixed in a file cannot be pointed elsewhere.",
    });
  });
  const progress = progressOnTty(!ctx.out.json);
  const output = ctx.out.json ? 'stderr' : 'inherit';
  let result: SnapshotRehearsal;
  try {
    if (opts.fromRemote !== undefined) {
      const { remote, keys } = await commandRemote(ctx, opts.fromRemote);
      try {
        const fetched = await fetchSnapshot({ remote, ref: opts.snapshot ?? 'latest', into: ctx.store, keys: await keys(), onProgress: progress.onProgress });
        try {
          result = await rehearseOnSnapshot({
            target,
            store: ctx.store,
            manifest: fetched.manifest,
            settings: ctx.settings,
            scratch,
            pointed,
            output,
            signal: ctx.signal,
            onProgress: progress.onProgress,
            fetched: { store: fetched.store },
          });
        } finally {
          await fetched.dispose();
        }
      } finally {
        remote.close();
      }
    } else {
      const manifest = await findSnapshot(ctx.store, opts.snapshot ?? 'latest');
      result = await rehearseOnSnapshot({ target, store: ctx.store, manifest, settings: ctx.settings, scratch, pointed, output, signal: ctx.signal, onProgress: progress.onProgress });
    }
  } finally {
    progress.stop();
  }
  ctx.out.document(result);
  printReport(ctx, result);
  if (!result.ok) {
    const what = result.failed === 'checks' ? 'the checks failed after the migrations' : result.failed === 'restore' ? 'the snapshot could not be restored' : `${result.tool} failed`;
    throw new LifeboatError('REHEARSAL_FAILED', `The rehearsal on snapshot ${result.snapshot} failed: ${what}: ${result.error}`, { hint: FAILED_HINT });
  }
}

function printReport(ctx: CommandContext, r: SnapshotRehearsal): void {
  ctx.out.line(`Rehearsal of ${r.tool} on snapshot ${r.snapshot} of "${r.database}" (a scratch copy, dropped): ${r.ok ? 'passed' : 'FAILED'}.`);
  if (r.pending.length === 0 && r.ok) ctx.out.line('  nothing was pending in the snapshot');
  for (const m of r.migrations) {
    const ran = r.migrated.includes(m.name) ? (m.ms !== undefined ? formatDuration(m.ms) : 'ran') : 'did not run';
    const lock = m.longestLock ? `; longest lock ${m.longestLock.mode} on ${m.longestLock.table} ≈ ${formatDuration(m.longestLock.ms)}` : '';
    ctx.out.line(`  ${m.name}: ${ran}${lock}`);
  }
  for (const check of r.checks) ctx.out.line(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.summary}`);
  const t = r.timings;
  const parts = [
    t.restoreMs !== undefined ? `restore ${formatDuration(t.restoreMs)}` : '',
    t.migrateMs !== undefined ? `migrate ${formatDuration(t.migrateMs)}` : '',
    t.checksMs !== undefined ? `checks ${formatDuration(t.checksMs)}` : '',
    t.dropMs !== undefined ? `drop ${formatDuration(t.dropMs)}` : '',
  ].filter(Boolean);
  ctx.out.line(`  total ${formatDuration(t.totalMs)}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`);
  if (r.longestLock && r.ok) {
    ctx.out.line(
      `  The production deploy will hold ${r.longestLock.mode} on ${r.longestLock.table} for ≈ ${formatDuration(r.longestLock.ms)} (${r.longestLock.migration}; measured on this snapshot's data, ±${r.lockSampleMs} ms).`,
    );
  }
  if (r.error) ctx.out.line(`  ${r.error}`);
}
