import { LifeboatError } from '@lifeboat/core';
import { anotherDatabaseError, type ChosenDatabase, sameDatabase, type ToolDatabase } from '@lifeboat/core/adapter';
import type { DrizzleConfig } from './config.js';

export interface ResolvedDatabase {
  /** The database drizzle-kit will work on, chosen by Lifeboat's rule. */
  database: ChosenDatabase;
  /** Environment for the drizzle-kit process, so that it works on the database Lifeboat protects. */
  env: Record<string, string>;
  /** The config as drizzle-kit will read it with `env`. */
  config: DrizzleConfig;
}

/** The config evaluated with these variables set on top of the environment. */
export type ConfigLoader = (variables: Record<string, string>) => Promise<DrizzleConfig>;

/** What drizzle.config.* names, as a tool's answer to Lifeboat's rule. */
export function drizzleToolDatabase(config: DrizzleConfig): ToolDatabase {
  const setting = `${config.urlSetting} in ${config.file}`;
  const source = config.urlVariables.length > 0 ? `${config.urlVariables.join(' and ')} (read by ${setting})` : config.url ? setting : `${setting} (not set)`;
  return { tool: 'drizzle-kit', url: config.url, source, bookkeeping: [`${config.migrationsSchema}.${config.migrationsTable}`] };
}

/**
 * The database drizzle-kit will work on, by Lifeboat's rule (`choose`) over what the config
 * names as drizzle-kit reads it. When the rule chose another source (--database-url,
 * lifeboat.config, DATABASE_URL for a config whose variable is not set), drizzle-kit is
 * pointed at it through the variables the config's `dbCredentials.url` comes from,
 * confirmed by running the config again with them set. Where that does not give the same
 * database (a fixed URL, host/port parts), it is refused rather than migrate one database
 * and snapshot another.
 */
export async function resolveDatabase(load: ConfigLoader, choose: (tool: ToolDatabase) => ChosenDatabase | undefined): Promise<ResolvedDatabase> {
  const config = await load({});
  const tool = drizzleToolDatabase(config);
  const database = choose(tool);
  if (!database) {
    throw new LifeboatError('URL_INVALID', `No database: ${tool.source} names none, and none was given.`, {
      hint: 'Set the variable the config reads (DATABASE_URL), or pass --database-url before "drizzle-kit".',
    });
  }
  // Every variable the URL came from gets it, so drizzle-kit's own run reads the same.
  const pointed = Object.fromEntries(config.urlVariables.map((name) => [name, database.url]));
  if (database.origin === 'tool' || (config.url && sameDatabase(config.url, database.url))) return { database, env: pointed, config };
  if (config.urlSetting === 'dbCredentials.url') {
    // The variables holding the config's URL; with none (an unset variable), the usual one.
    const names = config.urlVariables.length > 0 ? config.urlVariables : ['DATABASE_URL'];
    const variables = Object.fromEntries(names.map((name) => [name, database.url]));
    const again = await load(variables);
    if (again.url && sameDatabase(again.url, database.url)) {
      const passed = names.filter((n) => !(database.origin === 'environment' && n === 'DATABASE_URL'));
      return {
        database: { ...database, source: passed.length > 0 ? `${database.source}, also given to drizzle-kit as ${passed.join(' and ')}` : database.source },
        env: variables,
        config: again,
      };
    }
  }
  throw anotherDatabaseError(database, tool, `Make them agree (for example dbCredentials: { url: process.env.DATABASE_URL! } and set DATABASE_URL), or drop ${database.source}.`);
}
