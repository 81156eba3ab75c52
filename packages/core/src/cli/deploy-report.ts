import type { DeployReport } from '../guard/deploy.js';
import { formatBytes, formatDuration, type Output } from './output.js';

const HEADLINE: Record<DeployReport['outcome'], string> = {
  applied: 'applied; checks passed',
  'nothing-pending': 'nothing pending',
  'migration-failed-rolled-back': 'the migration FAILED and was rolled back',
  'checks-failed-rolled-back': 'checks FAILED after the migration; rolled back',
  'interrupted-rolled-back': 'interrupted; rolled back',
  'failed-kept': 'FAILED; the database was left as it is (onFailure: keep)',
  'rollback-failed': 'FAILED, and the ROLLBACK FAILED too',
};

/** The deploy in one screen: what ran, the checks with their figures, the snapshot, the timings. */
export function printDeployReport(out: Output, report: DeployReport): void {
  out.document(report);
  const t = report.timings;
  out.line('');
  out.line(`lifeboat: ${report.command} on "${report.database}": ${HEADLINE[report.outcome]} (exit ${report.exitCode})`);
  if (report.outcome === 'nothing-pending') {
    out.line(`  no snapshot taken; Lifeboat's overhead over the bare command: ${formatDuration(t.totalMs - t.migrateMs)}`);
    return;
  }
  if (report.pending !== undefined) {
    const migrated = report.migrated ?? [];
    out.line(`  migrations  ${report.pending.length} pending, ${migrated.length} applied${migrated.length > 0 ? `: ${migrated.join(', ')}` : ''}`);
  }
  if (report.tool.exitCode !== 0) out.line(`  tool        ${report.tool.error ?? `exited with code ${report.tool.exitCode}`}`);
  if (report.snapshot) {
    const kept = report.outcome === 'applied' ? 'kept as the restore point' : 'kept';
    out.line(`  snapshot    ${report.snapshot.id} (${report.snapshot.strategy}, ${formatBytes(report.snapshot.sizeBytes)}), ${kept}`);
  }
  if (report.restore && report.checks.length > 0) out.line('  checks      (of the database as the migration left it, before the rollback)');
  report.checks.forEach((check, i) => {
    out.line(`  ${i === 0 && !report.restore ? 'checks    ' : '          '}  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.summary}`);
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
  if (report.recovery) {
    out.line(`  ROLLBACK FAILED: ${report.recovery.error}`);
    for (const step of report.recovery.steps) out.line(`    ${step}`);
  }
  out.line(
    `  timings     lock ${formatDuration(t.lockMs)} · pending ${formatDuration(t.pendingMs)} · snapshot ${formatDuration(t.snapshotMs)} · ` +
      `migrate ${formatDuration(t.migrateMs)} · checks ${formatDuration(t.checksMs)}${t.restoreMs > 0 ? ` · restore ${formatDuration(t.restoreMs)}` : ''} · total ${formatDuration(t.totalMs)}`,
  );
}
