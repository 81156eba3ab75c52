import { type CliAdapter, commandRun, type PreparedCommand } from '@lifeboat/core';
import { drizzleMigrations } from './adapter.js';
import { configFile, loadDrizzleConfig } from './config.js';
import { resolveDatabase } from './database.js';
import { findDrizzleKit } from './kit.js';

/**
 * `lifeboat drizzle-kit …`: `migrate` is guarded; any other subcommand runs the
 * project's own drizzle-kit as it is. Arguments are passed on untouched.
 */
export const cliAdapter: CliAdapter = {
  tool: 'drizzle-kit',
  async prepare({ args, cwd, env, databaseUrl, databaseUrlSource }): Promise<PreparedCommand> {
    const kit = findDrizzleKit(cwd);
    const describe = `drizzle-kit ${args.join(' ')}`;
    if (args[0] !== 'migrate') {
      return { guarded: false, databaseUrl: undefined, databaseUrlSource: '', run: commandRun(process.execPath, [kit, ...args], { cwd, describe }) };
    }
    const file = configFile(cwd, args);
    const database = await resolveDatabase((variables) => loadDrizzleConfig(file, cwd, { ...env, ...variables }), databaseUrl, databaseUrlSource);
    const { config } = database;
    return {
      guarded: true,
      databaseUrl: database.url,
      databaseUrlSource: database.source,
      adapter: drizzleMigrations({ folder: config.out, table: config.migrationsTable, schema: config.migrationsSchema }),
      run: commandRun(process.execPath, [kit, ...args], { cwd, env: database.env, describe }),
    };
  },
};
