import { runChecks } from '../checks/run.js';
import type { CheckResult } from '../checks/result.js';
import type { Settings } from '../config/resolve.js';
import { assertKeysOpen, loadKeys } from '../crypto/age.js';
import { withClient } from '../db/connect.js';
import { canCreateDatabases } from '../db/databases.js';
import type { DatabaseTarget } from '../db/target.js';
import { ERROR_CODES, LifeboatError } from '../errors.js';
import { failpoint } from '../failpoint.js';
import type { StartProgress } from '../progress.js';
import { type AppWrites, appWritesCounter } from '../recovery/app-writes.js';
import { type RestoreResult, restoreSnapshot } from '../restore/restore.js';
import { type InPlaceResult, revertInPlace } from '../restore/in-place.js';
import type { DeployScope } from '../strategies/choose.js';
import { takeSnapshot } from '../snapshot/take.js';
import { beginIntent, type Intent } from '../store/intent.js';
import { appendJournal, appendJournalAfterChange } from '../store/journal.js';
import { assertNothingInterrupted } from '../recovery/interrupted.js';
import { committedSince, nextTransactionId } from '../db/transactions.js';
import { encryptedAtRest, type Manifest } from '../store/manifest.js';
import { encryptsAtRest } from '../store/location.js';
import { newSnapshotId, type Store } from '../store/store.js';
import type { MigrationAdapter, MigrationRun, RunOutcome } from './adapter.js';
import { acquireDatabaseLock, type DatabaseLock } from './lock.js';
import { gaveUpOnLock, type LockWait, nameRelations, sampleLockWaits } from './lock-waits.js';
import { type DeployOutcome, exitCodeOf } from './outcome.js';
import { attributeLockWaits, makePlan } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { DEFAULT_SESSION_REACH, type SessionSettings, sessionEnv, toolSessions } from './tool-sessions.js';

export type { DeployOutcome };

export interface DeployReport {
  /** This deploy, for `lifeboat rollback --to-deploy ID`. */
  id: string;
  outcome: DeployOutcome;
  /** The exit code for this outcome (0, the tool's own, or one of Lifeboat's). */
  exitCode: number;
  database: string;
  command: string;
  tool: RunOutcome;
  /** Pending before the run (undefined without an adapter: `lifeboat run`). */
  pending: string[] | undefined;
  /** `lifeboat plan` of the pending migrations, run before the snapshot (undefined: off, nothing pending, or a destructive command). */
  plan?: Plan;
  /** Migrations recorded as applied by this run. */
  migrated: string[] | undefined;
  /** Migrations applied before this run and not after it (a destructive command's rollback or reset). */
  unapplied?: string[] | undefined;
  snapshot: { id: string; strategy: Manifest['strategy']; strategyReason: string; sizeBytes: number; cloneDatabase?: string } | undefined;
  checks: CheckResult[];
  restore: RestoreResult | InPlaceResult | undefined;
  /** Rows written since the snapshot (by the app, or the failed migration) that the rollback took out, and where they are kept. */
  appWrites?: AppWrites;
  /**
   * The tool's sessions (guard/tool-sessions.ts): the lock timeout they ran with, how many
   * times the tool ran (a run that gave up on a lock and committed nothing is run again), and
   * every statement that waited for a lock, with how long and behind whom.
   */
  locks?: DeployLocks;
  /** Set when the rollback itself failed: what happened and the commands to recover by hand. */
  recovery: { error: string; steps: string[] } | undefined;
  /** When the deploy began waiting for the lock, and when it got it (ISO). */
  startedAt: string;
  lockedAt: string;
  timings: {
    lockMs: number;
    pendingMs: number;
    planMs: number;
    snapshotMs: number;
    migrateMs: number;
    checksMs: number;
    restoreMs: number;
    totalMs: number;
    /** The whole command from its process's start (set by the CLI): what a user waits for over the bare tool's `migrateMs`. */
    commandMs?: number;
  };
}

export interface DeployLocks {
  timeoutMs: number;
  statementTimeoutMs?: number;
  /** Runs of the tool: 1, plus one per retry after a lock timeout. */
  attempts: number;
  waits: LockWait[];
  /** Which mechanism reaches the tool's sessions, in words. */
  reach: string;
}

export interface GuardedDeployOptions {
  target: DatabaseTarget;
  store: Store;
  settings: Settings;
  /** Without an adapter (`lifeboat run -- …`) nothing is known to be pending: a snapshot is always taken. */
  adapter?: MigrationAdapter;
  /**
   * The command changes or wipes the schema on purpose (`prisma migrate reset`, `knex
   * migrate:rollback`, `drizzle-kit push`): the snapshot is taken whatever is pending and
   * recorded as the restore point before the command runs; the checks say what went and
   * nothing is rolled back by itself (`lifeboat rollback` does it when asked).
   */
  destructive?: boolean;
  run: MigrationRun;
  output?: 'inherit' | 'stderr';
  /** Lines for people as the deploy goes (phases, choices, waits). */
  onNotice?: (message: string) => void;
  /** A progress display for each long phase (snapshot, restore); none for the tool, which prints its own. */
  progress?: StartProgress;
  /** Aborted on Ctrl-C / SIGTERM: the tool is stopped and the database restored. */
  signal?: AbortSignal;
  /**
   * Internal: the plan's at-risk set and in-place verdict (plan/at-risk.ts), filled by the
   * plan phase. With it, `auto` takes a scoped snapshot where it can, and a failure is
   * rolled back in place (restore/in-place.ts). A bounded set also puts the snapshot and
   * the checks in proportion: only those tables are counted; every other one is read by
   * its statistics (checks/untouched.ts).
   */
  scope?: DeployScope;
}

/**
 * The guarded deploy: lock → pending → snapshot (with the pre-flight state) → run →
 * checks → keep, or restore and verify → journal. A failure before the run changes
 * nothing; a failure after it is rolled back unless the settings say keep.
 */
export async function guardedDeploy(options: GuardedDeployOptions): Promise<DeployReport> {
  const { target, store, settings, adapter, run } = options;
  const notice = options.onNotice ?? (() => {});
  const signal = options.signal ?? new AbortController().signal;
  const started = Date.now();
  const timings = { lockMs: 0, pendingMs: 0, planMs: 0, snapshotMs: 0, migrateMs: 0, checksMs: 0, restoreMs: 0, totalMs: 0 };
  const report: DeployReport = {
    id: `deploy-${newSnapshotId(new Date(started))}`,
    outcome: 'applied',
    exitCode: 0,
    database: target.database,
    command: run.describe,
    tool: { exitCode: -1 },
    pending: undefined,
    migrated: undefined,
    snapshot: undefined,
    checks: [],
    restore: undefined,
    recovery: undefined,
    startedAt: new Date(started).toISOString(),
    lockedAt: '',
    timings,
  };

  // The tool's sessions: a lock timeout (and a statement timeout), and the tag that finds them.
  const session = toolSessions(settings.locks, report.id);
  const lock = await acquireDatabaseLock(target, { operation: 'deploy', timeoutMs: settings.lockTimeoutMs, signal, onWait: notice });
  timings.lockMs = Date.now() - started;
  report.lockedAt = new Date().toISOString();
  // Closed when the deploy ends; left open (for `lifeboat recover`) only when the database is not as it should be.
  let intent: Intent | undefined;
  let keepIntent = false;
  try {
    await assertNothingInterrupted(store, target);
    // Pending and applied, through the adapter, on one short-lived connection.
    const pendingStart = Date.now();
    let appliedBefore: string[] | undefined;
    if (adapter) {
      await withClient(target, target.database, async (client) => {
        const status = await adapter.status(client);
        report.pending = status.pending;
        appliedBefore = status.applied;
      });
    }
    timings.pendingMs = Date.now() - pendingStart;

    if (report.pending !== undefined && report.pending.length === 0 && !options.destructive) {
      notice('nothing pending: running the tool without a snapshot');
      const migrateStart = Date.now();
      report.tool = await runMigration(run, signal, options.output ?? 'inherit', undefined, session);
      timings.migrateMs = Date.now() - migrateStart;
      report.outcome = 'nothing-pending';
      report.exitCode = exitCodeOf(report.outcome, report.tool.exitCode);
      return await finish(report, store, started);
    }
    if (report.pending && !options.destructive) notice(`${report.pending.length} pending: ${report.pending.join(', ')}`);
    if (signal.aborted) throw interrupted();

    // Know before you deploy: the plan reads only, and a blocking finding refuses the deploy before anything is written.
    if (settings.plan.enabled && adapter && !options.destructive) {
      const planStart = Date.now();
      report.plan = await planDeploy(options, report.pending ?? [], notice, signal);
      timings.planMs = Date.now() - planStart;
      if (signal.aborted) throw interrupted();
      if (report.plan?.blocking) {
        report.outcome = report.plan.rehearsal?.ran && !report.plan.rehearsal.ok ? 'rehearsal-failed' : 'plan-blocked';
        report.exitCode = exitCodeOf(report.outcome, 0);
        return await finish(report, store, started);
      }
    }
    // The plan's at-risk set and in-place verdict: a scoped snapshot where it can be, and checks in proportion.
    const scope = options.scope ?? (report.plan ? { atRisk: report.plan.atRisk, inPlace: report.plan.inPlace ?? 'the plan gave no in-place verdict' } : undefined);
    if (settings.onFailure === 'rollback' && !options.destructive) {
      await assertCanRestore(lock);
      await assertCanDecryptAtRest(store);
    }
    const snapshotId = newSnapshotId();
    intent = await beginIntent(store, target, {
      operation: 'deploy',
      locked: true,
      deploy: report.id,
      phase: 'snapshotting',
      snapshot: snapshotId,
    });

    // The snapshot is the pre-flight record too: row counts, filled columns, schema, indexes.
    const snapshotStart = Date.now();
    const snapshotProgress = options.progress?.();
    const manifest = await takeSnapshot({
      id: snapshotId,
      target,
      store,
      strategy: settings.strategy,
      reason: 'deploy',
      label: `before ${run.describe}`,
      countBudgetMs: settings.countBudgetMs,
      classes: settings.classes,
      dumpFormat: settings.dump.format,
      compression: settings.dump.compression,
      ...(settings.dump.jobs ? { jobs: settings.dump.jobs } : {}),
      ...(appliedBefore ? { migrations: appliedBefore } : {}),
      ...(scope && !options.destructive ? { scope } : {}),
      onNotice: notice,
      ...(snapshotProgress ? { onProgress: snapshotProgress.onProgress } : {}),
      signal,
    }).finally(() => snapshotProgress?.stop());
    timings.snapshotMs = Date.now() - snapshotStart;
    report.snapshot = {
      id: manifest.id,
      strategy: manifest.strategy,
      strategyReason: manifest.strategyReason,
      sizeBytes: manifest.sizeBytes,
      ...(manifest.clone ? { cloneDatabase: manifest.clone.database } : {}),
    };
    notice(`snapshot ${manifest.id} (${manifest.strategy}) taken; running ${run.describe}`);
    if (options.destructive) {
      await appendJournal(store, { event: 'restore-point', deploy: report.id, snapshot: manifest.id, database: target.database });
      notice(`${run.describe} destroys on purpose: snapshot ${manifest.id} is the restore point (\`lifeboat rollback\` returns to it); nothing is rolled back by itself`);
    }
    await failpoint('deploy:after-snapshot');
    if (signal.aborted) throw interrupted();

    await intent.update({ phase: 'migrating' });
    const migrateStart = Date.now();
    const tracked = intent;
    // The next transaction id before each run: if no transaction committed from there on, that run wrote nothing.
    const { xidBefore } = await runWithLockRetries(report, {
      run,
      lock,
      target,
      settings,
      session,
      signal,
      output: options.output ?? 'inherit',
      notice,
      onSpawn: (pid) => void tracked.update({ tool: { pid, describe: run.describe } }).catch(() => {}),
    });
    timings.migrateMs = Date.now() - migrateStart;
    if (report.plan && report.locks) attributeLockWaits(report.plan, report.locks.waits);
    await failpoint('deploy:after-migrate');
    await intent.update({ phase: 'checking' });

    // Checks run after a failed tool too: their figures say what the failure left behind.
    // A check that cannot even run is a failed check: the database is in a state we cannot vouch for.
    const checksStart = Date.now();
    try {
      await withClient(target, target.database, async (client) => {
        // After a destructive command, migrations no longer applied are its purpose, not a bookkeeping fault.
        report.checks = (await runChecks(client, manifest, settings.checks, options.destructive ? undefined : adapter)).results;
        if (adapter && appliedBefore) {
          const before = new Set(appliedBefore);
          const after = (await adapter.status(client)).applied;
          report.migrated = after.filter((m) => !before.has(m));
          if (options.destructive) report.unapplied = appliedBefore.filter((m) => !after.includes(m));
        }
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.checks.push({ name: 'checks', ok: false, summary: 'could not run', problems: [`the checks could not run: ${message}`], allowed: [] });
    }
    timings.checksMs = Date.now() - checksStart;
    await failpoint('deploy:after-checks');

    if (options.destructive) {
      // The restore point is recorded; what went is in the checks. The tool's exit code stands.
      report.outcome = report.tool.exitCode === 0 && !signal.aborted ? 'destructive-applied' : 'destructive-failed';
      report.exitCode = signal.aborted ? ERROR_CODES.INTERRUPTED.exit : exitCodeOf(report.outcome, report.tool.exitCode);
      return await finish(report, store, started);
    }

    const failure: DeployOutcome | undefined = signal.aborted
      ? 'interrupted-rolled-back'
      : report.tool.exitCode !== 0
        ? 'migration-failed-rolled-back'
        : report.checks.some((c) => !c.ok)
          ? 'checks-failed-rolled-back'
          : undefined;
    if (!failure) {
      await appendJournalAfterChange(store, { event: 'restore-point', deploy: report.id, snapshot: manifest.id, database: target.database }, notice);
      return await finish(report, store, started);
    }
    if (failure === 'migration-failed-rolled-back') {
      const written = await committedSince(lock.client, xidBefore);
      if (written === 0) {
        notice(`the tool failed and no transaction committed on the server while it ran: the database is unchanged, nothing to restore`);
        report.outcome = 'migration-failed-unchanged';
        report.exitCode = exitCodeOf(report.outcome, report.tool.exitCode);
        await explainFailure(report, adapter, target, notice);
        return await finish(report, store, started);
      }
    }
    if (settings.onFailure === 'keep' && failure !== 'interrupted-rolled-back') {
      notice(`the deploy failed; the database is left as it is (onFailure: keep). Snapshot ${manifest.id} is kept.`);
      report.outcome = 'failed-kept';
      report.exitCode = exitCodeOf(report.outcome, report.tool.exitCode);
      return await finish(report, store, started);
    }

    // Roll back. Not abortable: a second Ctrl-C must not leave a restore half-way.
    notice(`rolling back to snapshot ${manifest.id}…`);
    const restoreStart = Date.now();
    try {
      await run.beforeRestore?.();
      const restoreProgress = options.progress?.();
      if (manifest.strategy === 'scoped') {
        // In place, in one transaction: no staging database, no swap, the app's sessions stay.
        report.restore = await revertInPlace({ target, store, manifest, intent, onNotice: notice, ...(restoreProgress ? { onProgress: restoreProgress.onProgress } : {}) }).finally(() =>
          restoreProgress?.stop(),
        );
      } else {
        const appWrites = appWritesCounter({ target, store, manifest, deploy: report.id, budgetMs: settings.countBudgetMs });
        report.restore = await restoreSnapshot({
          target,
          store,
          manifest,
          intent,
          onNotice: notice,
          ...(restoreProgress ? { onProgress: restoreProgress.onProgress } : {}),
          beforeSwap: appWrites.beforeSwap,
        }).finally(() => restoreProgress?.stop());
        report.appWrites = await appWrites.kept(report.restore.replaced);
      }
      report.outcome = failure;
      report.exitCode = exitCodeOf(failure, report.tool.exitCode);
      if (failure === 'migration-failed-rolled-back') await explainFailure(report, adapter, target, notice);
    } catch (error) {
      report.outcome = 'rollback-failed';
      report.exitCode = exitCodeOf(report.outcome, report.tool.exitCode);
      report.recovery = recoverySteps(error, target, store, manifest);
      // The database holds the failed migration's result: the record stays, and `lifeboat recover` retries the rollback.
      keepIntent = true;
      await intent.update({ phase: 'checking', staging: undefined }).catch(() => {});
    } finally {
      await run.afterRestore?.().catch(() => {});
    }
    timings.restoreMs = Date.now() - restoreStart;
    return await finish(report, store, started);
  } finally {
    if (intent && !keepIntent) await intent.close().catch(() => {});
    await lock.release();
  }
}

/**
 * The plan, on its own connection to the live database. A plan that cannot run (a bug, a
 * catalog it cannot read) does not stop the deploy, which then guards the whole database as
 * before: it says so.
 */
async function planDeploy(options: GuardedDeployOptions, pending: string[], notice: (message: string) => void, signal: AbortSignal): Promise<Plan | undefined> {
  const { target, settings, adapter } = options;
  try {
    const plan = await withClient(target, target.database, (client) => makePlan(client, { target, settings: settings.plan, adapter, pending, onNotice: notice, signal }));
    const counts = { error: 0, warning: 0 };
    for (const m of plan.migrations) for (const s of m.statements) for (const f of s.findings) if (f.severity !== 'info' && !f.allowed) counts[f.severity]++;
    notice(`plan: ${counts.error} error, ${counts.warning} warning${plan.rehearsal?.ran && plan.rehearsal.ok ? '; the schema-only rehearsal passed' : ''} (${plan.timings.totalMs} ms)`);
    return plan;
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'INTERRUPTED') throw error;
    notice(`the plan could not run (${error instanceof Error ? error.message : String(error)}); deploying with a snapshot of the whole database`);
    return undefined;
  }
}

async function finish(report: DeployReport, store: Store, started: number): Promise<DeployReport> {
  report.timings.totalMs = Date.now() - started;
  // A deploy that changed nothing and took no snapshot leaves the store as it was.
  if (report.outcome !== 'nothing-pending' && report.outcome !== 'plan-blocked' && report.outcome !== 'rehearsal-failed') {
    await appendJournal(store, { event: 'deploy', ...report }).catch(() => {});
  }
  return report;
}

/**
 * The tool failed without saying why: its adapter looks for the cause, on the database as
 * it was before the deploy (restored, or never changed). What it finds is a finding, not a
 * failure of the deploy: an error looking is a notice.
 */
async function explainFailure(report: DeployReport, adapter: MigrationAdapter | undefined, target: DatabaseTarget, notice: (message: string) => void): Promise<void> {
  // A cause already known (a lock given up on) is not looked for again.
  if (!adapter?.explainFailure || report.tool.exitCode === 0 || report.tool.cause) return;
  try {
    const cause = await withClient(target, target.database, (client) => adapter.explainFailure!(client, report.pending ?? []));
    if (cause) report.tool.cause = cause;
  } catch (error) {
    notice(`could not look for the cause of the failure: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Rolling back needs CREATEDB and a maintenance database (the lock's session is on one if it can be). */
async function assertCanRestore(lock: DatabaseLock): Promise<void> {
  if (!lock.maintenance || !(await canCreateDatabases(lock.client))) {
    throw new LifeboatError('DB_PERMISSION', 'Automatic rollback needs a role with CREATEDB that can connect to the "postgres" database; nothing was changed.', {
      hint: "Grant CREATEDB, or deploy with a snapshot only (--no-rollback / onFailure: 'keep') and restore by hand if needed.",
    });
  }
}

/**
 * With `encryption.local` the rollback decrypts the snapshot: the identity must be here
 * and open what the recipients encrypt, or the deploy would run without a usable way back.
 */
async function assertCanDecryptAtRest(store: Store): Promise<void> {
  if (!store.encryption || !encryptsAtRest(store)) return;
  const keys = await loadKeys(store.encryption);
  if (!keys) {
    throw new LifeboatError(
      'KEY_MISSING',
      'encryption.local is on, and an automatic rollback decrypts the snapshot: no identity or passphrase was given, so the deploy did not start; nothing was changed.',
      {
        hint: "Give the identity (encryption.identityFile, or $LIFEBOAT_AGE_IDENTITY), or deploy without rollback (--no-rollback / onFailure: 'keep').",
      },
    );
  }
  await assertKeysOpen(store.encryption, keys, 'the snapshots encryption.local writes (the deploy did not start)');
}

function interrupted(): LifeboatError {
  return new LifeboatError('INTERRUPTED', 'Interrupted before the migration ran; nothing was changed.');
}

/** The migration, whatever it does: a throw (programmatic runs) is a failure like a non-zero exit. */
async function runMigration(run: MigrationRun, signal: AbortSignal, output: 'inherit' | 'stderr', onSpawn: ((pid: number) => void) | undefined, session: SessionSettings): Promise<RunOutcome> {
  try {
    return await run.run({ signal, output, ...(onSpawn ? { onSpawn } : {}), env: sessionEnv(session), session });
  } catch (error) {
    return { exitCode: 1, error: error instanceof Error ? error.message : String(error) };
  }
}

interface RunStep {
  run: MigrationRun;
  lock: DatabaseLock;
  target: DatabaseTarget;
  settings: Settings;
  session: SessionSettings;
  signal: AbortSignal;
  output: 'inherit' | 'stderr';
  notice: (message: string) => void;
  onSpawn: (pid: number) => void;
}

/**
 * The run step with its lock retries: the tool runs with the sessions' settings while a
 * sampler reads its sessions' lock waits. When it failed because a statement gave up on a
 * lock (`gaveUpOnLock`) and no transaction committed while it ran (`committedSince`, as for
 * migration-failed-unchanged), it runs again on the same snapshot after a back-off (1 s,
 * 2 s, 4 s… at most 30 s), at most `locks.retries` times. Otherwise the deploy goes on as
 * for any failure (rolled back, or unchanged). Answers the transaction id before the last run.
 */
async function runWithLockRetries(report: DeployReport, step: RunStep): Promise<{ xidBefore: string }> {
  const { run, lock, target, settings, session, signal, notice } = step;
  const locks: DeployLocks = {
    timeoutMs: session.lockTimeoutMs,
    ...(session.statementTimeoutMs !== undefined ? { statementTimeoutMs: session.statementTimeoutMs } : {}),
    attempts: 0,
    waits: [],
    reach: run.sessionReach ?? DEFAULT_SESSION_REACH,
  };
  report.locks = locks;
  notice(
    `the tool's sessions: lock_timeout ${seconds(session.lockTimeoutMs)}${session.statementTimeoutMs !== undefined ? `, statement_timeout ${seconds(session.statementTimeoutMs)}` : ''}, tagged ${session.applicationName} (${locks.reach})`,
  );
  for (let attempt = 1; ; attempt++) {
    const xidBefore = await nextTransactionId(lock.client);
    const sampler = sampleLockWaits(lock.client, { tag: session.applicationName, database: target.database, attempt, timeoutMs: session.lockTimeoutMs });
    report.tool = await runMigration(run, signal, step.output, step.onSpawn, session);
    const waits = await sampler.stop();
    if (waits.length > 0) await withClient(target, target.database, (client) => nameRelations(client, waits)).catch(() => {});
    locks.attempts = attempt;
    locks.waits.push(...waits);
    const gaveUp = report.tool.exitCode !== 0 && !signal.aborted ? gaveUpOnLock(waits, session.lockTimeoutMs) : undefined;
    if (!gaveUp) return { xidBefore };
    const held = holderText(gaveUp);
    if (attempt > settings.locks.retries) {
      report.tool.cause = `gave up waiting for a lock on ${gaveUp.table ?? gaveUp.mode} after ${attempt} attempt${attempt === 1 ? '' : 's'} (lock_timeout ${seconds(session.lockTimeoutMs)})${held ? `: ${held}` : ''}`;
      return { xidBefore };
    }
    const written = await committedSince(lock.client, xidBefore);
    if (written !== 0) {
      report.tool.cause = `gave up waiting for a lock on ${gaveUp.table ?? gaveUp.mode} (lock_timeout ${seconds(session.lockTimeoutMs)})${held ? `: ${held}` : ''}; not retried, since transactions committed while the tool ran`;
      return { xidBefore };
    }
    const delay = Math.min(1000 * 2 ** (attempt - 1), 30_000);
    notice(
      `${run.describe} gave up waiting ${seconds(gaveUp.waitedMs)} for ${gaveUp.mode} on ${gaveUp.table ?? 'a lock'}${held ? ` (${held})` : ''} and nothing committed: running it again in ${seconds(delay)} (attempt ${attempt + 1} of ${settings.locks.retries + 1})`,
    );
    await failpoint('deploy:before-retry');
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, delay);
      signal.addEventListener('abort', done, { once: true });
    });
    if (signal.aborted) return { xidBefore };
  }
}

/** `held by pid 4242, "psql", in a transaction open for 3 min`. */
export function holderText(wait: LockWait): string {
  const b = wait.blockedBy;
  if (!b) return '';
  const age = b.xactAgeMs === undefined ? '' : `, in a transaction open for ${formatAge(b.xactAgeMs)}`;
  return `held by pid ${b.pid}${b.applicationName ? `, "${b.applicationName}"` : ''}${age}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

function formatAge(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function recoverySteps(error: unknown, target: DatabaseTarget, store: Store, manifest: Manifest): { error: string; steps: string[] } {
  const message = error instanceof Error ? error.message : String(error);
  return {
    error: message,
    steps: [
      `The database "${target.database}" is as the failed migration left it; snapshot ${manifest.id} and every other copy are kept.`,
      manifest.strategy === 'scoped'
        ? `Snapshot ${manifest.id} is scoped (the schema and the data of ${manifest.scope?.tables.join(', ') || 'no table'}): it rolls back in place only, and nothing of the failed attempt was committed.`
        : undefined,
      `Fix the cause above, then retry the rollback: npx lifeboat recover --yes --store ${store.root} --database-url '${target.display}'   (put the password back for ***)`,
      manifest.strategy === 'scoped'
        ? undefined
        : manifest.strategy === 'dump' && encryptedAtRest(manifest)
          ? `Or with age and PostgreSQL's tools: age -d -i <identity file> -o ${target.database}.dump ${store.root}/snapshots/${manifest.id}/data.dump.age && createdb ${target.database}_restored && pg_restore --exit-on-error -d ${target.database}_restored ${target.database}.dump (then delete ${target.database}.dump)`
          : manifest.strategy === 'dump'
            ? `Or with PostgreSQL's tools: createdb ${target.database}_restored && pg_restore --exit-on-error -d ${target.database}_restored ${store.root}/snapshots/${manifest.id}/${manifest.dump?.format === 'directory' ? 'data' : 'data.dump'}`
            : `Or on the server: CREATE DATABASE "${target.database}_restored" TEMPLATE "${manifest.clone?.database}";`,
      manifest.strategy === 'scoped' ? undefined : `Then check it (npx lifeboat verify ${manifest.id}) and point the app at it.`,
    ].filter((step): step is string => step !== undefined),
  };
}
