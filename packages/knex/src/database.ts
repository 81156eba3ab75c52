import { LifeboatError } from '@lifeboat/core';
import { anotherDatabaseError, type ChosenDatabase, sameDatabase, type ToolDatabase } from '@lifeboat/core/adapter';
import type { Knex } from 'knex';
import { connectionUrl } from './connection.js';
import { type KnexCliOptions, loadKnexConfig } from './knexfile.js';

export interface KnexDatabase {
  /** The database knex will migrate, chosen by Lifeboat's rule. */
  database: ChosenDatabase;
  /** The config knex will use, with that database. */
  config: Knex.Config;
  /** Environment for the knex CLI so that it migrates the database Lifeboat protects. */
  env: Record<string, string>;
}

/** What the knexfile's environment names, as a tool's answer to Lifeboat's rule. */
export function knexToolDatabase(file: string, options: KnexCliOptions, config: Knex.Config): ToolDatabase {
  const migrations = config.migrations ?? {};
  const table = migrations.tableName ?? 'knex_migrations';
  const schema = migrations.schemaName ?? 'public';
  return {
    tool: 'knex',
    url: namesNone(config.connection) ? undefined : connectionUrl(config.connection, file),
    source: `the "${options.env}" connection in ${file}`,
    bookkeeping: [`${schema}.${table}`, `${schema}.${table}_lock`],
  };
}

/** A connection that reads a variable that is not set: `process.env.DATABASE_URL`, `{ connectionString: process.env.X }`. */
function namesNone(connection: unknown): boolean {
  if (connection === undefined || connection === null || connection === '') return true;
  if (typeof connection !== 'object') return false;
  const c = connection as { connectionString?: unknown; database?: unknown; host?: unknown };
  return (c.connectionString === undefined || c.connectionString === '') && c.database === undefined && c.host === undefined;
}

/**
 * The database of a guarded knex command, by Lifeboat's rule (`choose`). When the rule
 * chose another source than the knexfile (--database-url, lifeboat.config, DATABASE_URL
 * for a knexfile that names none), the knex CLI must migrate that one too: the knexfile is
 * read again with DATABASE_URL set to it, and if that is how it picks its database, the CLI
 * gets the same. Otherwise the command is refused (passing --connection would put the
 * password on the command line).
 */
export async function resolveKnexDatabase(file: string, options: KnexCliOptions, choose: (tool: ToolDatabase) => ChosenDatabase | undefined): Promise<KnexDatabase> {
  const config = await loadKnexConfig(file, options);
  const tool = knexToolDatabase(file, options, config);
  const database = choose(tool);
  if (!database) {
    throw new LifeboatError('URL_INVALID', `No database: ${tool.source} names none, and none was given.`, {
      hint: 'Set DATABASE_URL (if the knexfile reads it), or pass --database-url before "knex".',
    });
  }
  if (database.origin === 'tool' || (tool.url !== undefined && sameDatabase(tool.url, database.url))) return { database, config, env: {} };
  const again = await loadKnexConfig(file, options, { ...process.env, DATABASE_URL: database.url });
  const url = knexToolDatabase(file, options, again).url;
  if (url !== undefined && sameDatabase(url, database.url)) {
    return { database: { ...database, source: `${database.source}, given to knex as DATABASE_URL` }, config: again, env: { DATABASE_URL: database.url } };
  }
  throw anotherDatabaseError(database, tool, `Make the knexfile's connection read process.env.DATABASE_URL, or drop ${database.source}.`);
}
