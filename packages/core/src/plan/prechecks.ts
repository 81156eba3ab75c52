import type { AlterTableCmd, ColumnDef, ColumnRef, Constraint, FuncCall, IndexElem, IndexStmt, Node, RangeVar, TypeName } from '@pgsql/types';
import type pg from 'pg';
import { ident, literal, qualifiedName } from '../db/sql.js';
import { type Catalog, type CatalogTable, resolveTable } from './catalog.js';
import { funcName, strings, walk } from './nodes.js';
import { deparse, libpgQuery, type ParsedStatement } from './parse.js';
import type { Finding, PrecheckResult, Severity, TableName } from './types.js';

/**
 * Pre-checks: for each statement whose success depends on the data (a UNIQUE index over
 * duplicates, SET NOT NULL over nulls, a foreign key over orphans, a CHECK, a type cast), a
 * read-only query that answers now, against the live data, whether it will fail. One
 * `READ ONLY` transaction per statement, short lock and statement timeouts, plain SELECTs
 * (ACCESS SHARE): harmless on production.
 */

export interface PrecheckOptions {
  /** Each query's statement_timeout. */
  timeoutMs: number;
  /** Examples unmasked. */
  showValues: boolean;
  /** Tables an earlier statement of the plan writes or restructures: their data at this statement is not today's, so a count here is not certain. */
  changedEarlier: ReadonlySet<TableName>;
}

const DOC = (rule: string) => `docs/rules/${rule}.md`;

export const PRECHECK_RULES: Array<{ name: string; summary: string; doc: string }> = [
  { name: 'unique-duplicates', summary: 'A new UNIQUE index or constraint over values that are already duplicated', doc: DOC('unique-duplicates') },
  { name: 'primary-key-violations', summary: 'A new PRIMARY KEY over duplicated or NULL values', doc: DOC('primary-key-violations') },
  { name: 'not-null-nulls', summary: 'SET NOT NULL on a column that holds NULLs', doc: DOC('not-null-nulls') },
  { name: 'required-column-on-rows', summary: 'ADD COLUMN … NOT NULL without a default on a table that has rows', doc: DOC('required-column-on-rows') },
  { name: 'foreign-key-orphans', summary: 'A new (validated) FOREIGN KEY over rows whose key has no referenced row', doc: DOC('foreign-key-orphans') },
  { name: 'check-violations', summary: 'A new (validated) CHECK constraint that existing rows violate', doc: DOC('check-violations') },
  { name: 'exclusion-violations', summary: 'A new (validated) EXCLUDE constraint that pairs of existing rows violate', doc: DOC('exclusion-violations') },
  { name: 'cast-failures', summary: 'ALTER COLUMN … TYPE over values that cannot be converted (bad input, out of range, too long)', doc: DOC('cast-failures') },
];

/** Lock waits are never worth it: a pre-check that would queue behind the app's locks gives up at once. */
const LOCK_TIMEOUT_MS = 250;
/** Values are cut to this many characters, masked or not. */
const MAX_VALUE = 40;
/** Examples per finding. */
const EXAMPLES = 3;

/**
 * The read-only pre-checks of one statement against the live data: a finding per check
 * (error: certain to fail on today's data; info: verified, 0 rows; warning: not certain).
 * Statements nothing depends on, and tables the plan creates (absent from `catalog`),
 * give no finding and cost no query. The client must not be in a transaction: the checks
 * open their own (`READ ONLY`) and roll it back.
 */
export async function precheckStatement(client: pg.Client, statement: ParsedStatement, catalog: Catalog, options: PrecheckOptions): Promise<Finding[]> {
  const checks = await checksOf(statement, catalog);
  if (checks.length === 0) return [];
  const findings: Finding[] = new Array(checks.length);
  await client.query('begin isolation level repeatable read read only');
  try {
    await client.query(`set local statement_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
    await client.query(`set local lock_timeout = ${Math.max(1, Math.min(LOCK_TIMEOUT_MS, Math.floor(options.timeoutMs)))}`);
    const run = reader(client);
    const optionsOf = (check: Check): RunOptions => ({
      ...options,
      serverVersion: catalog.serverVersion,
      uncertain: check.uncertain ?? (options.changedEarlier.has(check.table.name) ? `an earlier statement changes ${check.table.name}` : undefined) ?? parentChanged(check, options),
    });
    // Row counts over the same table (NULLs for SET NOT NULL, CHECKs, …) share one scan.
    const scans = new Map<string, number[]>();
    checks.forEach((check, i) => {
      if (check.type !== 'rows') return;
      const key = `${check.table.name}\n${check.relation ?? ''}`;
      scans.set(key, [...(scans.get(key) ?? []), i]);
    });
    for (const members of scans.values()) {
      if (members.length < 2) continue;
      const group = members.map((i) => checks[i] as RowsCheck);
      const answer = await run(`select count(*)::float8 as total, ${group.map((c, j) => `(count(*) filter (where ${c.condition}))::float8 as f${j}`).join(', ')} from ${source(group[0]!)}`);
      // An expression that cannot run is found out on its own; a timeout or a lock is everyone's.
      if (!answer.ok && answer.code !== '57014' && answer.code !== '55P03') continue;
      for (const [j, i] of members.entries()) {
        const check = checks[i] as RowsCheck;
        findings[i] = answer.ok
          ? await rowsFinding(run, check, Number(answer.rows[0]!.total), Number(answer.rows[0]![`f${j}`]), optionsOf(check))
          : failed(check, check.kind, answer, optionsOf(check));
      }
    }
    for (const [i, check] of checks.entries()) findings[i] ??= await runCheck(run, check, optionsOf(check));
  } finally {
    await client.query('rollback');
  }
  return findings;
}

function parentChanged(check: Check, options: PrecheckOptions): string | undefined {
  if (check.type !== 'orphans') return undefined;
  return options.changedEarlier.has(check.parent.name) ? `an earlier statement changes ${check.parent.name}` : undefined;
}

// ---------------------------------------------------------------------------------------
// What to check: the statement's parse tree to a list of checks.

/** A key column or expression, as SQL over the table and as the message names it. */
interface Key {
  sql: string;
  label: string;
  /** A plain column (named by `table.column` in messages), not an expression. */
  column: boolean;
}

interface Base {
  rule: string;
  table: CatalogTable;
  /** What the finding names: "public.users.email", "public.users (lower(email))". */
  subject: string;
  /** Set when the answer cannot be certain for a reason of this statement itself. */
  uncertain?: string;
  /** What to read instead of the table: the table with the values of columns this statement adds. */
  relation?: string;
  hint: string;
}

type Check =
  /** Duplicates (and, for a primary key, NULLs) of a key, optionally over a partial index's rows. */
  | (Base & { type: 'unique'; keys: Key[]; where: string | undefined; nullsNotDistinct: boolean; primaryKey: boolean })
  /** Rows matching a condition (a NULL in a NOT NULL column, a CHECK that is false, a row that exists). */
  | (Base & { type: 'rows'; kind: string; condition: string; examples: Key[]; describe: (count: number, total: number) => string; clean: (total: number) => string })
  /** Rows whose key has no match in the referenced table. */
  | (Base & { type: 'orphans'; parent: CatalogTable; keys: string[]; parentKeys: string[]; matchFull: boolean })
  /** Pairs of rows an exclusion constraint would refuse together. */
  | (Base & { type: 'exclusion'; keys: Array<Key & { operator: string }>; where: string | undefined })
  /** Values of a column that the new type refuses. */
  | (Base & { type: 'cast'; column: string; source: string; target: string; targetLabel: string; maxLength: number | undefined; textSource: boolean })
  /** A statement the pre-checks see but do not query (NOT VALID, a column of this statement). */
  | (Base & { type: 'note'; severity: Severity; message: string });

async function checksOf(statement: ParsedStatement, catalog: Catalog): Promise<Check[]> {
  const node = statement.node as Node;
  if ('IndexStmt' in node) return indexChecks(node.IndexStmt, catalog);
  if ('AlterTableStmt' in node) {
    const stmt = node.AlterTableStmt;
    if (stmt.objtype && stmt.objtype !== 'OBJECT_TABLE') return [];
    const table = liveTable(catalog, stmt.relation);
    if (!table) return [];
    const cmds = (stmt.cmds ?? []).flatMap((c) => ('AlterTableCmd' in c ? [c.AlterTableCmd] : []));
    const context: Context = {
      table,
      catalog,
      // PostgreSQL runs an ALTER TABLE's type changes before its new constraints, whatever their order.
      retyped: new Set(cmds.filter((c) => c.subtype === 'AT_AlterColumnType' && c.name).map((c) => c.name!)),
      added: new Map(),
    };
    for (const cmd of cmds) {
      const def = cmd.def;
      if (cmd.subtype !== 'AT_AddColumn' || !def || !('ColumnDef' in def) || !def.ColumnDef.colname || skipsExisting(cmd, table)) continue;
      const value = await addedValue(def.ColumnDef);
      if (value) context.added.set(def.ColumnDef.colname, value);
    }
    const checks: Check[] = [];
    for (const cmd of cmds) checks.push(...(await commandChecks(cmd, context)));
    return checks;
  }
  return [];
}

/** ADD COLUMN IF NOT EXISTS of a column the table has: nothing happens. */
function skipsExisting(cmd: AlterTableCmd, table: CatalogTable): boolean {
  const def = cmd.def;
  const name = def && 'ColumnDef' in def ? def.ColumnDef.colname : undefined;
  return cmd.missing_ok === true && table.columns.some((c) => c.name === name);
}

/** What the checks of one ALTER TABLE know of it. */
interface Context {
  table: CatalogTable;
  catalog: Catalog;
  /** Columns whose type this statement changes. */
  retyped: ReadonlySet<string>;
  /** Columns this statement adds: the value each existing row gets (SQL), or `sequence` for a serial or identity column. */
  added: Map<string, AddedValue>;
}

type AddedValue = { sql: string; sequence?: never } | { sequence: true; sql?: never };

function liveTable(catalog: Catalog, relation: RangeVar | undefined): CatalogTable | undefined {
  if (!relation?.relname) return undefined;
  const table = resolveTable(catalog, { schema: relation.schemaname, table: relation.relname });
  return table && (table.relkind === 'r' || table.relkind === 'p') ? table : undefined;
}

async function indexChecks(stmt: IndexStmt, catalog: Catalog): Promise<Check[]> {
  if (!stmt.unique) return [];
  const table = liveTable(catalog, stmt.relation);
  if (!table) return [];
  const keys: Key[] = [];
  const columns: string[] = [];
  for (const param of stmt.indexParams ?? []) {
    if (!('IndexElem' in param)) continue;
    const key = await keyOf(param.IndexElem);
    if (!key) continue;
    keys.push(key);
    columns.push(...key.reads);
  }
  if (keys.length === 0) return [];
  if (stmt.whereClause) columns.push(...columnRefs(stmt.whereClause));
  const missing = columns.find((c) => !table.columns.some((col) => col.name === c));
  const subject = subjectOf(table, keys);
  if (missing !== undefined) return [noteMissing('unique-duplicates', table, subject, missing)];
  return [
    {
      type: 'unique',
      rule: 'unique-duplicates',
      table,
      subject,
      keys,
      where: stmt.whereClause ? await deparse(stmt.whereClause) : undefined,
      nullsNotDistinct: stmt.nulls_not_distinct === true,
      primaryKey: false,
      hint: stmt.concurrent
        ? 'remove or merge the duplicates first (a data migration before this one); a failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind that must be dropped'
        : 'remove or merge the duplicates first (a data migration before this one)',
    },
  ];
}

/** An index element (a column or an expression, with its collation) as a key, and the columns it reads. */
async function keyOf(elem: IndexElem): Promise<(Key & { reads: string[] }) | undefined> {
  const collate = elem.collation?.length ? ` collate ${strings(elem.collation).map(ident).join('.')}` : '';
  if (elem.name) return { sql: `${ident(elem.name)}${collate}`, label: elem.name, column: true, reads: [elem.name] };
  if (elem.expr) return { sql: `(${await deparse(elem.expr)})${collate}`, label: await deparse(elem.expr, { pretty: false }), column: false, reads: columnRefs(elem.expr) };
  return undefined;
}

/**
 * The checks of one ALTER TABLE command, each through `guard`: a check that reads a column
 * the live table lacks is a note, one that reads a column this statement retypes is
 * uncertain, and one that reads a column this statement adds runs over the table with that
 * column's value beside each row.
 */
async function commandChecks(cmd: AlterTableCmd, context: Context): Promise<Check[]> {
  const { table } = context;
  switch (cmd.subtype) {
    case 'AT_SetNotNull': {
      const column = cmd.name;
      if (!column) return [];
      const subject = `${table.name}.${column}`;
      return guard(context, 'not-null-nulls', subject, [column], () => [nullsCheck(table, column, subject, 'not-null-nulls', 'SET NOT NULL')]);
    }
    case 'AT_AddConstraint': {
      const def = cmd.def;
      if (!def || !('Constraint' in def)) return [];
      return constraintChecks(def.Constraint, context, false);
    }
    case 'AT_ValidateConstraint': {
      const existing = table.constraints.find((c) => c.name === cmd.name);
      if (!existing || (existing.type !== 'f' && existing.type !== 'c')) return [];
      const constraint = await constraintOfDefinition(existing.definition);
      return constraint ? constraintChecks(constraint, context, true) : [];
    }
    case 'AT_AddColumn': {
      const def = cmd.def;
      if (!def || !('ColumnDef' in def) || skipsExisting(cmd, table)) return [];
      return addColumnChecks(def.ColumnDef, context);
    }
    case 'AT_AlterColumnType': {
      const def = cmd.def;
      if (!cmd.name || !def || !('ColumnDef' in def) || !def.ColumnDef.typeName) return [];
      return castChecks(cmd.name, def.ColumnDef, context);
    }
    default:
      return [];
  }
}

async function guard(context: Context, rule: string, subject: string, columns: string[], make: () => Promise<Check[]> | Check[]): Promise<Check[]> {
  const { table, added, retyped } = context;
  const missing = columns.find((c) => !added.has(c) && !table.columns.some((col) => col.name === c));
  if (missing !== undefined) return [noteMissing(rule, table, subject, missing)];
  const fromSequence = columns.find((c) => added.get(c)?.sequence);
  // A sequence's values are distinct and never NULL (Prisma's `ADD COLUMN "id" SERIAL NOT NULL, ADD CONSTRAINT … PRIMARY KEY ("id")`).
  if (fromSequence !== undefined && ['unique-duplicates', 'primary-key-violations', 'not-null-nulls'].includes(rule)) return [];
  if (fromSequence !== undefined) {
    return [note(rule, table, subject, 'warning', `${subject}: reads ${fromSequence}, filled from a sequence by this statement: not checked read-only`)];
  }
  const uses = [...new Set(columns.filter((c) => added.has(c)))];
  const retypedColumn = columns.find((c) => retyped.has(c));
  const checks = await make();
  return checks.map((c) => ({
    ...c,
    ...(uses.length > 0 && c.type !== 'note' ? { relation: `(select t.*, ${uses.map((u) => `${added.get(u)!.sql} as ${ident(u)}`).join(', ')} from ${from(table)} t)` } : {}),
    ...(retypedColumn !== undefined ? { uncertain: c.uncertain ?? `this statement also changes the type of ${retypedColumn}` } : {}),
  }));
}

function nullsCheck(table: CatalogTable, columns: string | string[], subject: string, rule: string, what: string): Check {
  const list = Array.isArray(columns) ? columns : [columns];
  return {
    type: 'rows',
    rule,
    kind: 'nulls',
    table,
    subject,
    condition: list.map((c) => `${ident(c)} is null`).join(' or '),
    examples: [],
    describe: (count, total) => `${subject}: ${plural(count, list.length > 1 ? 'row with a NULL' : 'NULL value')} (of ${fmt(total)} rows): ${what} will fail`,
    clean: (total) => `${subject}: no NULL values (checked ${fmt(total)} rows)`,
    hint:
      list.length > 1
        ? 'fill the NULLs first (an UPDATE in an earlier migration)'
        : `fill the NULLs first (UPDATE … SET ${list[0]} = … WHERE ${list[0]} IS NULL in an earlier migration), or keep the column nullable`,
  };
}

/** pg_get_constraintdef's text (or pg_get_indexdef's) back to its node, through the parser. */
async function parseOne(sql: string): Promise<Node | undefined> {
  const { parse } = await libpgQuery();
  try {
    const tree = (await parse(sql)) as { stmts?: Array<{ stmt: Node }> };
    return tree.stmts?.[0]?.stmt;
  } catch {
    return undefined;
  }
}

async function constraintOfDefinition(definition: string): Promise<Constraint | undefined> {
  const stmt = await parseOne(`alter table t add ${definition}`);
  if (!stmt || !('AlterTableStmt' in stmt)) return undefined;
  const cmd = stmt.AlterTableStmt.cmds?.[0];
  const def = cmd && 'AlterTableCmd' in cmd ? cmd.AlterTableCmd.def : undefined;
  return def && 'Constraint' in def ? def.Constraint : undefined;
}

async function constraintChecks(constraint: Constraint, context: Context, validating: boolean): Promise<Check[]> {
  const { table, catalog } = context;
  const keysOf = strings;
  // NOT VALID: the parser sets skip_validation (and leaves initially_valid unset).
  const notValid = !validating && (constraint.skip_validation === true || constraint.initially_valid !== true);
  switch (constraint.contype) {
    case 'CONSTR_UNIQUE':
    case 'CONSTR_PRIMARY': {
      const primaryKey = constraint.contype === 'CONSTR_PRIMARY';
      const rule = primaryKey ? 'primary-key-violations' : 'unique-duplicates';
      if (constraint.indexname) {
        // USING INDEX: the unique index already holds the values unique; a primary key also makes its columns NOT NULL.
        if (!primaryKey) return [];
        const columns = await indexColumns(table, constraint.indexname);
        if (!columns?.length) return [];
        const subject = `${table.name} (${columns.join(', ')})`;
        return guard(context, rule, subject, columns, () => [nullsCheck(table, columns, subject, rule, 'PRIMARY KEY USING INDEX')]);
      }
      if (!constraint.keys?.length) return [];
      const columns = keysOf(constraint.keys);
      const keys = columns.map((c) => ({ sql: ident(c), label: c, column: true }));
      const subject = subjectOf(table, keys);
      return guard(context, rule, subject, columns, () => [
        {
          type: 'unique',
          rule,
          table,
          subject,
          keys,
          where: undefined,
          nullsNotDistinct: constraint.nulls_not_distinct === true,
          primaryKey,
          hint: primaryKey ? 'remove the duplicates and fill the NULLs first (a data migration before this one)' : 'remove or merge the duplicates first (a data migration before this one)',
        },
      ]);
    }
    case 'CONSTR_FOREIGN': {
      const columns = keysOf(constraint.fk_attrs);
      const subject = `${table.name} (${columns.join(', ')})`;
      if (notValid) {
        return [note('foreign-key-orphans', table, subject, 'info', `${subject}: foreign key added NOT VALID: existing rows are not checked (VALIDATE CONSTRAINT will check them)`)];
      }
      const parent = liveTable(catalog, constraint.pktable);
      if (!parent) {
        if (!constraint.pktable?.relname) return [];
        return [
          note(
            'foreign-key-orphans',
            table,
            subject,
            'warning',
            `${subject}: the referenced table ${constraint.pktable.relname} is not in the live database (created by the plan): orphans not checked`,
          ),
        ];
      }
      let parentKeys = keysOf(constraint.pk_attrs);
      if (parentKeys.length === 0) parentKeys = parent.constraints.find((c) => c.type === 'p')?.columns ?? [];
      if (parentKeys.length !== columns.length || columns.length === 0) return [];
      const missingParent = parentKeys.find((c) => !parent.columns.some((col) => col.name === c));
      if (missingParent !== undefined) return [noteMissing('foreign-key-orphans', parent, `${parent.name}.${missingParent}`, missingParent)];
      const fullSubject = `${subject} → ${parent.name} (${parentKeys.join(', ')})`;
      return guard(context, 'foreign-key-orphans', fullSubject, columns, () => [
        {
          type: 'orphans',
          rule: 'foreign-key-orphans',
          table,
          subject: fullSubject,
          parent,
          keys: columns,
          parentKeys,
          matchFull: constraint.fk_matchtype === 'f',
          hint: 'delete or fix the orphan rows first, or add the key NOT VALID and VALIDATE CONSTRAINT once they are cleaned up',
        },
      ]);
    }
    case 'CONSTR_CHECK': {
      if (!constraint.raw_expr) return [];
      const label = await deparse(constraint.raw_expr, { pretty: false });
      const subject = `${table.name} CHECK (${label})`;
      if (notValid) {
        return [note('check-violations', table, subject, 'info', `${subject}: added NOT VALID: existing rows are not checked (VALIDATE CONSTRAINT will check them)`)];
      }
      const columns = [...new Set(columnRefs(constraint.raw_expr))];
      const expression = await deparse(constraint.raw_expr);
      return guard(context, 'check-violations', subject, columns, () => [
        {
          type: 'rows',
          rule: 'check-violations',
          kind: 'check-violations',
          table,
          subject,
          // A row violates a CHECK when its expression is false; NULL passes.
          condition: `not (${expression})`,
          examples: columns.map((c) => ({ sql: ident(c), label: c, column: true })),
          describe: (count, total) => `${subject}: ${plural(count, 'row')} (of ${fmt(total)}) violate it`,
          clean: (total) => `${subject}: no row violates it (checked ${fmt(total)} rows)`,
          hint: 'fix the rows first (a data migration before this one), or add the constraint NOT VALID and VALIDATE it once they are fixed',
        },
      ]);
    }
    case 'CONSTR_EXCLUSION': {
      const keys: Array<Key & { operator: string }> = [];
      const columns: string[] = [];
      for (const item of constraint.exclusions ?? []) {
        const pair = 'List' in item ? (item.List.items ?? []) : [];
        const elem = pair[0] && 'IndexElem' in pair[0] ? pair[0].IndexElem : undefined;
        const operator = pair[1] && 'List' in pair[1] ? strings(pair[1].List.items) : [];
        const key = elem ? await keyOf(elem) : undefined;
        if (!key || operator.length === 0) return [];
        keys.push({ ...key, operator: operator.length === 1 ? operator[0]! : `operator(${operator.slice(0, -1).map(ident).join('.')}.${operator[operator.length - 1]})` });
        columns.push(...key.reads);
      }
      if (keys.length === 0) return [];
      const where = constraint.where_clause ? await deparse(constraint.where_clause) : undefined;
      if (constraint.where_clause) columns.push(...columnRefs(constraint.where_clause));
      const subject = `${table.name} EXCLUDE (${keys.map((k) => `${k.label} WITH ${k.operator}`).join(', ')})`;
      return guard(context, 'exclusion-violations', subject, columns, () => [
        { type: 'exclusion', rule: 'exclusion-violations', table, subject, keys, where, hint: 'resolve the conflicting rows first (a data migration before this one)' },
      ]);
    }
    default:
      return [];
  }
}

/** An existing index's columns, from its definition through the parser. */
async function indexColumns(table: CatalogTable, name: string): Promise<string[] | undefined> {
  const index = table.indexes.find((i) => i.name === name);
  const stmt = index ? await parseOne(index.definition) : undefined;
  if (!stmt || !('IndexStmt' in stmt)) return undefined;
  return (stmt.IndexStmt.indexParams ?? []).flatMap((p) => ('IndexElem' in p && p.IndexElem.name ? [p.IndexElem.name] : []));
}

/** The value every existing row gets in a column ADD COLUMN adds: its default or generated expression, or NULL; `sequence` when a sequence fills it. */
async function addedValue(column: ColumnDef): Promise<AddedValue | undefined> {
  if (!column.typeName) return undefined;
  const constraints = (column.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []));
  const typeName = typeNameOf(column.typeName).toLowerCase();
  const fromSequence =
    ['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'].includes(typeName) ||
    constraints.some((c) => c.contype === 'CONSTR_IDENTITY') ||
    constraints.some((c) => c.contype === 'CONSTR_DEFAULT' && c.raw_expr && callsFunction(c.raw_expr, 'nextval'));
  if (fromSequence) return { sequence: true };
  const type = await deparse({ TypeName: column.typeName });
  const valueNode = constraints.find((c) => (c.contype === 'CONSTR_DEFAULT' || c.contype === 'CONSTR_GENERATED') && c.raw_expr)?.raw_expr;
  return { sql: valueNode ? `(${await deparse(valueNode)})::${type}` : `null::${type}` };
}

/**
 * ADD COLUMN: every existing row gets the column's value (its default, its generated
 * expression, NULL), so NOT NULL, UNIQUE, PRIMARY KEY, CHECK and REFERENCES on it are
 * questions about that value over the table's rows. A column a sequence fills is distinct
 * and never NULL.
 */
async function addColumnChecks(column: ColumnDef, context: Context): Promise<Check[]> {
  const { table } = context;
  const name = column.colname;
  const value = name ? context.added.get(name) : undefined;
  if (!name || !column.typeName || !value || value.sequence) return [];
  const constraints = (column.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []));
  const has = (type: Constraint['contype']) => constraints.some((c) => c.contype === type);
  const type = await deparse({ TypeName: column.typeName });
  const hasValue = constraints.some((c) => (c.contype === 'CONSTR_DEFAULT' || c.contype === 'CONSTR_GENERATED') && c.raw_expr);
  const subject = `${table.name}.${name}`;
  const notNull = has('CONSTR_NOTNULL') || column.is_not_null === true;
  const primaryKey = has('CONSTR_PRIMARY');
  const unique = constraints.find((c) => c.contype === 'CONSTR_UNIQUE');
  const checks: Check[] = [];
  if (primaryKey || unique) {
    const nullsNotDistinct = unique?.nulls_not_distinct === true;
    // With no default every row holds NULL: distinct for UNIQUE; only a primary key or NULLS NOT DISTINCT fails.
    if (hasValue || primaryKey || nullsNotDistinct) {
      checks.push({
        type: 'unique',
        rule: primaryKey ? 'primary-key-violations' : 'unique-duplicates',
        table,
        subject,
        keys: [{ sql: value.sql, label: name, column: true }],
        where: undefined,
        nullsNotDistinct,
        primaryKey,
        hint: 'give the new column distinct values (add it nullable, backfill, then add the constraint), or a default from a sequence',
      });
    }
  }
  if (notNull && !primaryKey) {
    // A domain's own default fills the column when it has none.
    const domainDefault = `coalesce((select t.typdefault is not null from pg_type t where t.oid = to_regtype(${literal(type)})), false)`;
    checks.push({
      type: 'rows',
      rule: 'required-column-on-rows',
      kind: 'rows',
      table,
      subject,
      condition: hasValue ? `${value.sql} is null` : `not ${domainDefault}`,
      examples: [],
      describe: (count) =>
        hasValue
          ? `${subject}: its default is NULL for ${plural(count, 'existing row')}: NOT NULL fails`
          : `${subject}: ADD COLUMN … NOT NULL without a default fails on the table's ${plural(count, 'existing row')}`,
      clean: (total) => (total === 0 ? `${subject}: NOT NULL without a default: the table is empty now` : `${subject}: NOT NULL: every existing row gets a value (checked ${fmt(total)} rows)`),
      hint: 'add a DEFAULT, or add the column nullable, backfill it, then SET NOT NULL',
    });
  }
  // Its CHECK and, when rows get a value, its REFERENCES: over the rows with the new value beside them.
  for (const constraint of constraints) {
    if (constraint.contype === 'CONSTR_CHECK') checks.push(...(await constraintChecks(constraint, context, false)));
    if (constraint.contype === 'CONSTR_FOREIGN' && hasValue) {
      checks.push(...(await constraintChecks({ ...constraint, fk_attrs: [{ String: { sval: name } }] }, context, false)));
    }
  }
  return checks;
}

async function castChecks(column: string, def: ColumnDef, context: Context): Promise<Check[]> {
  const { table } = context;
  const subject = `${table.name}.${column}`;
  const typeName = def.typeName!;
  const target = await deparse({ TypeName: typeName });
  const targetLabel = await deparse({ TypeName: typeName }, { pretty: false });
  const base = typeNameOf(typeName).toLowerCase();
  const typmod = typeName.typmods?.[0];
  const length = typmod && 'A_Const' in typmod ? typmod.A_Const.ival?.ival : undefined;
  // An explicit cast to varchar(n) / char(n) truncates silently where ALTER TYPE fails: lengths are checked on their own.
  const maxLength = (base === 'varchar' || base === 'bpchar') && !typeName.arrayBounds?.length && typeof length === 'number' ? length : undefined;
  const using = def.raw_default;
  const liveType = table.columns.find((c) => c.name === column)?.type ?? '';
  const reads = [column, ...(using ? columnRefs(using) : [])];
  // Retyping is this check's own business: only the columns the live table lacks matter here.
  return guard({ ...context, retyped: new Set() }, 'cast-failures', subject, reads, async () => [
    {
      type: 'cast',
      rule: 'cast-failures',
      table,
      subject,
      column,
      source: using ? `(${await deparse(using)})` : ident(column),
      target,
      targetLabel,
      maxLength,
      textSource: !using && (liveType === 'text' || liveType.startsWith('character')),
      hint: using ? 'fix the values first, or make the USING expression handle them' : 'fix the values first, or give a USING expression that converts (or rejects) them',
    },
  ]);
}

function note(rule: string, table: CatalogTable, subject: string, severity: Severity, message: string): Check {
  return { type: 'note', rule, table, subject, severity, message, hint: '' };
}

function noteMissing(rule: string, table: CatalogTable, subject: string, column: string): Check {
  return note(rule, table, subject, 'warning', `${subject}: column ${column} is not in the live table ${table.name} (created or renamed by the plan): not checked`);
}

function subjectOf(table: CatalogTable, keys: Key[]): string {
  return keys.length === 1 && keys[0]!.column ? `${table.name}.${keys[0]!.label}` : `${table.name} (${keys.map((k) => k.label).join(', ')})`;
}

// ---------------------------------------------------------------------------------------
// Parse-tree helpers (over plan/nodes.ts).

/** The type's own name, without its schema ("varchar", "int4", "serial"). */
function typeNameOf(typeName: TypeName): string {
  return strings(typeName.names).pop() ?? '';
}

/** Column names an expression reads (the last part of each ColumnRef; `t.*` reads none by name). */
function columnRefs(node: unknown): string[] {
  const found: string[] = [];
  for (const [kind, body] of walk(node)) {
    if (kind !== 'ColumnRef') continue;
    const fields = (body as ColumnRef).fields ?? [];
    const last = strings(fields.slice(-1))[0];
    if (last) found.push(last);
  }
  return found;
}

function callsFunction(node: unknown, name: string): boolean {
  for (const [kind, body] of walk(node)) if (kind === 'FuncCall' && funcName(body as FuncCall) === name) return true;
  return false;
}

// ---------------------------------------------------------------------------------------
// Running the checks.

type Answer = { ok: true; rows: Array<Record<string, unknown>> } | { ok: false; code: string; message: string };

type Reader = (sql: string, params?: unknown[]) => Promise<Answer>;

/** Each query under a savepoint, so a failed one (a timeout, a value that does not cast) leaves the transaction usable. */
function reader(client: pg.Client): Reader {
  return async (sql, params = []) => {
    await client.query('savepoint precheck');
    try {
      const result = await client.query(sql, params);
      await client.query('release savepoint precheck');
      return { ok: true, rows: result.rows };
    } catch (error) {
      await client.query('rollback to savepoint precheck');
      const err = error as { code?: string; message?: string };
      if (typeof err.code !== 'string') throw error;
      return { ok: false, code: err.code, message: err.message ?? String(error) };
    }
  };
}

interface RunOptions extends PrecheckOptions {
  uncertain: string | undefined;
  serverVersion: number;
}

async function runCheck(run: Reader, check: Check, options: RunOptions): Promise<Finding> {
  switch (check.type) {
    case 'note':
      return { rule: check.rule, severity: check.severity, message: check.message, table: check.table.name };
    case 'unique':
      return uniqueCheck(run, check, options);
    case 'rows':
      return rowsCheck(run, check, options);
    case 'orphans':
      return orphansCheck(run, check, options);
    case 'cast':
      return castCheck(run, check, options);
    case 'exclusion':
      return exclusionCheck(run, check, options);
  }
}

function from(table: CatalogTable): string {
  return qualifiedName(table.schema, table.table);
}

/** What a check reads, with an alias: its table, or the table with the values of the columns the statement adds. */
function source(check: Check, alias = 't'): string {
  return `${check.relation ?? from(check.table)} as ${alias}`;
}

async function uniqueCheck(run: Reader, check: Extract<Check, { type: 'unique' }>, options: RunOptions): Promise<Finding> {
  const names = check.keys.map((_, i) => `k${i + 1}`);
  const allPresent = names.map((k) => `${k} is not null`).join(' and ');
  const anyNull = names.map((k) => `${k} is null`).join(' or ');
  const duplicate = check.nullsNotDistinct && !check.primaryKey ? 'n > 1' : `n > 1 and ${allPresent}`;
  const sql = `with g as materialized (
      select ${check.keys.map((k, i) => `${k.sql} as ${names[i]}`).join(', ')}, count(*) as n
        from ${source(check)}${check.where ? ` where ${check.where}` : ''}
       group by ${names.map((_, i) => i + 1).join(', ')}
    )
    select coalesce(sum(n), 0)::float8 as total,
           (count(*) filter (where ${duplicate}))::float8 as groups,
           coalesce(sum(n) filter (where ${duplicate}), 0)::float8 as rows,
           coalesce(sum(n) filter (where ${anyNull}), 0)::float8 as nulls,
           (select json_agg(json_build_array(json_build_array(${names.map((k) => `${k}::text`).join(', ')}), n))
              from (select * from g where ${duplicate} order by n desc, ${names.join(', ')} limit ${EXAMPLES}) e) as examples
      from g`;
  const answer = await run(sql);
  if (!answer.ok) return failed(check, 'duplicates', answer, options);
  const row = answer.rows[0]!;
  const total = Number(row.total);
  const groups = Number(row.groups);
  const dupRows = Number(row.rows);
  const nulls = check.primaryKey ? Number(row.nulls) : 0;
  const examples = ((row.examples as Array<[Array<string | null>, number]> | null) ?? []).map(([key, n]) => `${showKey(key, options.showValues)} ×${n}`);
  const count = groups + nulls;
  const kind = 'duplicates';
  const scope = check.where ? ' (rows of the partial index)' : '';
  let message: string;
  if (count === 0) {
    message = `${check.subject}: no duplicate values${check.primaryKey ? ' or NULLs' : ''} (checked ${fmt(total)} rows${scope})`;
  } else {
    const parts: string[] = [];
    if (groups > 0) parts.push(`${plural(groups, 'duplicate value')} (${fmt(dupRows)} rows)`);
    if (nulls > 0) parts.push(plural(nulls, 'NULL row'));
    message = `${check.subject}: ${parts.join(' and ')}${scope}${examples.length ? `; e.g. ${examples.join(', ')}` : ''}`;
  }
  return finding(check, count, { kind, count, examples }, message, options);
}

type RowsCheck = Extract<Check, { type: 'rows' }>;

async function rowsCheck(run: Reader, check: RowsCheck, options: RunOptions): Promise<Finding> {
  const answer = await run(`select count(*)::float8 as total, (count(*) filter (where ${check.condition}))::float8 as count from ${source(check)}`);
  if (!answer.ok) return failed(check, check.kind, answer, options);
  return rowsFinding(run, check, Number(answer.rows[0]!.total), Number(answer.rows[0]!.count), options);
}

async function rowsFinding(run: Reader, check: RowsCheck, total: number, count: number, options: RunOptions): Promise<Finding> {
  let examples: string[] = [];
  if (count > 0 && check.examples.length > 0) {
    const sample = await run(`select json_build_array(${check.examples.map((k) => `${k.sql}::text`).join(', ')}) as key from ${source(check)} where ${check.condition} limit ${EXAMPLES}`);
    if (sample.ok) {
      examples = sample.rows.map((r) =>
        (r.key as Array<string | null>)
          .map((v, i) => (check.examples.length > 1 || check.rule === 'check-violations' ? `${check.examples[i]!.label}=${showValue(v, options.showValues)}` : showValue(v, options.showValues)))
          .join(' '),
      );
    }
  }
  const message = count === 0 ? check.clean(total) : `${check.describe(count, total)}${examples.length ? `; e.g. ${examples.join(', ')}` : ''}`;
  return finding(check, count, { kind: check.kind, count, examples }, message, options);
}

async function orphansCheck(run: Reader, check: Extract<Check, { type: 'orphans' }>, options: RunOptions): Promise<Finding> {
  const c = (k: string) => `c.${ident(k)}`;
  const names = check.keys.map((_, i) => `k${i + 1}`);
  const allPresent = check.keys.map((k) => `${c(k)} is not null`).join(' and ');
  const anyNull = check.keys.map((k) => `${c(k)} is null`).join(' or ');
  const match = check.keys.map((k, i) => `p.${ident(check.parentKeys[i]!)} = ${c(k)}`).join(' and ');
  const missing = `not exists (select 1 from ${from(check.parent)} p where ${match})`;
  // MATCH SIMPLE: a key with any NULL is not checked. MATCH FULL: all NULL or none.
  const violates = check.matchFull ? `not (${check.keys.map((k) => `${c(k)} is null`).join(' and ')}) and (${anyNull} or ${missing})` : `${allPresent} and ${missing}`;
  const sql = `with o as materialized (
      select ${check.keys.map((k, i) => `${c(k)} as ${names[i]}`).join(', ')}, count(*) as n
        from ${source(check, 'c')} where ${violates}
       group by ${names.map((_, i) => i + 1).join(', ')}
    )
    select count(*)::float8 as groups, coalesce(sum(n), 0)::float8 as rows,
           (select json_agg(json_build_array(json_build_array(${names.map((k) => `${k}::text`).join(', ')}), n))
              from (select * from o order by n desc, ${names.join(', ')} limit ${EXAMPLES}) e) as examples
      from o`;
  const answer = await run(sql);
  if (!answer.ok) return failed(check, 'orphans', answer, options);
  const row = answer.rows[0]!;
  const groups = Number(row.groups);
  const rows = Number(row.rows);
  const examples = ((row.examples as Array<[Array<string | null>, number]> | null) ?? []).map(([key, n]) => `${showKey(key, options.showValues)} ×${n}`);
  const estimate = check.table.rows === undefined ? '' : ` (checked ≈${fmt(Math.round(check.table.rows))} rows)`;
  const message =
    rows === 0 ? `${check.subject}: no orphan rows${estimate}` : `${check.subject}: ${plural(groups, 'orphan value')} (${fmt(rows)} rows)${examples.length ? `; e.g. ${examples.join(', ')}` : ''}`;
  return finding(check, rows, { kind: 'orphans', count: rows, examples }, message, options);
}

/** Pairs of rows that the exclusion constraint's operators all match: a self-join, bounded by the statement timeout. */
async function exclusionCheck(run: Reader, check: Extract<Check, { type: 'exclusion' }>, options: RunOptions): Promise<Finding> {
  const names = check.keys.map((_, i) => `k${i + 1}`);
  const conflict = check.keys.map((k, i) => `a.${names[i]} ${k.operator} b.${names[i]}`).join(' and ');
  const keysOf = (alias: string) => `json_build_array(${names.map((k) => `${alias}.${k}::text`).join(', ')})`;
  const answer = await run(`with r as materialized (
      select row_number() over () as r, ${check.keys.map((k, i) => `${k.sql} as ${names[i]}`).join(', ')} from ${source(check)}${check.where ? ` where ${check.where}` : ''}
    )
    select (select count(*) from r)::float8 as total, count(*)::float8 as pairs,
           (select json_agg(json_build_array(x, y)) from (select ${keysOf('a')} as x, ${keysOf('b')} as y from r a join r b on a.r < b.r and ${conflict} limit ${EXAMPLES}) e) as examples
      from r a join r b on a.r < b.r and ${conflict}`);
  if (!answer.ok) return failed(check, 'exclusion-violations', answer, options);
  const row = answer.rows[0]!;
  const total = Number(row.total);
  const pairs = Number(row.pairs);
  const examples = ((row.examples as Array<[Array<string | null>, Array<string | null>]> | null) ?? []).map(([a, b]) => `${showKey(a, options.showValues)} / ${showKey(b, options.showValues)}`);
  const message =
    pairs === 0
      ? `${check.subject}: no conflicting rows (checked ${fmt(total)} rows)`
      : `${check.subject}: ${plural(pairs, 'conflicting pair')} of rows${examples.length ? `; e.g. ${examples.join(', ')}` : ''}`;
  return finding(check, pairs, { kind: 'exclusion-violations', count: pairs, examples }, message, options);
}

/**
 * A type change: on PostgreSQL 16+ over a text column, `pg_input_is_valid` counts the
 * values the new type refuses; otherwise the cast runs over the column and the first
 * failure's error names one value (count unknown, at least 1). varchar(n) / char(n)
 * lengths are counted on their own (an explicit cast would truncate them silently).
 */
async function castCheck(run: Reader, check: Extract<Check, { type: 'cast' }>, options: RunOptions): Promise<Finding> {
  const tooLong = check.maxLength === undefined ? 'false' : `char_length(rtrim((${check.source})::text, ' ')) > ${check.maxLength}`;
  const exact = options.serverVersion >= 160000 && check.textSource;
  const bad = exact ? `(${check.source} is not null and not pg_input_is_valid(${check.source}::text, ${literal(check.target)})) or ${tooLong}` : tooLong;
  // count(cast) evaluates the cast on every row; an error stops at the first bad value.
  const answer = await run(
    `select count(*)::float8 as total, (count(*) filter (where ${bad}))::float8 as bad${exact ? '' : `, count((${check.source})::${check.target})::float8 as cast`} from ${source(check)}`,
  );
  const into = `${check.targetLabel}`;
  if (!answer.ok) {
    if (!answer.code.startsWith('22')) return failed(check, 'cast-failures', answer, options);
    // A data exception: at least one value does not convert; its error quotes it, when it quotes one.
    const quoted = quotedIn(answer.message);
    const examples = quoted === undefined ? [] : [showValue(quoted, options.showValues)];
    const reason = options.showValues ? answer.message : reasonOf(answer.code);
    const message = `${check.subject}: at least 1 value cannot become ${into} (${reason})${examples.length ? `; e.g. ${examples.join(', ')}` : ''}`;
    return finding(check, 1, { kind: 'cast-failures', count: 1, examples }, message, options);
  }
  const total = Number(answer.rows[0]!.total);
  const count = Number(answer.rows[0]!.bad);
  let examples: string[] = [];
  if (count > 0) {
    const sample = await run(`select (${check.source})::text as v from ${source(check)} where ${bad} limit ${EXAMPLES}`);
    if (sample.ok) examples = sample.rows.map((r) => showValue(r.v as string | null, options.showValues));
  }
  const what = check.maxLength !== undefined && !exact ? `longer than ${check.maxLength} characters` : `that cannot become ${into}`;
  const message =
    count === 0
      ? `${check.subject}: every value converts to ${into} (checked ${fmt(total)} rows)`
      : `${check.subject}: ${plural(count, 'value')} ${what}${examples.length ? `; e.g. ${examples.join(', ')}` : ''}`;
  return finding(check, count, { kind: 'cast-failures', count, examples }, message, options);
}

/** The severity from the count and the certainty: error only when certain to fail. */
function finding(check: Check, count: number, precheck: PrecheckResult, message: string, options: RunOptions): Finding {
  const severity: Severity = options.uncertain ? 'warning' : count > 0 ? 'error' : 'info';
  return {
    rule: check.rule,
    severity,
    message: options.uncertain ? `${message} (today's data; not certain: ${options.uncertain})` : message,
    ...(count > 0 ? { hint: check.hint } : {}),
    table: check.table.name,
    precheck,
  };
}

/** A query that could not answer: out of time, a lock it would wait for, an expression it cannot evaluate read-only. */
function failed(check: Check, kind: string, answer: Extract<Answer, { ok: false }>, options: RunOptions): Finding {
  const timedOut = answer.code === '57014';
  const locked = answer.code === '55P03';
  const why = timedOut
    ? `the check did not finish within ${fmt(options.timeoutMs)} ms`
    : locked
      ? 'the table is locked by another session right now'
      : answer.code === '25006'
        ? 'the check cannot be evaluated read-only'
        : `the check could not run (${answer.code}: ${options.showValues || answer.code.startsWith('42') ? answer.message : reasonOf(answer.code)})`;
  return {
    rule: check.rule,
    severity: 'warning',
    message: `${check.subject}: not verified: ${why}`,
    table: check.table.name,
    precheck: { kind, count: 0, examples: [], incomplete: true },
  };
}

const REASONS: Record<string, string> = {
  '22P02': 'invalid input',
  '22003': 'out of range',
  '22001': 'too long',
  '22007': 'invalid date/time format',
  '22008': 'date/time out of range',
  '22012': 'division by zero',
  '22023': 'invalid value',
};

/** An error's kind without its message, which may quote the user's data (only class 42, a missing object or bad SQL, is shown as it is). */
function reasonOf(code: string): string {
  return REASONS[code] ?? (code.startsWith('22') ? `data error ${code}` : `error ${code}`);
}

/**
 * The value a data error quotes, if it quotes one: `invalid input syntax for type integer: "abc"`,
 * `invalid input value for enum "Mood": "abc"`, `value "99999999999" is out of range for type integer`.
 */
function quotedIn(message: string): string | undefined {
  if (message.endsWith('"')) {
    const at = message.indexOf(': "');
    return at >= 0 ? message.slice(at + 3, -1) : undefined;
  }
  const range = message.lastIndexOf('" is out of range');
  return message.startsWith('value "') && range > 6 ? message.slice(7, range) : undefined;
}

// ---------------------------------------------------------------------------------------
// Values in output.

function showKey(key: Array<string | null>, showValues: boolean): string {
  const parts = key.map((v) => showValue(v, showValues));
  return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

function showValue(value: string | null, showValues: boolean): string {
  if (value === null) return 'NULL';
  return showValues ? truncate(value) : maskValue(value);
}

function truncate(value: string): string {
  const chars = [...value];
  return chars.length > MAX_VALUE ? `${chars.slice(0, MAX_VALUE - 1).join('')}…` : value;
}

/**
 * A value of the user's data as the plan may print it without `--show-values`: its shape
 * kept, its content hidden. An email keeps its first character and its domain's TLD
 * (`a***@***.com`); numbers, dates, times and UUIDs keep their punctuation and length,
 * every digit or letter a `*` (`****-**-**`); other text keeps its first character
 * (`j***`); a single character is `*`. At most ~40 characters either way.
 */
export function maskValue(value: string | null): string {
  if (value === null) return 'NULL';
  const text = truncate(value);
  if (text === '') return "''";
  const chars = [...text];
  const at = text.lastIndexOf('@');
  if (at > 0 && at < text.length - 1 && !text.slice(at + 1).includes(' ')) {
    const domain = text.slice(at + 1);
    const dot = domain.lastIndexOf('.');
    const tld = dot >= 0 ? domain.slice(dot) : '';
    return `${chars[0]}***@***${tld}`;
  }
  // Digits and punctuation only (numbers, dates, times), or hex with dashes (UUIDs): the shape.
  if (/^[\d\s.,:+\-/T]+$/.test(text) || /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-/.test(text)) return text.replace(/[0-9a-zA-Z]/g, '*');
  if (chars.length === 1) return '*';
  return `${chars[0]}***`;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function plural(n: number, noun: string): string {
  return `${fmt(n)} ${noun}${n === 1 ? '' : 's'}`;
}
