import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CliAdapter, PreparedCommand } from '@lifeboat/core/adapter';
import type { Knex } from 'knex';
import { knexMigrations, type ListMigrations } from './adapter.js';
import { type CreateKnex, knexCapture } from './capture.js';
import { listFromFiles } from './migration-files.js';
import { knexToolDatabase, resolveKnexDatabase } from './database.js';
import { findKnex, findKnexfile, loadKnexConfig, nearestKnexfile, readCliOptions } from './knexfile.js';

/** What reaches the tool's sessions (the deploy's notice): its driver's reading of the environment. */
const SESSION_REACH = 'the knex CLI (node-postgres) reads PGOPTIONS and PGAPPNAME, unless its connection sets `options` itself';

/** Subcommands that apply migrations: the guarded deploy. */
const MIGRATE = new Set(['migrate:latest', 'migrate:up']);
/** Subcommands that run migrations' down(): a restore point first, no automatic rollback. */
const DESTRUCTIVE = new Set(['migrate:rollback', 'migrate:down']);
/** Subcommands that change no database. */
const PASS_THROUGH = new Set(['init', 'migrate:make', 'migrate:status', 'migrate:list', 'migrate:currentVersion', 'seed:make']);

/**
 * `lifeboat knex …`: `migrate:latest` and `migrate:up` are guarded deploys;
 * `migrate:rollback` and `migrate:down` leave a restore point first; subcommands that
 * change nothing run as they are, and any other says it is not guarded. Arguments are
 * passed on untouched.
 */
export const cliAdapter: CliAdapter = {
  tool: 'knex',
  migrateArgs: ['migrate:latest'],
  async configuredDatabase({ cwd, env }) {
    const options = readCliOptions([], cwd, env);
    const file = nearestKnexfile(options.cwd);
    return file ? knexToolDatabase(file, options, await loadKnexConfig(file, options)) : undefined;
  },
  async prepare({ args, cwd, env, choose }): Promise<PreparedCommand> {
    const knex = findKnex(cwd);
    const run = (extraEnv: Record<string, string>) => Object.assign(knex.run(args, { cwd, env: extraEnv }), { sessionReach: SESSION_REACH });
    const subcommand = args.find((a) => /^(migrate|seed|init)/.test(a));
    // No subcommand: `knex --help`, `knex --version`.
    if (subcommand === undefined || PASS_THROUGH.has(subcommand)) return { mode: 'pass-through', run: run({}) };
    if (!MIGRATE.has(subcommand) && !DESTRUCTIVE.has(subcommand)) return { mode: 'unknown', subcommand, run: run({}) };

    const options = readCliOptions(args, cwd, env);
    const file = findKnexfile(options);
    const { database, config: knexConfig, env: knexEnv } = await resolveKnexDatabase(file, options, choose);
    // Migration folders are relative to the knexfile's folder, where the knex CLI runs.
    const migrations = { ...knexConfig.migrations };
    const dirs = migrations.directory ?? './migrations';
    const directory = (Array.isArray(dirs) ? dirs : [dirs]).map((d) => (isAbsolute(d) ? d : resolve(options.cwd, d)));
    migrations.directory = directory;
    const config: Knex.Config = { ...knexConfig, connection: database.url, migrations };
    const load = async () => ((await import(pathToFileURL(knex.module!).href)) as { default: CreateKnex }).default;
    const directories = { ...migrations, directory };
    // With a connection (the deploy's pending read, the checks): the files and the table, without loading knex.
    const listOn =
      (on: Knex.Config): ListMigrations =>
      async (client) => {
        if (client) return listFromFiles(directories, client);
        const instance = (await load())({ ...on, pool: { min: 0, max: 1 } });
        try {
          return await instance.migrate.list();
        } finally {
          await instance.destroy();
        }
      };
    const adapter = { ...knexMigrations(listOn(config), migrations), captureSql: knexCapture(load, config) };
    if (!MIGRATE.has(subcommand)) return { mode: 'destructive', database, adapter, run: run(knexEnv) };
    return {
      mode: 'migrate',
      database,
      adapter,
      run: run(knexEnv),
      // Another database (a rehearsal's scratch copy): the knexfile read again with DATABASE_URL set to it, as for any other source.
      async runOn(url) {
        const on = await resolveKnexDatabase(file, options, () => ({ url, origin: 'flag', source: 'the scratch database' }));
        return { run: run(on.env), adapter: knexMigrations(listOn({ ...on.config, connection: url, migrations }), migrations) };
      },
    };
  },
};
