import { blockingFindings } from '../plan/plan.js';
import { assertSameDatabase, type ChosenDatabase, chooseDatabase, type ToolDatabase } from '../config/database.js';
import { loadConfig } from '../config/load.js';
import { resolveSettings, type SettingFlags } from '../config/resolve.js';
import { parseDatabaseUrl } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { openStore } from '../store/store.js';
import type { MigrationAdapter, MigrationRun } from './adapter.js';
import { type DeployReport, guardedDeploy } from './deploy.js';
import { OUTCOMES } from './outcome.js';
import type { DeployScope } from '../strategies/choose.js';

export interface DeployWithOptions {
  adapter?: MigrationAdapter;
  run: MigrationRun;
  /** The database the migration runs against: the app's connection, or what the tool resolved. */
  databaseUrl: string;
  /** Where that URL comes from, for messages ("the Knex instance's connection"). */
  databaseSource?: string;
  /** The project folder: where lifeboat.config.* and the store are found. Default: process.cwd(). */
  cwd?: string;
  /** A lifeboat.config file to use instead of looking for one in `cwd`. */
  configFile?: string;
  /** The same overrides the CLI flags give (store, strategy, rollback, allowDataLoss). */
  overrides?: SettingFlags;
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
  /** Internal: the plan's at-risk set and in-place verdict, as `GuardedDeployOptions`' (a run without an adapter has no plan to fill them in). */
  scope?: DeployScope;
}

/**
 * A guarded deploy from code (the adapters' `guardedMigrate()` hooks): the same
 * config, settings and pipeline as the CLI. Resolves with the report whatever the
 * outcome; throws a LifeboatError when it could not start (nothing changed then).
 */
export async function deployWith(options: DeployWithOptions): Promise<DeployReport> {
  const cwd = options.cwd ?? process.cwd();
  const loaded = await loadConfig(cwd, options.configFile);
  const settings = resolveSettings(loaded, options.overrides ?? {}, cwd);
  // The rule puts lifeboat.config's databaseUrl before what the tool or the app's connection names;
  // a hook cannot point the app elsewhere, so a config naming another database is refused.
  const configured = chooseDatabase({ config: { url: settings.databaseUrl, file: loaded.file }, env: {} }, []);
  if (configured) assertSameDatabase(configured, { tool: 'the migration', url: options.databaseUrl, source: options.databaseSource ?? 'the database the migration runs against' });
  return guardedDeploy({
    target: parseDatabaseUrl(options.databaseUrl),
    store: openStore(settings.store, settings.encryption),
    settings,
    ...(options.adapter ? { adapter: options.adapter } : {}),
    run: options.run,
    onNotice: options.onNotice ?? ((message) => process.stderr.write(`lifeboat: ${message}\n`)),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.scope ? { scope: options.scope } : {}),
  });
}

/** For hooks that must fail like the migration they wrap: throw unless the deploy went through. */
export function assertDeployed(report: DeployReport): DeployReport {
  if (report.outcome === 'applied' || report.outcome === 'destructive-applied' || (report.outcome === 'nothing-pending' && report.exitCode === 0)) return report;
  const refusal = report.plan ? blockingFindings(report.plan).map((b) => `${b.migration}: ${b.finding.rule}: ${b.finding.message}`) : [];
  if (report.plan?.rehearsal?.ran && !report.plan.rehearsal.ok) refusal.unshift(`rehearsal: ${report.plan.rehearsal.error}`);
  const detail = [...refusal, ...report.checks.filter((c) => !c.ok).flatMap((c) => c.problems)].slice(0, 3).join('; ');
  const why = [report.tool.error, report.tool.cause].filter(Boolean).join(': ');
  const error = new LifeboatError(OUTCOMES[report.outcome].code ?? 'DEPLOY_FAILED_KEPT', `${report.command}: ${report.outcome}${why ? ` (${why})` : ''}${detail ? `: ${detail}` : ''}.`, {
    hint: report.recovery ? report.recovery.steps.join(' ') : 'The database is as it was before the deploy; fix the migration and deploy again.',
  });
  Object.assign(error, { report });
  throw error;
}

/** What every programmatic hook takes beside its tool's own arguments. */
export interface HookOptions {
  /** The database; default: the one the app's connection (or the tool's configuration) names. */
  databaseUrl?: string;
  /** Where lifeboat.config.* and the store are. Default: process.cwd(). */
  cwd?: string;
  /** A lifeboat.config file; default: lifeboat.config.* in `cwd`. */
  lifeboatConfig?: string;
  /** The same overrides the CLI flags give (store, strategy, rollback, allowDataLoss). */
  overrides?: SettingFlags;
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * A hook's migration as a guarded deploy that fails as the migration would: resolves with
 * the report when it went through, throws (`assertDeployed`) when it did not.
 */
export async function hookDeploy(options: HookOptions, deploy: { adapter?: MigrationAdapter; run: MigrationRun; database: { url: string; source: string } }): Promise<DeployReport> {
  const report = await deployWith({
    ...(deploy.adapter ? { adapter: deploy.adapter } : {}),
    run: deploy.run,
    databaseUrl: deploy.database.url,
    databaseSource: deploy.database.source,
    cwd: options.cwd,
    configFile: options.lifeboatConfig,
    overrides: options.overrides,
    onNotice: options.onNotice,
    signal: options.signal,
  });
  return assertDeployed(report);
}

/**
 * The database of a hook that migrates through the app's own connection (a Knex instance,
 * a drizzle db): that connection's. A `databaseUrl` naming another is refused, since the
 * migration would not run there.
 */
export function connectionDatabase(databaseUrl: string | undefined, connection: { tool: string; url: string; source: string }, hook: string, hint: string): { url: string; source: string } {
  if (databaseUrl) assertSameDatabase({ url: databaseUrl, origin: 'flag', source: `the databaseUrl given to ${hook}` }, connection, hint);
  return { url: databaseUrl || connection.url, source: connection.source };
}

/**
 * The one rule as the CLI applies it, for a hook that runs the tool's CLI from code:
 * `databaseUrl` (as --database-url), lifeboat.config's, the tool's own, DATABASE_URL.
 * Hand it to `CliAdapter.prepare` as `choose`.
 */
export async function databaseRule(options: HookOptions): Promise<(tool: ToolDatabase) => ChosenDatabase | undefined> {
  const loaded = await loadConfig(options.cwd ?? process.cwd(), options.lifeboatConfig);
  const inputs = { flag: options.databaseUrl, config: { url: loaded.config.databaseUrl, file: loaded.file }, env: process.env };
  return (tool) => chooseDatabase(inputs, [tool]);
}
