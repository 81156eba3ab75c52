import { assertDeployed, chooseDatabase, type DeployReport, type DeployWithOptions, deployWith, LifeboatError, loadConfig } from '@lifeboat/core';
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
  // The rule as the CLI applies it: databaseUrl (as --database-url), lifeboat.config, Prisma's own, DATABASE_URL.
  const loaded = await loadConfig(cwd, options.lifeboatConfig);
  const inputs = { flag: options.databaseUrl, config: { url: loaded.config.databaseUrl, file: loaded.file }, env: process.env };
  const prepared = await cliAdapter.prepare({ args: ['migrate', 'deploy', ...(options.args ?? [])], cwd, env: process.env, choose: (tool) => chooseDatabase(inputs, [tool]) });
  if (prepared.mode !== 'migrate') throw new LifeboatError('INTERNAL', `prisma migrate deploy was prepared as ${prepared.mode}.`);
  const report = await deployWith({
    adapter: prepared.adapter,
    run: prepared.run,
    databaseUrl: prepared.database.url,
    databaseSource: prepared.database.source,
    cwd,
    ...(options.lifeboatConfig ? { configFile: options.lifeboatConfig } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return assertDeployed(report);
}
