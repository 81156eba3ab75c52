import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LifeboatError } from '@lifeboat/core';
import { findProjectTool, flagValue, loadToolConfig, type ProjectTool } from '@lifeboat/core/adapter';
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

/** The knexfile's config for the environment, with knex's CLI flags over it, as the CLI resolves it, run with `env` as process.env. */
export async function loadKnexConfig(file: string, options: KnexCliOptions, env: NodeJS.ProcessEnv = process.env): Promise<Knex.Config> {
  const { exported } = await loadToolConfig(file, { env, callExport: true, describe: `The knexfile ${file}` });
  const all = (exported ?? {}) as Record<string, unknown>;
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

/** The project's own knex (module and CLI). */
export function findKnex(cwd: string): ProjectTool {
  return findProjectTool(cwd, { name: 'knex', install: 'npm i knex' });
}
