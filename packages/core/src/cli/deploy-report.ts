import type { DeployReport } from '../guard/deploy.js';
import { formatBytes, formatDuration, type Output } from './output.js';

const HEADLINE: Record<DeployReport['outcome'], string> = {
  applied: 'applied; checks passed',
  'nothing-pending': 'nothing pending',
  'migration-failed-rolled-back': 'the migration FAILED and was rolled back',
  'migration-failed-unchanged': 'the migration FAILED before it changed anything; nothing to roll back',
  'checks-failed-rolled-back': 'checks FAILED after the migration; rolled back',
  'interrupted-rolled-back': 'interrupted; rolled back',
  'failed-kept': 'FAILED; the database was left as it is (onFailure: keep)',
  'rollback-failed': 'FAILED, and the ROLLBACK FAILED too',
  'destructive-applied': 'done; it removes on purpose, so nothing was rolled back (`lifeboat rollback` returns to the restore point before it)',
  'destructive-failed': 'FAILED; nothing was rolled back (`lifeboat rollback` returns to the restore point before it)',
};

/** The deploy in one screen: what ran, the checks with their figures, the snapshot, the timings. */
export function printDeployReport(out: Output, report: DeployReport): void {
  out.document(report);
  const t = report.timings;
  // The whole command when the CLI measured it (from the process's start), else the pipeline's.
  const whole = t.commandMs ?? t.totalMs;
  const destructive = report.outcome === 'destructive-applied' || report.outcome === 'destructive-failed';
  out.line('');
  out.line(`lifeboat: ${report.command} on "${report.database}": ${HEADLINE[report.outcome]} (exit ${report.exitCode})`);
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
  if (report.tool.exitCode !== 0) out.line(`  tool        ${report.tool.error ?? `exited with code ${report.tool.exitCode}`}`);
  if (report.tool.cause) out.line(`  cause       ${report.tool.cause}`);
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
  });
  if (report.restore) {
    const p = report.restore.phases;
    out.line(`  rollback    restored and verified (schema and row counts equal the snapshot's) in ${formatDuration(report.restore.durationMs)}`);
    out.line(`              the database as the migration left it is kept as "${report.restore.replaced}"`);
    out.line(`              load ${formatDuration(p.loadMs)}, verify ${formatDuration(p.verifyMs)}, swap ${formatDuration(p.swapMs)}`);
  }
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
