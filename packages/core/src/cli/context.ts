import type { Command } from 'commander';
import { type DatabaseTarget, parseDatabaseUrl } from '../db/target.js';
import { openStore, type Store } from '../store/store.js';
import { createOutput, type Output } from './output.js';

/** The global options every command takes. */
export interface GlobalOptions {
  databaseUrl?: string;
  store: string;
  json: boolean;
  yes: boolean;
  debug: boolean;
}

export interface CommandContext {
  options: GlobalOptions;
  out: Output;
  store: Store;
  /** The database from --database-url or DATABASE_URL; throws a clear error when absent. */
  target(): DatabaseTarget;
  /** The same, or undefined when none was given. */
  maybeTarget(): DatabaseTarget | undefined;
  /** Aborted on Ctrl-C / SIGTERM: running tools stop and clean up. */
  signal: AbortSignal;
}

/** Aborted on the first Ctrl-C / SIGTERM (see main.ts). */
export const interruption = new AbortController();

export function contextOf(command: Command): CommandContext {
  const signal = interruption.signal;
  const options = command.optsWithGlobals<GlobalOptions>();
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  let parsed: DatabaseTarget | undefined;
  const target = () => (parsed ??= parseDatabaseUrl(url));
  return {
    options,
    out: createOutput(options.json),
    store: openStore(options.store),
    target,
    maybeTarget: () => (url === undefined || url.trim() === '' ? undefined : target()),
    signal,
  };
}
