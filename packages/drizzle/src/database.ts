import { display, LifeboatError, sameDatabase } from '@lifeboat/core';
import type { DrizzleConfig } from './config.js';

export interface ResolvedDatabase {
  /** The URL drizzle-kit migrate will use. */
  url: string | undefined;
  /** Where it came from, for messages. */
  source: string;
  /** Environment for the drizzle-kit process, so that it migrates the database Lifeboat protects. */
  env: Record<string, string>;
  /** The config as drizzle-kit will read it with `env`. */
  config: DrizzleConfig;
}

/** The config evaluated with these variables set on top of the environment. */
export type ConfigLoader = (variables: Record<string, string>) => Promise<DrizzleConfig>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The database drizzle-kit migrate will migrate, read from the config as drizzle-kit reads
 * it. `override` (--database-url, lifeboat.config, DATABASE_URL) wins, and drizzle-kit is
 * pointed at it too: through the variables the config's `dbCredentials.url` comes from,
 * confirmed by running the config again with them set. Where that does not give the same
 * database (a fixed URL, host/port parts), a different override is refused rather than
 * migrate one database and snapshot another.
 */
export async function resolveDatabase(load: ConfigLoader, override: string | undefined, overrideSource = 'the URL given to Lifeboat'): Promise<ResolvedDatabase> {
  const config = await load({});
  const setting = `${config.urlSetting} in ${config.file}`;
  const from = config.urlVariables.length > 0 ? `${config.urlVariables.join(' and ')} (read by ${setting})` : setting;
  if (!override) return { url: config.url, source: config.url ? from : `${setting} is not set`, env: {}, config };

  if (config.url && sameDatabase(config.url, override)) {
    return { url: override, source: overrideSource, env: Object.fromEntries(config.urlVariables.map((name) => [name, override])), config };
  }
  if (config.urlSetting === 'dbCredentials.url') {
    // The variables holding the config's URL; with none (an unset variable), the usual one.
    const names = config.urlVariables.length > 0 ? config.urlVariables : [...new Set([overrideSource, 'DATABASE_URL'])].filter((n) => ENV_NAME.test(n));
    const variables = Object.fromEntries(names.map((name) => [name, override]));
    const again = await load(variables);
    if (again.url && sameDatabase(again.url, override)) {
      const passed = names.filter((n) => n !== overrideSource);
      return {
        url: override,
        source: passed.length > 0 ? `${overrideSource}, also given to drizzle-kit as ${passed.join(' and ')}` : overrideSource,
        env: variables,
        config: again,
      };
    }
  }
  throw new LifeboatError(
    'URL_INVALID',
    `The database given to Lifeboat is not the one ${setting} names (${config.url ? display(config.url) : 'none'}); drizzle-kit would migrate the other one.`,
    { hint: 'Make them agree (for example dbCredentials: { url: process.env.DATABASE_URL! } and set DATABASE_URL), or drop --database-url.' },
  );
}
