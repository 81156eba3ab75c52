import type pg from 'pg';
import { type DatabaseState, readState, type TableInfo } from '../db/introspect.js';
import type { DataClass } from '../config/schema.js';
import type { MigrationAdapter } from '../guard/adapter.js';
import { type Allowances, dataPreservation, invalidIndexesCheck, notValidConstraintsCheck, sequencesCheck } from './builtin.js';
import { untouchedTables } from './untouched.js';
import { runSqlCheck, type SqlCheck } from './custom.js';
import type { CheckResult } from './result.js';

export interface CheckSettings {
  migrations: boolean;
  invalidIndexes: boolean;
  notValidConstraints: boolean;
  dataPreservation: boolean;
  sequences: boolean;
  sql: SqlCheck[];
  allow: Allowances;
  /** Time for exact row counts of the database as it is now. */
  countBudgetMs: number;
  /** Data classes: lost rows in derived and ephemeral tables are allowed. */
  classes: Record<string, DataClass>;
}

/**
 * Every enabled check of the live database against `before` (the snapshot taken
 * just before the migration, or the newest one for `lifeboat check`).
 */
export async function runChecks(client: pg.Client, before: DatabaseState, settings: CheckSettings, adapter?: MigrationAdapter): Promise<{ results: CheckResult[]; after: DatabaseState }> {
  const statsOnly = outsideTheSet(before);
  const after = await readState(client, { budgetMs: settings.countBudgetMs, contents: settings.dataPreservation, ...(statsOnly ? { statsOnly } : {}) });
  const results: CheckResult[] = [];
  if (settings.migrations && adapter) results.push(await adapter.checkBookkeeping(client));
  if (settings.invalidIndexes) results.push(invalidIndexesCheck(before, after));
  if (settings.notValidConstraints) results.push(notValidConstraintsCheck(before, after));
  if (settings.dataPreservation) results.push(dataPreservation(before, after, settings.allow, settings.classes));
  if (statsOnly) results.push(untouchedTables(before, after));
  if (settings.sequences) results.push(await sequencesCheck(client));
  for (const check of settings.sql) results.push(await runSqlCheck(client, check));
  return { results, after };
}

/**
 * Checks in proportion: the snapshot read the tables outside the deploy's at-risk set by
 * their statistics (`stats`), and so do the checks, never a count. The same tables by OID
 * (the deploy's own database; a table dropped and re-created under its name is a new
 * table, counted), or by name where the snapshot names no database. Undefined when the
 * snapshot counted everything.
 */
function outsideTheSet(before: DatabaseState): ((table: TableInfo) => boolean) | undefined {
  const outside = before.tables.filter((t) => t.stats);
  if (outside.length === 0) return undefined;
  if (before.identity) {
    const oids = new Set(outside.map((t) => t.oid));
    return (table) => oids.has(table.oid);
  }
  const names = new Set(outside.map((t) => `${t.schema}.${t.name}`));
  return (table) => names.has(`${table.schema}.${table.name}`);
}
