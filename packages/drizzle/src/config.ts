import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LifeboatError } from '@lifeboat/core';
import type { DrizzleKit } from './kit.js';
import { type ConnectionParts, partsUrl } from './url.js';

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

/** What the config evaluates to, as the child process reports it. */
interface Evaluated {
  config: Record<string, unknown>;
  urlVariables: string[];
}

const MARKER = '__lifeboat_drizzle_config__';

/**
 * Runs the config the way drizzle-kit does (tsx's require hook, then `require(file)`),
 * in a child process: the config may load .env files or read variables, and Lifeboat
 * needs to run it with another environment to see where its URL comes from.
 */
const EVALUATE = `
const [tsxApi, file, marker] = process.argv.slice(1);
if (tsxApi) require(tsxApi).register();
const loaded = require(file);
const config = (loaded && loaded.default) || loaded || {};
const credentials = config.dbCredentials && typeof config.dbCredentials === 'object' ? config.dbCredentials : config;
const url = typeof credentials.url === 'string' && credentials.url !== '' ? credentials.url : undefined;
const urlVariables = url === undefined ? [] : Object.keys(process.env).filter((name) => process.env[name] === url);
const seen = new WeakSet();
const json = JSON.stringify({ config, urlVariables }, (key, value) => {
  if (typeof value === 'object' && value !== null) { if (seen.has(value)) return undefined; seen.add(value); }
  return typeof value === 'bigint' ? String(value) : value;
});
process.stdout.write('\\n' + marker + json + '\\n');
`;

/** drizzle-kit's own choice: --config, else drizzle.config.ts, then .js, then .json in the working folder. */
export function configFile(cwd: string, args: string[]): string {
  const at = args.findIndex((arg) => arg === '--config' || arg.startsWith('--config='));
  const given = at < 0 ? undefined : args[at]!.includes('=') ? args[at]!.slice('--config='.length) : args[at + 1];
  if (given) {
    const file = resolve(cwd, given);
    if (!existsSync(file)) throw new LifeboatError('CONFIG_INVALID', `The drizzle config ${file} does not exist.`, { hint: 'Check the path given to --config.' });
    return file;
  }
  const names = ['drizzle.config.ts', 'drizzle.config.js', 'drizzle.config.json'];
  const found = names.map((name) => join(cwd, name)).find((file) => existsSync(file));
  if (!found) {
    throw new LifeboatError('CONFIG_INVALID', `No drizzle config in ${cwd} (drizzle-kit looks for ${names.join(', ')}).`, {
      hint: 'Run Lifeboat from the project folder, or pass --config after "drizzle-kit migrate" as you would to drizzle-kit.',
    });
  }
  return found;
}

/**
 * The config as drizzle-kit's `migrate` sees it with this environment: dialect (must
 * be postgresql), out, migrations.table and .schema, and the database.
 */
export async function loadDrizzleConfig(file: string, cwd: string, env: NodeJS.ProcessEnv, kit: DrizzleKit): Promise<DrizzleConfig> {
  const { config, urlVariables } = await evaluate(file, cwd, env, kit);
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
  const migrations = (config.migrations ?? {}) as { table?: string; schema?: string };
  return {
    file,
    out: resolve(cwd, typeof config.out === 'string' ? config.out : 'drizzle'),
    migrationsTable: migrations.table ?? '__drizzle_migrations',
    migrationsSchema: migrations.schema ?? 'drizzle',
    url: byParts ? partsUrl(credentials) : typeof credentials.url === 'string' && credentials.url !== '' ? credentials.url : undefined,
    urlSetting: byParts ? 'dbCredentials (host, port, user, password, database)' : 'dbCredentials.url',
    urlVariables: byParts ? [] : urlVariables,
  };
}

async function evaluate(file: string, cwd: string, env: NodeJS.ProcessEnv, kit: DrizzleKit): Promise<Evaluated> {
  const args = ['-e', EVALUATE, kit.tsxApi ?? '', file, MARKER];
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, args, { cwd, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    const reason = stderr.split('\n').find((line) => /^\w*Error\b|^Error:/.test(line.trim())) ?? (error as Error).message.split('\n')[0];
    throw new LifeboatError('CONFIG_INVALID', `drizzle-kit could not load ${file}: ${reason?.trim()}`, {
      hint: 'Check that `npx drizzle-kit migrate` reads it; it must export the config as its default export.',
      cause: error,
    });
  }
  const line = stdout.split('\n').findLast((l) => l.startsWith(MARKER));
  if (!line) throw new LifeboatError('CONFIG_INVALID', `${file} did not evaluate to a config.`);
  return JSON.parse(line.slice(MARKER.length)) as Evaluated;
}
