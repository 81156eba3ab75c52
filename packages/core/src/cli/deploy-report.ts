import { type DeployReport, holderText } from '../guard/deploy.js';
import { OUTCOMES } from '../guard/outcome.js';
import type { AppWrites } from '../recovery/app-writes.js';
import { planSummary, printPlan } from './plan-report.js';
import { formatBytes, formatCount, formatDuration, type Output } from './output.js';

/** The deploy in one screen: what ran, the checks with their figures, the snapshot, the timings. */
export function printDeployReport(out: Output, report: DeployReport): void {
  out.document(report);
  const t = report.timings;
  // The whole command when the CLI measured it (from the process's start), else the pipeline's.
  const whole = t.commandMs ?? t.totalMs;
  const destructive = report.outcome === 'destructive-applied' || report.outcome === 'destructive-failed';
  out.line('');
  out.line(`lifeboat: ${report.command} on "${report.database}": ${OUTCOMES[report.outcome].headline} (exit ${report.exitCode})`);
  if (report.plan && (report.outcome === 'plan-blocked' || report.outcome === 'rehearsal-failed')) {
    printPlan(out, report.plan);
    out.line('  nothing was written: no snapshot, the tool did not run. Fix the migration or the data, or allow the finding (plan.allow, -- lifeboat:allow <rule>).');
    return;
  }
  if (report.outcome === 'nothing-pending') {
    out.line(`  no snapshot taken; Lifeboat's overhead over the bare command: ${formatDuration(whole - t.migrateMs)}`);
    return;
  }
  if (destructive) {
    if (report.unapplied && report.unapplied.length > 0) out.line(`  migrations  no longer applied: ${report.unapplied.join(', ')}`);
  } else if (report.pending !== undefined) {
    const migrated = report.migrated ?? [];
    out.line(`  migrations  ${report.pending.length} pending, ${migrated.length} applied${migrated.length > 0 ? `: ${migrated.join(', ')}` : ''}`);
  }
  if (report.plan) out.line(`  plan        ${planSummary(report.plan)}`);
  if (report.tool.exitCode !== 0) out.line(`  tool        ${report.tool.error ?? `exited with code ${report.tool.exitCode}`}`);
  if (report.tool.cause) out.line(`  cause       ${report.tool.cause}`);
  printLocks(out, report);
  if (report.snapshot) {
    const kept = report.outcome === 'applied' || destructive ? 'kept as the restore point' : 'kept';
    out.line(`  snapshot    ${report.snapshot.id} (${report.snapshot.strategy}, ${formatBytes(report.snapshot.sizeBytes)}), ${kept}`);
  }
  if (report.restore && report.checks.length > 0) out.line('  checks      (of the database as the migration left it, before the rollback)');
  if (destructive && report.checks.length > 0) out.line('  checks      (what the command changed against the restore point: reported, not rolled back)');
  report.checks.forEach((check, i) => {
    out.line(`  ${i === 0 && !report.restore && !destructive ? 'checks    ' : '          '}  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.summary}`);
    for (const problem of check.problems) out.line(`                     - ${problem}`);
    for (const allowed of check.allowed) out.line(`                     - allowed: ${allowed}`);
    for (const note of check.notes ?? []) out.line(`                     - ${note}`);
  });
  if (report.restore) {
    const p = report.restore.phases;
    out.line(`  rollback    restored and verified (schema and row counts equal the snapshot's) in ${formatDuration(report.restore.durationMs)}`);
    out.line(`              the database as the migration left it is kept as "${report.restore.replaced}"`);
    out.line(`              load ${formatDuration(p.loadMs)}, verify ${formatDuration(p.verifyMs)}, swap ${formatDuration(p.swapMs)}`);
  }
  if (report.appWrites) printAppWrites(out, report.appWrites);
  if (report.recovery) {
    out.line(`  ROLLBACK FAILED: ${report.recovery.error}`);
    for (const step of report.recovery.steps) out.line(`    ${step}`);
  }
  out.line(
    `  timings     lock ${formatDuration(t.lockMs)} · pending ${formatDuration(t.pendingMs)} · snapshot ${formatDuration(t.snapshotMs)} · ` +
      `migrate ${formatDuration(t.migrateMs)} · checks ${formatDuration(t.checksMs)}${t.restoreMs > 0 ? ` · restore ${formatDuration(t.restoreMs)}` : ''} · ` +
      `whole command ${formatDuration(whole)} (${formatDuration(whole - t.migrateMs)} over the tool)`,
  );
}

/** The tool's lock waits: `waited 5.0 s for ACCESS EXCLUSIVE on public.orders (held by pid 4242, "psql", in a transaction open for 3 min)`. */
function printLocks(out: Output, report: DeployReport): void {
  const locks = report.locks;
  if (!locks) return;
  const timeout = `lock_timeout ${formatDuration(locks.timeoutMs)}`;
  const runs = locks.attempts > 1 ? `; the tool ran ${locks.attempts} times (retried after giving up on a lock)` : '';
  if (locks.waits.length === 0 && runs === '') return;
  out.line(`  locks       ${timeout}${runs}`);
  for (const wait of locks.waits) {
    const statement = wait.statement.replace(/\s+/g, ' ');
    const held = holderText(wait);
    out.line(
      `              ${locks.attempts > 1 ? `attempt ${wait.attempt}: ` : ''}waited ${(wait.waitedMs / 1000).toFixed(1)} s for ${wait.mode} on ${wait.table ?? 'a lock'}${held ? ` (${held})` : ''}${wait.cancelled ? ', cancelled by Lifeboat' : ''}`,
    );
    out.line(`                ${statement.length > 100 ? `${statement.slice(0, 97)}...` : statement}`);
  }
}

/** What the rollback took out that was written since the snapshot: not only the migration's doing. */
function printAppWrites(out: Output, writes: AppWrites): void {
  if (writes.error) out.line(`  writes      ${writes.error}`);
  else if (writes.tables.length === 0) out.line('  writes      no rows were written since the snapshot');
  else out.line(`  writes      ${formatCount(writes.rows)} row(s) written since the snapshot, by the app or by the failed migration itself, are NOT in the restored database:`);
  for (const t of writes.tables) {
    const counts =
      t.inserted === undefined
        ? `${formatCount(t.rowsThen)} rows then, ${formatCount(t.rowsNow)} now`
        : `${formatCount(t.inserted)} inserted, ${formatCount(t.updated ?? 0)} updated, ${formatCount(t.deleted ?? 0)} deleted`;
    out.line(`                ${t.table}: ${counts}${t.reappliable ? '' : ` (not re-appliable: ${t.why})`}`);
  }
  if (writes.newTables.length > 0) out.line(`              tables the failed migration made are gone, with any rows: ${writes.newTables.join(', ')}`);
  if (writes.tables.length > 0 && writes.keptIn) out.line(`              they are kept in "${writes.keptIn}"`);
  if (writes.reapply) out.line(`              re-apply them by primary key: ${writes.reapply}   (a dry run; add --yes to apply)`);
}
