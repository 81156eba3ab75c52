import { assertDeployed, type DeployReport, type DeployWithOptions, deployWith, LifeboatError } from '@lifeboat/core';
import { cliAdapter } from './cli.js';

export interface GuardedMigrateOptions {
  /** The Prisma project folder. Default: process.cwd(). */
  cwd?: string;
  /** The database; default: what Prisma resolves (prisma.config.ts, the schema's env(...), .env). */
  databaseUrl?: string;
  /** More arguments for `prisma migrate deploy` (for example ['--schema', 'db/schema.prisma']). */
  args?: string[];
  /** A lifeboat.config file; default: lifeboat.config.* in `cwd`. */
  lifeboatConfig?: string;
  overrides?: DeployWithOptions['overrides'];
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * `prisma migrate deploy`, guarded, from code: resolves with the report when the
 * migration was applied (or nothing was pending), rejects with a LifeboatError
 * carrying `report` when it failed (and was rolled back, unless configured not to).
 */
export async function guardedMigrate(options: GuardedMigrateOptions = {}): Promise<DeployReport> {
  const cwd = options.cwd ?? process.cwd();
  const prepared = await cliAdapter.prepare({ args: ['migrate', 'deploy', ...(options.args ?? [])], cwd, env: process.env, databaseUrl: options.databaseUrl });
  if (!prepared.databaseUrl) {
    throw new LifeboatError('URL_INVALID', `No database URL: ${prepared.databaseUrlSource}.`, { hint: 'Set DATABASE_URL or pass databaseUrl.' });
  }
  const report = await deployWith({
    ...(prepared.adapter ? { adapter: prepared.adapter } : {}),
    run: prepared.run,
    databaseUrl: prepared.databaseUrl,
    cwd,
    ...(options.lifeboatConfig ? { configFile: options.lifeboatConfig } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return assertDeployed(report);
}
