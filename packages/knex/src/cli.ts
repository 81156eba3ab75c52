import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CliAdapter, commandRun, type PreparedCommand } from '@lifeboat/core';
import type { Knex } from 'knex';
import { knexMigrations, type ListMigrations } from './adapter.js';
import { resolveKnexDatabase } from './database.js';
import { findKnex, findKnexfile, readCliOptions } from './knexfile.js';

const GUARDED = new Set(['migrate:latest', 'migrate:up']);

/**
 * `lifeboat knex …`: `migrate:latest` and `migrate:up` are guarded; any other knex
 * subcommand runs the project's own knex as it is. Arguments are passed on untouched.
 */
export const cliAdapter: CliAdapter = {
  tool: 'knex',
  async prepare({ args, cwd, env, databaseUrl, databaseUrlSource }): Promise<PreparedCommand> {
    const knex = findKnex(cwd);
    const run = (extraEnv: Record<string, string>) => commandRun(process.execPath, [knex.cli, ...args], { cwd, env: extraEnv, describe: `knex ${args.join(' ')}` });
    const subcommand = args.find((a) => /^(migrate|seed|init)/.test(a));
    if (!subcommand || !GUARDED.has(subcommand)) return { guarded: false, databaseUrl: undefined, databaseUrlSource: '', run: run({}) };

    const options = readCliOptions(args, cwd, env);
    const file = findKnexfile(options);
    const database = await resolveKnexDatabase(file, options, databaseUrl, databaseUrlSource);
    // Migration folders are relative to the knexfile's folder, where the knex CLI runs.
    const migrations = { ...database.config.migrations };
    const dirs = migrations.directory ?? './migrations';
    migrations.directory = (Array.isArray(dirs) ? dirs : [dirs]).map((d) => (isAbsolute(d) ? d : resolve(options.cwd, d)));
    const config: Knex.Config = { ...database.config, connection: database.url, migrations };
    const list: ListMigrations = async () => {
      const { default: createKnex } = (await import(pathToFileURL(knex.module).href)) as { default: (c: Knex.Config) => Knex };
      const instance = createKnex({ ...config, pool: { min: 0, max: 1 } });
      try {
        return await instance.migrate.list();
      } finally {
        await instance.destroy();
      }
    };
    return {
      guarded: true,
      databaseUrl: database.url,
      databaseUrlSource: database.source,
      adapter: knexMigrations(list, migrations),
      run: run(database.env),
    };
  },
};
