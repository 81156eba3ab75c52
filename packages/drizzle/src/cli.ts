import type { CliAdapter, PreparedCommand } from '@lifeboat/core/adapter';
import { drizzleMigrations } from './adapter.js';
import { configFile, defaultConfigFile, loadDrizzleConfig } from './config.js';
import { drizzleToolDatabase, resolveDatabase } from './database.js';
import { findDrizzleKit } from './kit.js';
import { replayFailure } from './replay.js';

/** What reaches the tool's sessions (the deploy's notice): its driver's reading of the environment. */
const SESSION_REACH = "drizzle-kit's pg driver reads PGOPTIONS and PGAPPNAME; with postgres.js (no pg installed) only the tag reaches it, and Lifeboat cancels a statement that waits past the timeout";

/** Subcommands that change no database (they read it at most, or write files). */
const PASS_THROUGH = new Set(['generate', 'check', 'up', 'drop', 'introspect', 'pull', 'export']);

/**
 * `lifeboat drizzle-kit …`: `migrate` is a guarded deploy; `push` (which alters the schema
 * to match the code, dropping what the code no longer has) leaves a restore point first;
 * subcommands that change nothing run as they are, and any other says it is not guarded.
 * Arguments are passed on untouched.
 */
export const cliAdapter: CliAdapter = {
  tool: 'drizzle-kit',
  migrateArgs: ['migrate'],
  async configuredDatabase({ cwd, env }) {
    const file = defaultConfigFile(cwd);
    return file ? drizzleToolDatabase(await loadDrizzleConfig(file, cwd, env)) : undefined;
  },
  async prepare({ args, cwd, env, choose }): Promise<PreparedCommand> {
    const kit = findDrizzleKit(cwd);
    const run = (extraEnv: Record<string, string>) => Object.assign(kit.run(args, { cwd, env: extraEnv }), { sessionReach: SESSION_REACH });
    const subcommand = args[0];
    // No subcommand: `drizzle-kit --help`, `drizzle-kit --version`.
    if (subcommand === undefined || subcommand.startsWith('-') || PASS_THROUGH.has(subcommand)) return { mode: 'pass-through', run: run({}) };
    if (subcommand !== 'migrate' && subcommand !== 'push') return { mode: 'unknown', subcommand, run: run({}) };

    const file = configFile(cwd, args);
    const { database, env: kitEnv, config } = await resolveDatabase((variables) => loadDrizzleConfig(file, cwd, { ...env, ...variables }), choose);
    if (subcommand === 'push') return { mode: 'destructive', database, run: run(kitEnv) };
    const adapterOf = (c: typeof config) => ({
      ...drizzleMigrations({ folder: c.out, table: c.migrationsTable, schema: c.migrationsSchema }),
      explainFailure: replayFailure(c.out),
    });
    const load = (variables: Record<string, string>) => loadDrizzleConfig(file, cwd, { ...env, ...variables });
    return {
      mode: 'migrate',
      database,
      adapter: adapterOf(config),
      run: run(kitEnv),
      // Another database (a rehearsal's scratch copy): through the variables dbCredentials.url comes from, as for any other source.
      async runOn(url) {
        const on = await resolveDatabase(load, () => ({ url, origin: 'flag', source: 'the scratch database' }));
        return { run: run(on.env), adapter: adapterOf(on.config) };
      },
    };
  },
};
