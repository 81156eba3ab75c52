import { type CliAdapter, commandRun, type PreparedCommand } from '@lifeboat/core';
import { prismaMigrations } from './adapter.js';
import { migrationsSchema, resolveDatabase } from './datasource.js';
import { findPrismaCli, locateProject } from './project.js';

/**
 * `lifeboat prisma …`: `migrate deploy` is guarded; any other subcommand runs the
 * project's own prisma as it is. Arguments are passed on untouched.
 */
export const cliAdapter: CliAdapter = {
  tool: 'prisma',
  async prepare({ args, cwd, env, databaseUrl, databaseUrlSource }): Promise<PreparedCommand> {
    const guarded = args[0] === 'migrate' && args[1] === 'deploy';
    if (!guarded) {
      const cli = findPrismaCli(cwd);
      return { guarded: false, databaseUrl: undefined, databaseUrlSource: '', run: commandRun(process.execPath, [cli, ...args], { cwd, describe: `prisma ${args.join(' ')}` }) };
    }
    const cli = findPrismaCli(cwd);
    const project = await locateProject(cwd, args);
    const database = resolveDatabase(project, databaseUrl, env, databaseUrlSource);
    return {
      guarded: true,
      databaseUrl: database.url,
      databaseUrlSource: database.source,
      adapter: prismaMigrations(project.migrationsDir, database.url ? migrationsSchema(database.url) : 'public'),
      run: commandRun(process.execPath, [cli, ...args], {
        cwd,
        env: database.env,
        describe: `prisma ${args.join(' ')}`,
      }),
    };
  },
};
