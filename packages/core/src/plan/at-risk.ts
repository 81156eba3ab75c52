import { type Catalog, type CatalogTable, resolveTable } from './catalog.js';
import type { ParsedStatement } from './parse.js';
import type { StatementEffects, TableName } from './types.js';

/** The deploy's at-risk set: the tables whose existing rows a scoped snapshot must keep, or why it cannot be bounded. */
export type AtRisk = { tables: TableName[] } | { unbounded: string };

/** Foreign-key actions that write to the referencing table when the referenced one changes: cascade, set null, set default. */
const WRITING_ACTIONS = new Set(['c', 'n', 'd']);

/**
 * The union of the statements' at-risk sets, closed over foreign keys whose ON DELETE or
 * ON UPDATE writes to the referencing table (CASCADE, SET NULL, SET DEFAULT, followed
 * recursively), and over the triggers and rules of those tables: a user trigger or rule
 * may write anywhere, so one on an at-risk table makes the set unbounded, named. Any
 * unbounded statement makes the whole set unbounded; `labels[i]` says which statement
 * ("0003_backfill statement 2"). A migration that only adds has an empty set. Tables
 * the catalog does not know (created by the deploy itself) hold no existing rows.
 */
export function atRiskSet(effects: readonly StatementEffects[], catalog: Catalog, labels: readonly string[] = []): AtRisk {
  const start = new Set<TableName>();
  for (const [i, effect] of effects.entries()) {
    if ('unbounded' in effect.atRisk) return { unbounded: `${labels[i] ?? `statement ${i + 1}`}: ${effect.atRisk.unbounded}` };
    for (const table of effect.atRisk.tables) if (catalog.tables.has(table)) start.add(table);
  }
  const closed = new Set<TableName>();
  const queue = [...start];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (closed.has(name)) continue;
    closed.add(name);
    const table = catalog.tables.get(name)!;
    const trigger = table.triggers[0];
    if (trigger) return { unbounded: `trigger ${trigger.name} on ${name} (at risk${start.has(name) ? '' : ' through a foreign key'}) may write to other tables` };
    const rule = table.rules[0];
    if (rule) return { unbounded: `rule ${rule} on ${name} (at risk${start.has(name) ? '' : ' through a foreign key'}) may write to other tables` };
    for (const ref of table.referencedBy) {
      if ((WRITING_ACTIONS.has(ref.onDelete) || WRITING_ACTIONS.has(ref.onUpdate)) && !closed.has(ref.table)) queue.push(ref.table);
    }
  }
  return { tables: [...closed].sort() };
}

/**
 * Whether an in-place rollback (restore/in-place.ts) can revert every statement of the
 * deploy, given its bounded at-risk set: `true`, or the first reason it cannot, naming the
 * statement. A whitelist: what is not known to revert in place is a reason, and the deploy
 * takes a full snapshot. Outside the at-risk set an in-place rollback drops what was added
 * (tables, columns, indexes, constraints, triggers, functions, views, types) and puts back
 * dropped or changed indexes, constraints, triggers, functions and views from the archive;
 * it never reloads the data of a table outside the set.
 */
export function revertibleInPlace(statements: readonly ParsedStatement[], effects: readonly StatementEffects[], catalog: Catalog, atRisk: AtRisk): true | string {
  if ('unbounded' in atRisk) return `the at-risk set is unbounded (${atRisk.unbounded})`;
  const scoped = new Set(atRisk.tables);
  for (const table of scoped) {
    const live = catalog.tables.get(table);
    if (live && live.relkind !== 'r') return `${table} is a ${live.relkind === 'p' ? 'partitioned table' : 'view or foreign table'}; only plain tables are reverted in place`;
  }
  for (const [i, statement] of statements.entries()) {
    const where = `${statement.migration ? `${statement.migration} ` : ''}statement ${statement.index}`;
    const effect = effects[i];
    if (effect && !effect.transactional && statement.kind !== 'IndexStmt') return `${where} cannot run in a transaction (${statement.kind}), and its effects cannot be reverted in one`;
    const reason = statementReason(statement, catalog, scoped);
    if (reason) return `${where}: ${reason}`;
  }
  return true;
}

type Body = Record<string, unknown>;
interface RangeVar {
  schemaname?: string;
  relname: string;
}

/** An existing table outside the at-risk set, by the name a statement gives it. */
function untouched(catalog: Catalog, scoped: Set<TableName>, relation: RangeVar | undefined): CatalogTable | undefined {
  if (!relation) return undefined;
  const table = resolveTable(catalog, { ...(relation.schemaname ? { schema: relation.schemaname } : {}), table: relation.relname });
  return table && !scoped.has(table.name) ? table : undefined;
}

/** ALTER TABLE subcommands an in-place rollback reverts on a table whose data it does not reload. */
const REVERTIBLE_ALTERS = new Set([
  'AT_AddColumn',
  'AT_AddConstraint',
  'AT_AddIndex',
  'AT_AddIndexConstraint',
  'AT_DropConstraint',
  'AT_ValidateConstraint',
  'AT_EnableTrig',
  'AT_DisableTrig',
  'AT_EnableAlwaysTrig',
  'AT_EnableReplicaTrig',
]);

/** Statements that change nothing an in-place rollback must put back, or only what it can. */
const HARMLESS = new Set([
  'VariableSetStmt',
  'TransactionStmt',
  'CreateStmt',
  'CreateTableAsStmt',
  'CreateSeqStmt',
  'CreateSchemaStmt',
  'CreateEnumStmt',
  'CompositeTypeStmt',
  'CreateDomainStmt',
  'CreateFunctionStmt',
  'ViewStmt',
  'CreateTrigStmt',
  'RuleStmt',
  'CreatePolicyStmt',
  'SelectStmt',
  'IndexStmt',
]);

function statementReason(statement: ParsedStatement, catalog: Catalog, scoped: Set<TableName>): string | undefined {
  const body = (statement.node as unknown as Record<string, Body>)[statement.kind] ?? {};
  switch (statement.kind) {
    case 'AlterTableStmt': {
      const table = untouched(catalog, scoped, body.relation as RangeVar | undefined);
      if (!table) return undefined;
      for (const cmd of (body.cmds as Array<{ AlterTableCmd?: { subtype?: string } }> | undefined) ?? []) {
        const subtype = cmd.AlterTableCmd?.subtype ?? 'unknown';
        if (!REVERTIBLE_ALTERS.has(subtype)) return `ALTER TABLE ${table.name} (${subtype}) changes a table outside the at-risk set in a way an in-place rollback does not revert`;
      }
      return undefined;
    }
    case 'RenameStmt': {
      const type = body.renameType as string;
      if (['OBJECT_TABLE', 'OBJECT_COLUMN', 'OBJECT_INDEX', 'OBJECT_TABCONSTRAINT', 'OBJECT_TRIGGER', 'OBJECT_VIEW'].includes(type)) return undefined;
      return `a rename of ${type.replace('OBJECT_', '').toLowerCase()} is not reverted in place`;
    }
    case 'AlterEnumStmt': {
      if (body.oldVal !== undefined) return 'ALTER TYPE … RENAME VALUE is not reverted in place (a value in use cannot be renamed back safely)';
      const names = ((body.typeName as Array<{ String?: { sval?: string } }> | undefined) ?? []).map((n) => n.String?.sval ?? '');
      const users = enumUsers(catalog, names);
      const outside = users.filter((t) => !scoped.has(t));
      if (outside.length > 0) return `ALTER TYPE ${names.join('.')} ADD VALUE: a value cannot be removed in place while ${outside.join(', ')} (outside the at-risk set) use the type`;
      return undefined;
    }
    case 'InsertStmt':
    case 'CopyStmt':
    case 'MergeStmt':
    case 'UpdateStmt':
    case 'DeleteStmt': {
      const table = untouched(catalog, scoped, body.relation as RangeVar | undefined);
      return table ? `it writes rows of ${table.name}, outside the at-risk set: an in-place rollback would not put them back` : undefined;
    }
    case 'TruncateStmt': {
      for (const node of (body.relations as Array<{ RangeVar?: RangeVar }> | undefined) ?? []) {
        const table = untouched(catalog, scoped, node.RangeVar);
        if (table) return `it empties ${table.name}, outside the at-risk set`;
      }
      return undefined;
    }
    case 'DropStmt': {
      const type = body.removeType as string;
      if (body.behavior === 'DROP_CASCADE' && type !== 'OBJECT_TABLE') return `DROP … CASCADE of a ${type.replace('OBJECT_', '').toLowerCase()} reaches objects the analysis does not follow`;
      if (type === 'OBJECT_TABLE') {
        for (const object of (body.objects as Array<{ List?: { items?: Array<{ String?: { sval?: string } }> } }> | undefined) ?? []) {
          const parts = (object.List?.items ?? []).map((i) => i.String?.sval ?? '');
          const relation: RangeVar = parts.length > 1 ? { schemaname: parts[0]!, relname: parts[1]! } : { relname: parts[0] ?? '' };
          const table = untouched(catalog, scoped, relation);
          if (table) return `it drops ${table.name}, outside the at-risk set`;
        }
      }
      if (['OBJECT_TABLE', 'OBJECT_INDEX', 'OBJECT_VIEW', 'OBJECT_FUNCTION', 'OBJECT_TRIGGER', 'OBJECT_TYPE'].includes(type)) return undefined;
      return `DROP ${type.replace('OBJECT_', '')} is not reverted in place`;
    }
    default:
      return HARMLESS.has(statement.kind) ? undefined : `${statement.kind} is not known to revert in place`;
  }
}

/** Tables with a column of the enum type named `names` (["status"] or ["public", "status"]). */
function enumUsers(catalog: Catalog, names: string[]): TableName[] {
  const type = names.length > 1 ? `${names[0]}.${names[1]}` : names[0]!;
  const candidates = names.length > 1 ? [type, names[1]!] : [type, ...catalog.searchPath.map((s) => `${s}.${type}`)];
  const users: TableName[] = [];
  for (const table of catalog.tables.values()) {
    if (table.columns.some((c) => candidates.includes(c.type.replace(/\[\]$/, '')))) users.push(table.name);
  }
  return users;
}
