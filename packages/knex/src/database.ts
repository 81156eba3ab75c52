import { LifeboatError } from '@lifeboat/core';
import type { Knex } from 'knex';
import { connectionUrl } from './connection.js';
import { loadKnexConfig, type KnexCliOptions } from './knexfile.js';

export interface KnexDatabase {
  /** The database knex will migrate. */
  url: string;
  source: string;
  /** The config knex will use, with that database. */
  config: Knex.Config;
  /** Environment for the knex CLI so that it migrates the database Lifeboat protects. */
  env: Record<string, string>;
}

/**
 * The database of the knexfile's environment. When Lifeboat was given another one, the
 * knex CLI must migrate that one too: the knexfile is read again with DATABASE_URL set to
 * it, and if that is how it picks its database, the CLI gets the same. Otherwise the
 * deploy is refused (passing --connection would put the password on the command line).
 */
export async function resolveKnexDatabase(file: string, options: KnexCliOptions, override: string | undefined, overrideSource = 'the URL given to Lifeboat'): Promise<KnexDatabase> {
  const config = await loadKnexConfig(file, options);
  const url = connectionUrl(config.connection, file);
  if (override === undefined || override === url) return { url, source: `the "${options.env}" connection in ${file}`, config, env: {} };
  const again = await withEnv({ DATABASE_URL: override }, () => loadKnexConfig(file, options));
  if (connectionUrl(again.connection, file) === override) {
    return { url: override, source: `${overrideSource}, given to knex as DATABASE_URL`, config: again, env: { DATABASE_URL: override } };
  }
  throw new LifeboatError('URL_INVALID', `The database given to Lifeboat (${overrideSource}) is not the one the knexfile's "${options.env}" connection names; knex would migrate the other one.`, {
    hint: 'Make the knexfile read process.env.DATABASE_URL, or drop --database-url / DATABASE_URL.',
  });
}

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
