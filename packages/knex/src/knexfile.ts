import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { flagValue, importFile, LifeboatError } from '@lifeboat/core';
import type { Knex } from 'knex';

/** The knex CLI's own options that change what it migrates. */
export interface KnexCliOptions {
  cwd: string;
  knexfile: string | undefined;
  env: string;
  migrationsDirectory: string | undefined;
  migrationsTableName: string | undefined;
}

/** Read knex's flags as the knex CLI does (`--cwd` first, then `--knexfile` relative to it). */
export function readCliOptions(args: string[], cwd: string, env: NodeJS.ProcessEnv): KnexCliOptions {
  const base = resolve(cwd, flagValue(args, '--cwd') ?? '.');
  const knexfile = flagValue(args, '--knexfile');
  return {
    cwd: knexfile ? dirname(resolve(base, knexfile)) : base,
    knexfile: knexfile ? resolve(base, knexfile) : undefined,
    env: flagValue(args, '--env') ?? env.NODE_ENV ?? 'development',
    migrationsDirectory: flagValue(args, '--migrations-directory'),
    migrationsTableName: flagValue(args, '--migrations-table-name'),
  };
}

/** The names the knex CLI looks for, in its order (bin/cli.js `filetypes`): no .cjs. */
const KNEXFILE_TYPES = ['js', 'mjs', 'coffee', 'ts', 'eg', 'ls'];

/** The knexfile the CLI would use: `--knexfile`, else the nearest knexfile.* up from the cwd. */
export function findKnexfile(options: KnexCliOptions): string {
  if (options.knexfile) {
    if (existsSync(options.knexfile)) return options.knexfile;
    throw new LifeboatError('CONFIG_INVALID', `The knexfile ${options.knexfile} does not exist.`, { hint: 'Check --knexfile.' });
  }
  const found = nearestKnexfile(options.cwd);
  if (found) return found;
  throw new LifeboatError('CONFIG_INVALID', `No knexfile found from ${options.cwd} upwards.`, {
    hint: 'Run Lifeboat from the project folder, or pass --knexfile after "knex migrate:latest" as you would to knex.',
  });
}

/** The nearest knexfile.* from `dir` upwards, as the knex CLI looks for it; undefined when there is none. */
export function nearestKnexfile(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const names = new Set(readdirSync(at));
    for (const ext of KNEXFILE_TYPES) if (names.has(`knexfile.${ext}`)) return join(at, `knexfile.${ext}`);
    if (dirname(at) === at) return undefined;
  }
}

/** The knexfile's config for the environment, with knex's CLI flags over it, as the CLI resolves it. */
export async function loadKnexConfig(file: string, options: KnexCliOptions): Promise<Knex.Config> {
  let loaded: unknown;
  try {
    loaded = await importFile(file);
    if (typeof loaded === 'function') loaded = await (loaded as () => unknown)();
  } catch (error) {
    throw new LifeboatError('CONFIG_INVALID', `The knexfile ${file} could not be loaded: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  const all = (loaded ?? {}) as Record<string, unknown>;
  const chosen = (all[options.env] ?? all) as Knex.Config;
  const config: Knex.Config = { ...chosen, migrations: { ...chosen.migrations } };
  if (options.migrationsDirectory) config.migrations!.directory = options.migrationsDirectory;
  if (options.migrationsTableName) config.migrations!.tableName = options.migrationsTableName;
  if (!config.client) {
    throw new LifeboatError('CONFIG_INVALID', `The knexfile ${file} has no config for environment "${options.env}".`, {
      hint: 'Pass --env after "knex migrate:latest", or set NODE_ENV.',
    });
  }
  return config;
}

/** The project's own knex (module and CLI), as the knex CLI finds it. */
export function findKnex(cwd: string): { module: string; cli: string } {
  try {
    const require = createRequire(join(cwd, 'package.json'));
    const pkg = require.resolve('knex/package.json');
    return { module: require.resolve('knex'), cli: join(dirname(pkg), 'bin', 'cli.js') };
  } catch {
    throw new LifeboatError('TOOL_NOT_FOUND', `knex is not installed in ${cwd}.`, { hint: 'Install it in the project (npm i knex) and run Lifeboat from there.' });
  }
}
