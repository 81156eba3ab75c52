import { type Command, Option } from 'commander';
import { type ChosenDatabase, chooseDatabase, type DatabaseInputs, resolveDatabase, type ToolDatabase } from '../config/database.js';
import { loadConfig } from '../config/load.js';
import { resolveSettings, type Settings } from '../config/resolve.js';
import { type DatabaseTarget, parseDatabaseUrl } from '../db/target.js';
import type { StrategyName } from '../strategies/choose.js';
import { openStore, type Store } from '../store/store.js';
import { interruptedOperations } from '../recovery/interrupted.js';
import { LifeboatError } from '../errors.js';
import { toolDatabases } from './adapters.js';
import { createOutput, type Output } from './output.js';

/** The options every command takes, before or after its name. */
export interface GlobalOptions {
  databaseUrl?: string;
  store?: string;
  config?: string;
  json: boolean;
  yes: boolean;
  debug: boolean;
}

/** Add the global options to a command (without defaults: the program's values show through). */
export function withGlobalOptions(command: Command): Command {
  return command
    .addOption(new Option('--database-url <url>', "the database (default: lifeboat.config's databaseUrl, then the migrate tool's own config here, then $DATABASE_URL)"))
    .option('--store <dir>', 'the snapshot store folder (default: .lifeboat beside the config)')
    .option('--config <file>', 'the config file (default: lifeboat.config.{ts,mts,js,mjs,json} here)')
    .option('--json', 'print one JSON document on stdout instead of text')
    .option('--yes', 'confirm destructive commands without a prompt (required without a TTY)')
    .option('--debug', 'print what runs, and stack traces on errors');
}

export interface CommandContext {
  options: GlobalOptions;
  settings: Settings;
  out: Output;
  store: Store;
  cwd: string;
  /** The database by the one rule (chooseDatabase), and where it came from; undefined when nothing names one. */
  database: ChosenDatabase | undefined;
  /** The same URL and source (for commands written before `database`). */
  databaseUrl: string | undefined;
  databaseUrlSource: string;
  /** The rule with what Lifeboat was given, for a tool's adapter to apply to what the tool's config names. */
  choose(tool: ToolDatabase): ChosenDatabase | undefined;
  /** The database; throws a clear error when none was given. */
  target(): DatabaseTarget;
  /** The same, or undefined when none was given. */
  maybeTarget(): DatabaseTarget | undefined;
  /** Aborted on Ctrl-C / SIGTERM: running tools stop and clean up. */
  signal: AbortSignal;
}

/** Aborted on the first Ctrl-C / SIGTERM (see main.ts), with the exit code (130 / 143) as its reason. */
export const interruption = new AbortController();

/**
 * Option values of `command` and its parents: a value the user gave wins over a
 * default (commander gives `--no-rollback` a default of true on every command that has it).
 */
function mergedOptions(command: Command): Record<string, unknown> {
  const chain: Command[] = [];
  for (let c: Command | null = command; c; c = c.parent) chain.unshift(c);
  const given: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = {};
  for (const c of chain) {
    for (const [key, value] of Object.entries(c.opts())) {
      if (value === undefined) continue;
      if (c.getOptionValueSource(key) === 'default') defaults[key] = value;
      else given[key] = value;
    }
  }
  return { ...defaults, ...given };
}

/**
 * The command's context. Commands that change a database refuse under their lock when an
 * earlier operation was interrupted, and `status` / `recover` report it: they say
 * `interrupted: 'handled'`. Every other command warns on stderr and goes on.
 */
export async function contextOf(command: Command, options_: { interrupted?: 'warn' | 'handled'; askTools?: boolean } = {}): Promise<CommandContext> {
  const raw = mergedOptions(command);
  const options: GlobalOptions = {
    ...(raw.databaseUrl !== undefined ? { databaseUrl: String(raw.databaseUrl) } : {}),
    ...(raw.store !== undefined ? { store: String(raw.store) } : {}),
    ...(raw.config !== undefined ? { config: String(raw.config) } : {}),
    json: raw.json === true,
    yes: raw.yes === true,
    debug: raw.debug === true,
  };
  const cwd = process.cwd();
  const loaded = await loadConfig(cwd, options.config);
  const settings = resolveSettings(
    loaded,
    {
      store: options.store,
      strategy: raw.strategy as StrategyName | undefined,
      rollback: raw.rollback as boolean | undefined,
      allowDataLoss: raw.allowDataLoss as boolean | undefined,
      plan: raw.plan as boolean | undefined,
      showValues: raw.showValues as boolean | undefined,
      rehearse: raw.rehearse as boolean | undefined,
      // prune's retention flags (drill's --keep is a boolean, not a count).
      ...(typeof raw.keep === 'number' ? { keep: raw.keep } : {}),
      ...(typeof raw.maxAge === 'number' ? { maxAgeDays: raw.maxAge } : {}),
      ...(typeof raw.keepDaily === 'number' ? { daily: raw.keepDaily } : {}),
      ...(typeof raw.keepWeekly === 'number' ? { weekly: raw.keepWeekly } : {}),
      ...(typeof raw.keepMonthly === 'number' ? { monthly: raw.keepMonthly } : {}),
      ...(typeof raw.keepOnServer === 'number' ? { keepOnServer: raw.keepOnServer } : {}),
    },
    cwd,
  );
  const inputs: DatabaseInputs = { flag: options.databaseUrl, config: { url: settings.databaseUrl, file: loaded.file }, env: process.env };
  // `lifeboat <tool> …` applies the rule in its adapter (`choose`), with that tool's arguments;
  // every other command asks the installed adapters what their tools' configs here name.
  let chosen: ChosenDatabase | undefined;
  let unresolved: unknown;
  try {
    chosen = options_.askTools === false ? chooseDatabase(inputs, []) : await resolveDatabase(inputs, () => toolDatabases(cwd, process.env));
  } catch (error) {
    unresolved = error;
  }
  const out = createOutput(options.json);
  let parsed: DatabaseTarget | undefined;
  const maybeTarget = (): DatabaseTarget | undefined => {
    if (unresolved) throw unresolved;
    if (!chosen) return undefined;
    if (!parsed && chosen.origin === 'tool') out.note(`lifeboat: database from ${chosen.source}`);
    return (parsed ??= parseDatabaseUrl(chosen.url));
  };
  const target = (): DatabaseTarget => {
    const found = maybeTarget();
    if (found) return found;
    throw new LifeboatError(
      'URL_INVALID',
      "No database URL: none was given (--database-url, lifeboat.config's databaseUrl, DATABASE_URL), and no migrate tool's configuration in this folder names one.",
      {
        hint: 'Run Lifeboat from the project folder (where the knexfile, drizzle.config.ts or the Prisma schema is), pass --database-url, or set DATABASE_URL.',
      },
    );
  };
  const store = openStore(settings.store, settings.encryption);
  if (options_.interrupted !== 'handled') {
    let database: string | undefined;
    try {
      database = maybeTarget()?.database;
    } catch {
      // A malformed URL is the command's to report, if it needs one.
    }
    for (const found of await interruptedOperations(store, database)) {
      out.note(`lifeboat: warning: ${found.state}. Run \`lifeboat recover\`: it will ${found.plan}.`);
    }
  }
  return {
    options,
    settings,
    out,
    store,
    cwd,
    database: chosen,
    databaseUrl: chosen?.url,
    databaseUrlSource: chosen?.source ?? '',
    choose: (tool) => chooseDatabase(inputs, [tool]),
    target,
    maybeTarget,
    signal: interruption.signal,
  };
}
