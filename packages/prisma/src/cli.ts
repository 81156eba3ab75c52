import type { CliAdapter, PreparedCommand } from '@lifeboat/core/adapter';
import { prismaMigrations } from './adapter.js';
import { migrationsSchema, prismaToolDatabase, resolveDatabase } from './datasource.js';
import { findPrismaCli, locateProject, projectIn } from './project.js';

/** What reaches the tool's sessions (the deploy's notice): its schema engine's reading of the environment. */
const SESSION_REACH =
  "Prisma's JavaScript schema engine over @prisma/adapter-pg (node-postgres) reads PGOPTIONS and PGAPPNAME; the native schema engine reads neither: add options=-c%20lock_timeout%3D5000 to its URL";

/** What a `prisma …` command line is: its first word, and the second for `migrate` and `db`. */
function subcommandOf(args: string[]): string {
  const words = args.filter((a) => !a.startsWith('-'));
  return ['migrate', 'db'].includes(words[0] ?? '') ? words.slice(0, 2).join(' ') : (words[0] ?? '');
}

/** Commands that change or wipe the schema on purpose: a restore point first, no automatic rollback. */
const DESTRUCTIVE = new Set(['db push', 'migrate reset']);
/** Commands that change no database (they read it at most, or write files). */
const PASS_THROUGH = new Set(['', 'generate', 'validate', 'format', 'version', 'init', 'debug', 'migrate status', 'migrate diff', 'db pull']);

/**
 * `lifeboat prisma …`: `migrate deploy` is a guarded deploy; `db push` and `migrate reset`
 * leave a restore point first; subcommands that change nothing run as they are, and any
 * other says it is not guarded. Arguments are passed on untouched.
 */
export const cliAdapter: CliAdapter = {
  tool: 'prisma',
  migrateArgs: ['migrate', 'deploy'],
  async configuredDatabase({ cwd, env }) {
    const project = await projectIn(cwd);
    return project ? prismaToolDatabase(project, env) : undefined;
  },
  async prepare({ args, cwd, env, choose }): Promise<PreparedCommand> {
    const cli = findPrismaCli(cwd);
    const subcommand = subcommandOf(args);
    const guarded = subcommand === 'migrate deploy' || DESTRUCTIVE.has(subcommand);
    if (!guarded) {
      const run = cli.run(args, { cwd });
      return PASS_THROUGH.has(subcommand) ? { mode: 'pass-through', run } : { mode: 'unknown', subcommand, run };
    }
    const project = await locateProject(cwd, args);
    const { database, env: prismaEnv } = resolveDatabase(project, env, choose);
    const adapter = prismaMigrations(project.migrationsDir, migrationsSchema(database.url));
    const run = Object.assign(cli.run(args, { cwd, env: prismaEnv }), { sessionReach: SESSION_REACH });
    if (subcommand === 'migrate deploy') {
      // Another database (a rehearsal's scratch copy): through the variables the datasource reads, as for any other source.
      const runOn = async (url: string) => {
        const on = resolveDatabase(project, env, () => ({ url, origin: 'flag', source: 'the scratch database' }));
        return { run: Object.assign(cli.run(args, { cwd, env: on.env }), { sessionReach: SESSION_REACH }), adapter: prismaMigrations(project.migrationsDir, migrationsSchema(url)) };
      };
      return { mode: 'migrate', database, adapter, run, runOn };
    }
    // `migrate reset` re-applies the migrations: the adapter says which were applied before and after. `db push` keeps no migrations.
    return { mode: 'destructive', database, ...(subcommand === 'migrate reset' ? { adapter } : {}), run };
  },
};
