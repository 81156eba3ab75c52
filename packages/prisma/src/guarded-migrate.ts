import { type DeployReport, LifeboatError } from '@lifeboat/core';
import { databaseRule, type HookOptions, hookDeploy } from '@lifeboat/core/adapter';
import { cliAdapter } from './cli.js';

export interface GuardedMigrateOptions extends HookOptions {
  /** The Prisma project folder. Default: process.cwd(). */
  cwd?: string;
  /** The database; default: what Prisma resolves (prisma.config.ts, the schema's env(...), .env). */
  databaseUrl?: string;
  /** More arguments for `prisma migrate deploy` (for example ['--schema', 'db/schema.prisma']). */
  args?: string[];
}

/**
 * `prisma migrate deploy`, guarded, from code: resolves with the report when the
 * migration was applied (or nothing was pending), rejects with a LifeboatError
 * carrying `report` when it failed (and was rolled back, unless configured not to).
 */
export async function guardedMigrate(options: GuardedMigrateOptions = {}): Promise<DeployReport> {
  const cwd = options.cwd ?? process.cwd();
  const choose = await databaseRule(options);
  const prepared = await cliAdapter.prepare({ args: ['migrate', 'deploy', ...(options.args ?? [])], cwd, env: process.env, choose });
  if (prepared.mode !== 'migrate') throw new LifeboatError('INTERNAL', `prisma migrate deploy was prepared as ${prepared.mode}.`);
  return hookDeploy(options, { adapter: prepared.adapter, run: prepared.run, database: prepared.database });
}
