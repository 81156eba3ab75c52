import { ERROR_CODES, type ErrorCode } from '../errors.js';

/**
 * Every way a guarded deploy ends, in one table: the error code it exits (and throws,
 * from the programmatic hooks) with, and the headline of its report. Without a code it
 * exits 0 (applied) or with the tool's own code (nothing pending, a destructive command);
 * a hook that must fail throws those as DEPLOY_FAILED_KEPT (the database as the tool left it).
 */
export const OUTCOMES = {
  /** Migrated, checks passed, the snapshot kept as the restore point. */
  applied: { code: undefined, headline: 'applied; checks passed' },
  /** Nothing pending: the tool ran, no snapshot was taken. */
  'nothing-pending': { code: undefined, headline: 'nothing pending' },
  /** The tool failed and the database was restored. */
  'migration-failed-rolled-back': { code: 'DEPLOY_FAILED_ROLLED_BACK', headline: 'the migration FAILED and was rolled back' },
  /** The tool failed before it wrote anything (no transaction committed while it ran): nothing to restore. */
  'migration-failed-unchanged': { code: 'DEPLOY_FAILED_UNCHANGED', headline: 'the migration FAILED before it changed anything; nothing to roll back' },
  /** The plan found a blocking finding before anything was written: the tool did not run, no snapshot was taken. */
  'plan-blocked': { code: 'PLAN_BLOCKED', headline: 'REFUSED by the plan before anything was written' },
  /** The pending migrations failed on a copy of the schema: the tool did not run on the database, no snapshot was taken. */
  'rehearsal-failed': { code: 'REHEARSAL_FAILED', headline: 'REFUSED: the migrations failed in the schema-only rehearsal; nothing was written' },
  /** Checks failed and the database was restored. */
  'checks-failed-rolled-back': { code: 'CHECKS_FAILED_ROLLED_BACK', headline: 'checks FAILED after the migration; rolled back' },
  /** Interrupted (Ctrl-C / SIGTERM) and the database was restored. */
  'interrupted-rolled-back': { code: 'INTERRUPTED', headline: 'interrupted; rolled back' },
  /** Failed, and as configured the database was left as it is (the snapshot is kept). */
  'failed-kept': { code: 'DEPLOY_FAILED_KEPT', headline: 'FAILED; the database was left as it is (onFailure: keep)' },
  /** Failed, and the restore failed too: see the report's `recovery`. */
  'rollback-failed': { code: 'ROLLBACK_FAILED', headline: 'FAILED, and the ROLLBACK FAILED too' },
  /** A command that destroys on purpose ran; what went is in the checks, and the snapshot before it is the restore point. */
  'destructive-applied': { code: undefined, headline: 'done; it removes on purpose, so nothing was rolled back (`lifeboat rollback` returns to the restore point before it)' },
  /** A command that destroys on purpose failed; as for every destructive command, nothing was rolled back. */
  'destructive-failed': { code: undefined, headline: 'FAILED; nothing was rolled back (`lifeboat rollback` returns to the restore point before it)' },
} as const satisfies Record<string, { code: ErrorCode | undefined; headline: string }>;

export type DeployOutcome = keyof typeof OUTCOMES;

/** The exit code of a deploy that ended so (`toolExit`: the tool's own, for nothing pending). */
export function exitCodeOf(outcome: DeployOutcome, toolExit: number): number {
  const { code } = OUTCOMES[outcome];
  if (code) return ERROR_CODES[code].exit;
  return outcome === 'applied' ? 0 : toolExit;
}
