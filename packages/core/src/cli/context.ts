import { type Command, Option } from 'commander';
import { loadConfig } from '../config/load.js';
import { resolveSettings, type Settings } from '../config/resolve.js';
import { type DatabaseTarget, parseDatabaseUrl } from '../db/target.js';
import type { StrategyName } from '../strategies/choose.js';
import { openStore, type Store } from '../store/store.js';
import { interruptedOperations } from '../recovery/interrupted.js';
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
    .addOption(new Option('--database-url <url>', 'the database (default: lifeboat.config, then $DATABASE_URL)'))
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
  /** The URL Lifeboat was given (flag, config, DATABASE_URL), if any, and where it came from. */
  databaseUrl: string | undefined;
  databaseUrlSource: string;
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
export async function contextOf(command: Command, options_: { interrupted?: 'warn' | 'handled' } = {}): Promise<CommandContext> {
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
    },
    cwd,
  );
  const url = options.databaseUrl ?? settings.databaseUrl ?? process.env.DATABASE_URL;
  const databaseUrlSource = options.databaseUrl ? '--database-url' : settings.databaseUrl ? 'lifeboat.config' : 'DATABASE_URL';
  const given = url !== undefined && url.trim() !== '';
  let parsed: DatabaseTarget | undefined;
  const target = () => (parsed ??= parseDatabaseUrl(url));
  const out = createOutput(options.json);
  const store = openStore(settings.store);
  if (options_.interrupted !== 'handled') {
    let database: string | undefined;
    try {
      database = given ? target().database : undefined;
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
    databaseUrl: given ? url : undefined,
    databaseUrlSource,
    target,
    maybeTarget: () => (given ? target() : undefined),
    signal: interruption.signal,
  };
}
