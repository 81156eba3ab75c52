import type { Catalog } from './catalog.js';
import { advance, effectsOf } from './effects.js';
import { as } from './nodes.js';
import type { ParsedStatement } from './parse.js';
import { type MigrationRuns, RULES, runRules } from './rules.js';
import { PlanState } from './state.js';
import type { Finding, StatementEffects, TableName } from './types.js';

export { RULES };
export type { MigrationRuns, RuleInfo } from './rules.js';

export interface AnalyzeOptions {
  /**
   * How the migrate tool runs each migration's statements, when the caller knows (the
   * adapter's tool): decides whether a non-transactional statement fails and whether BEGIN /
   * COMMIT nests. Unknown: a migration of several statements is taken as one transaction.
   */
  runs?: (migration: string) => MigrationRuns | undefined;
}

export interface AnalyzedStatement {
  effects: StatementEffects;
  /** At the rules' default severities: the orchestrator applies plan.severity, plan.allow and the allow comments. */
  findings: Finding[];
  /** Live tables it touches (as the catalog names them), for their figures. */
  tables: TableName[];
}

/**
 * Every statement of every pending migration, in order: each one's effects and findings
 * against the live catalog as the earlier statements have left it (a table created earlier in
 * the plan is new and empty: no lock, scan, rewrite or data finding on it; a renamed table is
 * still the live one).
 */
export function analyzeStatements(statements: ParsedStatement[], catalog: Catalog, options: AnalyzeOptions = {}): AnalyzedStatement[] {
  const state = new PlanState(catalog);
  const sizes = new Map<string, number>();
  for (const s of statements) sizes.set(s.migration, (sizes.get(s.migration) ?? 0) + 1);
  const out: AnalyzedStatement[] = [];
  let migration: string | undefined;
  let earlier: ParsedStatement[] = [];
  let inTransactionBlock = false;
  for (const stmt of statements) {
    if (stmt.migration !== migration) {
      migration = stmt.migration;
      earlier = [];
      inTransactionBlock = false;
    }
    const { effects, touched } = effectsOf(stmt, state);
    const findings = runRules({ stmt, state, effects, touched, migration: { earlier, size: sizes.get(stmt.migration) ?? 1, inTransactionBlock, runs: options.runs?.(stmt.migration) } });
    const tables = [...new Set(touched.flatMap((t) => (t.live ? [t.live.name] : [])))];
    out.push({ effects, findings, tables });
    advance(stmt, state);
    const tx = as<{ kind?: string }>(stmt.node, 'TransactionStmt');
    if (tx?.kind === 'TRANS_STMT_BEGIN' || tx?.kind === 'TRANS_STMT_START') inTransactionBlock = true;
    if (tx?.kind === 'TRANS_STMT_COMMIT' || tx?.kind === 'TRANS_STMT_ROLLBACK') inTransactionBlock = false;
    earlier.push(stmt);
  }
  return out;
}
