import { Command } from 'commander';
import { parseDatabaseUrl } from '../../db/target.js';
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
      const ctx = await contextOf(cmd, { interrupted: 'handled', askTools: false });
      const adapter = await loadCliAdapter(tool, ctx.cwd);
      const prepared = await adapter.prepare({ args, cwd: ctx.cwd, env: process.env, choose: ctx.choose });
      if (prepared.mode === 'pass-through' || prepared.mode === 'unknown') {
        // Changes no database (prisma generate, knex migrate:status), or Lifeboat does not know what it changes: run it as it is.
        if (prepared.mode === 'unknown') ctx.out.note(`lifeboat: \`${tool} ${prepared.subcommand}\` is not guarded (Lifeboat does not know what it changes): no snapshot, running it as it is`);
        const outcome = await prepared.run.run({ signal: ctx.signal, output: ctx.out.json ? 'stderr' : 'inherit' });
        process.exitCode = outcome.exitCode;
        return;
      }
      ctx.out.note(`lifeboat: database from ${prepared.database.source}`);
      await deploy(ctx, prepared.database.url, prepared.run, prepared.adapter, prepared.mode === 'destructive');
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

async function deploy(ctx: CommandContext, url: string | undefined, run: MigrationRun, adapter: MigrationAdapter | undefined, destructive = false): Promise<void> {
  const target = url === undefined ? ctx.target() : parseDatabaseUrl(url);
  const report = await guardedDeploy({
    target,
    store: ctx.store,
    settings: ctx.settings,
    ...(adapter ? { adapter } : {}),
    ...(destructive ? { destructive } : {}),
    run,
    output: ctx.out.json ? 'stderr' : 'inherit',
    onNotice: (message) => ctx.out.note(`lifeboat: ${message}`),
    progress: () => progressOnTty(!ctx.out.json),
    signal: ctx.signal,
  });
  // remote.push 'always': the snapshot goes off-site after the deploy (the lock is released); a failed push changes no outcome.
  const taken = report.snapshot && !ctx.signal.aborted ? await findSnapshot(ctx.store, report.snapshot.id).catch(() => undefined) : undefined;
  const push = taken ? await pushIfConfigured({ settings: ctx.settings, store: ctx.store, manifest: taken, target, onNotice: (m) => ctx.out.note(`lifeboat: ${m}`), signal: ctx.signal }) : undefined;
  // The whole command, from the process's start: Node, the CLI, the config and the adapter count too.
  report.timings.commandMs = Math.round(performance.now());
  printDeployReport(ctx.out, push ? Object.assign(report, { push }) : report);
  // Interrupted: exit as the signal says (130 SIGINT, 143 SIGTERM), after the rollback.
  const interrupted = report.outcome === 'interrupted-rolled-back' || (report.outcome === 'destructive-failed' && ctx.signal.aborted);
  process.exitCode = interrupted && typeof ctx.signal.reason === 'number' ? ctx.signal.reason : report.exitCode;
}
