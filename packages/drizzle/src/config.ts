import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LifeboatError } from '@lifeboat/core';
import { type ConnectionParts, flagValue, loadToolConfig, partsUrl } from '@lifeboat/core/adapter';

/** What Lifeboat reads from drizzle.config.*, with drizzle-kit's defaults applied. */
export interface DrizzleConfig {
  file: string;
  /** The migrations folder (`out`), absolute: drizzle-kit reads it relative to the working folder. */
  out: string;
  migrationsTable: string;
  migrationsSchema: string;
  /** The database drizzle-kit migrates; undefined when the config gives none (an unset variable). */
  url: string | undefined;
  /** Which setting the URL comes from, for messages: "dbCredentials.url", "dbCredentials (host, database, …)". */
  urlSetting: string;
  /** Environment variables whose value is the config's `url` once the config ran (it reads one of them). */
  urlVariables: string[];
}

/** drizzle-kit's own choice: --config, else drizzle.config.ts, then .js, then .json in the working folder. */
export function configFile(cwd: string, args: string[]): string {
  const given = flagValue(args, '--config');
  if (given) {
    const file = resolve(cwd, given);
    if (!existsSync(file)) throw new LifeboatError('CONFIG_INVALID', `The drizzle config ${file} does not exist.`, { hint: 'Check the path given to --config.' });
    return file;
  }
  const found = defaultConfigFile(cwd);
  if (!found) {
    throw new LifeboatError('CONFIG_INVALID', `No drizzle config in ${cwd} (drizzle-kit looks for ${CONFIG_NAMES.join(', ')}).`, {
      hint: 'Run Lifeboat from the project folder, or pass --config after "drizzle-kit migrate" as you would to drizzle-kit.',
    });
  }
  return found;
}

const CONFIG_NAMES = ['drizzle.config.ts', 'drizzle.config.js', 'drizzle.config.json'];

/** The config drizzle-kit finds in `cwd` without --config; undefined when there is none. */
export function defaultConfigFile(cwd: string): string | undefined {
  return CONFIG_NAMES.map((name) => join(cwd, name)).find((file) => existsSync(file));
}

/**
 * The config as drizzle-kit's `migrate` sees it with this environment: dialect (must
 * be postgresql), out, migrations.table and .schema, and the database.
 */
export async function loadDrizzleConfig(file: string, cwd: string, env: NodeJS.ProcessEnv): Promise<DrizzleConfig> {
  const { exported, envAfter } = await loadToolConfig(file, {
    env,
    hint: 'Fix the error in the file; drizzle-kit needs it to export the config as its default export.',
  });
  const config = (exported ?? {}) as Record<string, unknown>;
  if (config.dialect !== 'postgresql') {
    throw new LifeboatError('CONFIG_INVALID', `${file} has dialect ${JSON.stringify(config.dialect ?? null)}; Lifeboat protects PostgreSQL databases only.`, {
      hint: "Lifeboat guards drizzle-kit migrate for dialect: 'postgresql'.",
    });
  }
  // drizzle-kit spreads dbCredentials over the config (flattenDatabaseCredentials) and takes
  // host/database over url when both are there (its postgresCredentials union tries them first).
  const flat = typeof config.dbCredentials === 'object' && config.dbCredentials !== null ? { ...config, ...(config.dbCredentials as object) } : config;
  const credentials = flat as ConnectionParts & { url?: unknown; driver?: unknown };
  if (credentials.driver !== undefined) {
    throw new LifeboatError('CONFIG_INVALID', `${file} uses driver "${String(credentials.driver)}"; Lifeboat can only snapshot a PostgreSQL server it connects to.`, {
      hint: 'Guard this migration with a config that connects to the server (dbCredentials.url), or use `lifeboat run`.',
    });
  }
  const byParts = typeof credentials.host === 'string' && credentials.host !== '' && typeof credentials.database === 'string' && credentials.database !== '';
  const url = byParts ? partsUrl(credentials) : typeof credentials.url === 'string' && credentials.url !== '' ? credentials.url : undefined;
  const migrations = (config.migrations ?? {}) as { table?: string; schema?: string };
  return {
    file,
    out: resolve(cwd, typeof config.out === 'string' ? config.out : 'drizzle'),
    migrationsTable: migrations.table ?? '__drizzle_migrations',
    migrationsSchema: migrations.schema ?? 'drizzle',
    url,
    urlSetting: byParts ? 'dbCredentials (host, port, user, password, database)' : 'dbCredentials.url',
    urlVariables: byParts || url === undefined ? [] : Object.keys(envAfter).filter((name) => envAfter[name] === url),
  };
}
