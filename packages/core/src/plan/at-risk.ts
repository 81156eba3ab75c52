// TEMPORARY STUB (lead, uncommitted)
import type { Catalog } from './catalog.js';
import type { StatementEffects, TableName } from './types.js';
export function atRiskSet(effects: StatementEffects[], _catalog: Catalog): { tables: TableName[] } | { unbounded: string } {
  const tables = new Set<TableName>();
  for (const e of effects) {
    if ('unbounded' in e.atRisk) return e.atRisk;
    for (const t of e.atRisk.tables) tables.add(t);
  }
  return { tables: [...tables] };
}
