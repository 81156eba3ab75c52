import type { Plan } from '../plan/types.js';
import { formatCount, formatDuration, type Output } from './output.js';

const MARK = { error: 'ERROR  ', warning: 'warning', info: 'info   ' } as const;

/** A plan on one screen: per migration, per statement, its findings with severity; then the at-risk set and what blocks. */
export function printPlan(out: Output, plan: Plan, options: { verbose?: boolean } = {}): void {
  const pending = plan.migrations.length;
  out.line(`lifeboat plan: ${pending} migration${pending === 1 ? '' : 's'} for "${plan.database}"${plan.blocking ? ': BLOCKED' : ''}`);
  for (const migration of plan.migrations) {
    const source = migration.source === 'captured' ? ', SQL captured in the schema-only rehearsal' : '';
    const waited = migration.lockWaitMs ? `, waited ${formatDuration(migration.lockWaitMs)} for locks` : '';
    out.line(`  ${migration.name} (${migration.statements.length} statement${migration.statements.length === 1 ? '' : 's'}${source}${waited})`);
    if (migration.parseError) {
      out.line(`    ERROR   the SQL does not parse${migration.parseError.line ? ` (line ${migration.parseError.line})` : ''}: ${migration.parseError.message}`);
    }
    for (const statement of migration.statements) {
      const shown = statement.findings.filter((f) => options.verbose || f.severity !== 'info' || f.precheck);
      if (shown.length === 0 && !options.verbose) continue;
      out.line(`    ${statement.statement.index}. line ${statement.statement.line}: ${oneLine(statement.statement.sql)}`);
      for (const finding of shown) {
        const allowed = finding.allowed ? ` (allowed by ${finding.allowed === 'config' ? 'plan.allow' : 'a -- lifeboat:allow comment'})` : '';
        out.line(`       ${MARK[finding.severity]} ${finding.rule}: ${finding.message}${allowed}`);
        if (finding.hint && !finding.allowed) out.line(`                 ${finding.hint}`);
      }
    }
  }
  if (plan.rehearsal?.ran) {
    out.line(
      plan.rehearsal.ok
        ? `  rehearsal   the migrations ran on a copy of the schema without data in ${formatDuration(plan.rehearsal.ms)}`
        : `  rehearsal   FAILED on a copy of the schema${plan.rehearsal.migration ? `, in ${plan.rehearsal.migration}` : ''}: ${plan.rehearsal.error}`,
    );
  }
  for (const note of plan.notes) out.line(`  note        ${note}`);
  if ('unbounded' in plan.atRisk) out.line(`  at risk     the whole database: ${plan.atRisk.unbounded}`);
  else if (plan.atRisk.tables.length === 0) out.line('  at risk     no existing rows (the migrations only add)');
  else out.line(`  at risk     ${plan.atRisk.tables.join(', ')}`);
  const counts = { error: 0, warning: 0, info: 0 };
  for (const m of plan.migrations) for (const s of m.statements) for (const f of s.findings) if (!f.allowed) counts[f.severity]++;
  out.line(`  findings    ${formatCount(counts.error)} error, ${formatCount(counts.warning)} warning, ${formatCount(counts.info)} info · planned in ${formatDuration(plan.timings.totalMs)}`);
}

function oneLine(sql: string): string {
  const line = sql.replace(/\s+/g, ' ').trim();
  return line.length > 100 ? `${line.slice(0, 97)}…` : line;
}

/** One line for a deploy's report: the warnings it went ahead with, and what is at risk. */
export function planSummary(plan: Plan): string {
  const warnings = plan.migrations.flatMap((m) => m.statements.flatMap((s) => s.findings.filter((f) => f.severity === 'warning' && !f.allowed).map((f) => f.rule)));
  const atRisk =
    'unbounded' in plan.atRisk ? `the whole database at risk (${plan.atRisk.unbounded})` : plan.atRisk.tables.length === 0 ? 'no existing rows at risk' : `at risk: ${plan.atRisk.tables.join(', ')}`;
  const rules = [...new Set(warnings)];
  return `${rules.length === 0 ? 'no warnings' : `${warnings.length} warning(s): ${rules.join(', ')} (lifeboat plan for details)`}; ${atRisk}`;
}
