import { Command } from 'commander';
import { parseDatabaseUrl } from '../../db/target.js';
import { LifeboatError } from '../../errors.js';
import type { MigrationAdapter, MigrationRun } from '../../guard/adapter.js';
import { commandRun } from '../../guard/command-run.js';
import { guardedDeploy } from '../../guard/deploy.js';
import { pushIfConfigured } from '../../remote/auto-push.js';
import { findSnapshot } from '../../store/store.js';
import { loadCliAdapter } from '../adapters.js';
import { type CommandContext, contextOf } from '../context.js';
import { printDeployReport } from '../deploy-report.js';
import { progressOnTty } from '../progress.js';

/** `lifeboat prisma …`, `lifeboat knex …`, `lifeboat drizzle-kit …`: the tool's own arguments, guarded. */
export function toolCommand(tool: string): Command {
  return new Command(tool)
    .description(`run ${tool} guarded: snapshot, migrate, check, roll back on failure (Lifeboat's options go before "${tool}")`)
    .argument('[args...]', `${tool}'s own arguments, passed on untouched`)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .action(async (args: string[], _opts: object, cmd: Command) => {
      const ctx = await contextOf(cmd, { interrupted: 'handled' });
      const adapter = await loadCliAdapter(tool, ctx.cwd);
      const prepared = await adapter.prepare({ args, cwd: ctx.cwd, env: process.env, databaseUrl: ctx.databaseUrl, databaseUrlSource: ctx.databaseUrlSource });
      if (!prepared.guarded) {
        // Not a migration (prisma generate, knex seed:run…): run it as it is.
        const outcome = await prepared.run.run({ signal: ctx.signal, output: ctx.out.json ? 'stderr' : 'inherit' });
        process.exitCode = outcome.exitCode;
        return;
      }
      if (!prepared.databaseUrl) {
        throw new LifeboatError('URL_INVALID', `No database URL: ${tool} found none (${prepared.databaseUrlSource}) and none was given.`, {
          hint: 'Set DATABASE_URL or pass --database-url before the tool name.',
        });
      }
      ctx.out.note(`lifeboat: database from ${prepared.databaseUrlSource}`);
      await deploy(ctx, prepared.databaseUrl, prepared.run, prepared.adapter);
    });
}

/** `lifeboat run -- <command…>`: any migrate command, always with a snapshot (nothing is known to be pending). */
export function runCommand(): Command {
  return new Command('run')
    .description('run any migrate command guarded: lifeboat run -- npm run db:migrate')
    .argument('<command...>', 'the command and its arguments, after --')
    .passThroughOptions()
    .action(async (command: string[], _opts: object, cmd: Command) => {
      const ctx = await contextOf(cmd, { interrupted: 'handled' });
      const [file, ...args] = command;
      await deploy(ctx, undefined, commandRun(file!, args, { cwd: ctx.cwd }), undefined);
    });
}

async function deploy(ctx: CommandContext, url: string | undefined, run: MigrationRun, adapter: MigrationAdapter | undefined): Promise<void> {
  const target = url === undefined ? ctx.target() : parseDatabaseUrl(url);
  const report = await guardedDeploy({
    target,
    store: ctx.store,
    settings: ctx.settings,
    ...(adapter ? { adapter } : {}),
    run,
    output: ctx.out.json ? 'stderr' : 'inherit',
    onNotice: (message) => ctx.out.note(`lifeboat: ${message}`),
    progress: () => progressOnTty(!ctx.out.json),
    signal: ctx.signal,
  });
  // remote.push 'always': the snapshot goes off-site after the deploy (the lock is released); a failed push changes no outcome.
  const taken = report.snapshot && !ctx.signal.aborted ? await findSnapshot(ctx.store, report.snapshot.id).catch(() => undefined) : undefined;
  const push = taken
    ? await pushIfConfigured({ settings: ctx.settings, store: ctx.store, manifest: taken, target, onNotice: (m) => ctx.out.note(`lifeboat: ${m}`), signal: ctx.signal })
    : undefined;
  printDeployReport(ctx.out, push ? Object.assign(report, { push }) : report);
  // Interrupted: exit as the signal says (130 SIGINT, 143 SIGTERM), after the rollback.
  process.exitCode = report.outcome === 'interrupted-rolled-back' && typeof ctx.signal.reason === 'number' ? ctx.signal.reason : report.exitCode;
}
