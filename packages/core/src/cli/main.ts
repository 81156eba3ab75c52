#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { setDebugSink } from '../debug.js';
import { ERROR_CODES, LifeboatError } from '../errors.js';
import { redact } from '../secrets.js';
import { LIFEBOAT_VERSION } from '../version.js';
import { ADAPTER_PACKAGES } from './adapters.js';
import { checkCommand } from './commands/check.js';
import { classifyCommand } from './commands/classify.js';
import { drillCommand } from './commands/drill.js';
import { initCommand } from './commands/init.js';
import { rollbackCommand } from './commands/rollback.js';
import { runbookCommand } from './commands/runbook.js';
import { statusCommand } from './commands/status.js';
import { runCommand, toolCommand } from './commands/deploy.js';
import { planCommand } from './commands/plan.js';
import { listCommand } from './commands/list.js';
import { pruneCommand } from './commands/prune.js';
import { pushCommand } from './commands/push.js';
import { recoverCommand } from './commands/recover.js';
import { reapplyCommand } from './commands/reapply.js';
import { rehearseCommand } from './commands/rehearse.js';
import { restoreCommand } from './commands/restore.js';
import { snapshotCommand } from './commands/snapshot.js';
import { verifyCommand } from './commands/verify.js';
import { interruption, withGlobalOptions } from './context.js';
import { hasWrittenDocument, tolerateClosedOutput, writeTo } from './output.js';

tolerateClosedOutput();
const argv = process.argv.slice(2);
const wantsJson = argv.includes('--json');
const wantsDebug = argv.includes('--debug');
if (wantsDebug) setDebugSink((line) => writeTo(process.stderr, `debug: ${line}\n`));

/** Options of a guarded deploy; before the tool's name (`lifeboat --no-rollback prisma migrate deploy`). */
function withDeployOptions(command: Command): Command {
  return command
    .addOption(new Option('--strategy <name>', 'snapshot strategy: auto, dump or clone (default: config, else auto)').choices(['auto', 'dump', 'clone']))
    .option('--no-rollback', "on failure, leave the database as the migration left it (the snapshot is kept); config: onFailure: 'keep'")
    .option('--allow-data-loss', 'let data-preservation findings pass (dropped tables, lost rows, dropped columns)')
    .option('--no-plan', 'deploy without `lifeboat plan` first (config: plan.enabled)')
    .option('--show-values', "show the plan's pre-check example values unmasked");
}

const program = withDeployOptions(
  withGlobalOptions(new Command('lifeboat'))
    .description('Recoverable PostgreSQL migrations: snapshots, verified restores, guarded deploys.')
    .version(LIFEBOAT_VERSION, '-v, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(run `lifeboat --help` for usage)')
    .exitOverride()
    .configureOutput({ outputError: () => {} }),
);

const commands = [
  ...[
    initCommand(),
    snapshotCommand(),
    listCommand(),
    verifyCommand(),
    pushCommand(),
    restoreCommand(),
    rollbackCommand(),
    recoverCommand(),
    reapplyCommand(),
    drillCommand(),
    rehearseCommand(),
    checkCommand(),
    planCommand(),
    pruneCommand(),
    statusCommand(),
    classifyCommand(),
    runbookCommand(),
  ].map(withGlobalOptions),
  withDeployOptions(withGlobalOptions(runCommand())),
  ...Object.keys(ADAPTER_PACKAGES).map(toolCommand),
];
for (const command of commands) program.addCommand(command.exitOverride().configureOutput({ outputError: () => {} }));

// First Ctrl-C / SIGTERM: stop the running tool and clean up. A second does not cut a cleanup short.
let signals = 0;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    signals++;
    process.exitCode = code;
    if (signals === 1) {
      writeTo(process.stderr, `\nlifeboat: ${signal} received, stopping and cleaning up (nothing half-made is kept)…\n`);
      interruption.abort(code);
    } else {
      writeTo(process.stderr, `lifeboat: still cleaning up, please wait.\n`);
    }
  });
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return 0;
    const message = error.message.replace(/^error: /, '');
    return fail('USAGE', message, 'Run `lifeboat --help` for usage.', error);
  }
  if (error instanceof LifeboatError) return fail(error.code, error.message, error.hint, error);
  const message = error instanceof Error ? error.message : String(error);
  return fail('INTERNAL', `Unexpected error: ${message}`, 'Rerun with --debug for details, and report it if it persists.', error);
}

function fail(code: keyof typeof ERROR_CODES, message: string, hint: string | undefined, error: unknown): number {
  const interrupted = interruption.signal.aborted ? (interruption.signal.reason as number) : undefined;
  if (wantsJson && !hasWrittenDocument()) {
    writeTo(process.stdout, `${redact(JSON.stringify({ ok: false, error: { code, message, hint: hint ?? null } }, null, 2))}\n`);
  }
  writeTo(process.stderr, redact(`lifeboat: ${message}${hint ? `\n  → ${hint}` : ''}\n`));
  if (wantsDebug && error instanceof Error) writeTo(process.stderr, `${redact(describeStack(error))}\n`);
  // An interrupted run exits as interrupted (130 / 143), whatever error the interruption caused.
  return interrupted ?? ERROR_CODES[code].exit;
}

function describeStack(error: Error): string {
  let text = error.stack ?? error.message;
  let cause = error.cause;
  while (cause instanceof Error) {
    text += `\ncaused by: ${cause.stack ?? cause.message}`;
    cause = cause.cause;
  }
  return text;
}
