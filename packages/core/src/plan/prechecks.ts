import type { AlterTableCmd, ColumnDef, Constraint, IndexStmt, Node, RangeVar, TypeName } from '@pgsql/types';
import type pg from 'pg';
import { ident, literal } from '../db/sql.js';
import { type Catalog, type CatalogTable, resolveTable } from './catalog.js';
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
 * give no finding and cost no query.
 */
export async function precheckStatement(client: pg.Client, statement: ParsedStatement, catalog: Catalog, options: PrecheckOptions): Promise<Finding[]> {
  const checks = await checksOf(statement, catalog);
  if (checks.length === 0) return [];
  const findings: Finding[] = [];
  await client.query('begin isolation level repeatable read read only');
  try {
    await client.query(`set local statement_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
    await client.query(`set local lock_timeout = ${Math.max(1, Math.min(LOCK_TIMEOUT_MS, Math.floor(options.timeoutMs)))}`);
    const run = reader(client);
    for (const check of checks) {
      const uncertain = check.uncertain ?? (options.changedEarlier.has(check.table.name) ? `an earlier statement changes ${check.table.name}` : undefined) ?? parentChanged(check, options);
      findings.push(await runCheck(run, check, { ...options, uncertain, serverVersion: catalog.serverVersion }));
    }
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
  hint: string;
}

type Check =
  /** Duplicates (and, for a primary key, NULLs) of a key, optionally over a partial index's rows. */
  | (Base & { type: 'unique'; keys: Key[]; where: string | undefined; nullsNotDistinct: boolean; primaryKey: boolean })
  /** Rows matching a condition (a NULL in a NOT NULL column, a CHECK that is false, a row that exists). */
  | (Base & { type: 'rows'; kind: string; condition: string; examples: Key[]; describe: (count: number, total: number) => string; clean: (total: number) => string })
  /** Rows whose key has no match in the referenced table. */
  | (Base & { type: 'orphans'; parent: CatalogTable; keys: string[]; parentKeys: string[]; matchFull: boolean })
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
    // PostgreSQL runs an ALTER TABLE's type changes before its new constraints, whatever their order.
    const retyped = new Set(cmds.filter((c) => c.subtype === 'AT_AlterColumnType' && c.name).map((c) => c.name!));
    const checks: Check[] = [];
    for (const cmd of cmds) checks.push(...(await commandChecks(cmd, table, catalog, retyped)));
    return checks;
  }
  return [];
}

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
    const elem = param.IndexElem;
    const collate = elem.collation?.length ? ` collate ${elem.collation.map((n) => ident(stringOf(n))).join('.')}` : '';
    if (elem.name) {
      keys.push({ sql: `${ident(elem.name)}${collate}`, label: elem.name, column: true });
      columns.push(elem.name);
    } else if (elem.expr) {
      keys.push({ sql: `(${await deparse(elem.expr)})${collate}`, label: await deparse(elem.expr, { pretty: false }), column: false });
      columns.push(...columnRefs(elem.expr));
    }
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

async function commandChecks(cmd: AlterTableCmd, table: CatalogTable, catalog: Catalog, retyped: ReadonlySet<string>): Promise<Check[]> {
  const touched = (columns: string[]) => columns.find((c) => retyped.has(c));
  const absent = (columns: string[]) => columns.find((c) => !table.columns.some((col) => col.name === c));
  const guard = (rule: string, subject: string, columns: string[], check: () => Promise<Check[]> | Check[]): Promise<Check[]> | Check[] => {
    const missing = absent(columns);
    if (missing !== undefined) return [noteMissing(rule, table, subject, missing)];
    const retypedColumn = touched(columns);
    return Promise.resolve(check()).then((checks) =>
      retypedColumn === undefined ? checks : checks.map((c) => ({ ...c, uncertain: c.uncertain ?? `this statement also changes the type of ${retypedColumn}` })),
    );
  };
  switch (cmd.subtype) {
    case 'AT_SetNotNull': {
      const column = cmd.name;
      if (!column) return [];
      const subject = `${table.name}.${column}`;
      return guard('not-null-nulls', subject, [column], () => [
        {
          type: 'rows',
          rule: 'not-null-nulls',
          kind: 'nulls',
          table,
          subject,
          condition: `${ident(column)} is null`,
          examples: [],
          describe: (count, total) => `${subject}: ${plural(count, 'NULL value')} (of ${fmt(total)} rows): SET NOT NULL will fail`,
          clean: (total) => `${subject}: no NULL values (checked ${fmt(total)} rows)`,
          hint: `fill the NULLs first (UPDATE … SET ${column} = … WHERE ${column} IS NULL in an earlier migration), or keep the column nullable`,
        },
      ]);
    }
    case 'AT_AddConstraint': {
      const def = cmd.def;
      if (!def || !('Constraint' in def)) return [];
      return constraintChecks(def.Constraint, table, catalog, guard, false);
    }
    case 'AT_ValidateConstraint': {
      const existing = table.constraints.find((c) => c.name === cmd.name);
      if (!existing || (existing.type !== 'f' && existing.type !== 'c')) return [];
      const constraint = await constraintOfDefinition(existing.definition);
      return constraint ? constraintChecks(constraint, table, catalog, guard, true) : [];
    }
    case 'AT_AddColumn': {
      const def = cmd.def;
      if (!def || !('ColumnDef' in def)) return [];
      return addColumnChecks(def.ColumnDef, table);
    }
    case 'AT_AlterColumnType': {
      const def = cmd.def;
      if (!cmd.name || !def || !('ColumnDef' in def) || !def.ColumnDef.typeName) return [];
      return castChecks(cmd.name, def.ColumnDef, table, absent);
    }
    default:
      return [];
  }
}

type Guard = (rule: string, subject: string, columns: string[], check: () => Promise<Check[]> | Check[]) => Promise<Check[]> | Check[];

/** pg_get_constraintdef's text back to a Constraint node, through the parser. */
async function constraintOfDefinition(definition: string): Promise<Constraint | undefined> {
  const { parse } = await libpgQuery();
  const tree = (await parse(`alter table t add ${definition}`)) as { stmts?: Array<{ stmt: Node }> };
  const stmt = tree.stmts?.[0]?.stmt;
  if (!stmt || !('AlterTableStmt' in stmt)) return undefined;
  const cmd = stmt.AlterTableStmt.cmds?.[0];
  const def = cmd && 'AlterTableCmd' in cmd ? cmd.AlterTableCmd.def : undefined;
  return def && 'Constraint' in def ? def.Constraint : undefined;
}

async function constraintChecks(constraint: Constraint, table: CatalogTable, catalog: Catalog, guard: Guard, validating: boolean): Promise<Check[]> {
  const keysOf = (nodes: Node[] | undefined) => (nodes ?? []).map(stringOf);
  // NOT VALID: the parser sets skip_validation (and leaves initially_valid unset).
  const notValid = !validating && (constraint.skip_validation === true || constraint.initially_valid !== true);
  switch (constraint.contype) {
    case 'CONSTR_UNIQUE':
    case 'CONSTR_PRIMARY': {
      const primaryKey = constraint.contype === 'CONSTR_PRIMARY';
      const rule = primaryKey ? 'primary-key-violations' : 'unique-duplicates';
      // USING INDEX: the index already holds the values unique; a primary key still needs them NOT NULL (checked by the rehearsal's schema and, rarely, here it is not).
      if (constraint.indexname || !constraint.keys?.length) return [];
      const columns = keysOf(constraint.keys);
      const keys = columns.map((c) => ({ sql: ident(c), label: c, column: true }));
      const subject = subjectOf(table, keys);
      return guard(rule, subject, columns, () => [
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
      return guard('foreign-key-orphans', fullSubject, columns, () => [
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
      return guard('check-violations', subject, columns, () => [
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
    default:
      return [];
  }
}

/**
 * ADD COLUMN: every existing row gets the column's value (its default, its generated
 * expression, NULL), so NOT NULL, UNIQUE and PRIMARY KEY on it are questions about
 * that value over the table's rows.
 */
async function addColumnChecks(column: ColumnDef, table: CatalogTable): Promise<Check[]> {
  const name = column.colname;
  if (!name || !column.typeName) return [];
  const constraints = (column.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []));
  const has = (type: Constraint['contype']) => constraints.some((c) => c.contype === type);
  const typeName = typeNameOf(column.typeName);
  const fromSequence =
    ['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'].includes(typeName.toLowerCase()) ||
    has('CONSTR_IDENTITY') ||
    constraints.some((c) => c.contype === 'CONSTR_DEFAULT' && c.raw_expr && callsFunction(c.raw_expr, 'nextval'));
  // Values from a sequence are distinct and never NULL.
  if (fromSequence) return [];
  const valueNode = constraints.find((c) => (c.contype === 'CONSTR_DEFAULT' || c.contype === 'CONSTR_GENERATED') && c.raw_expr)?.raw_expr;
  const type = await deparse({ TypeName: column.typeName });
  const value = valueNode ? `(${await deparse(valueNode)})::${type}` : undefined;
  const subject = `${table.name}.${name}`;
  const notNull = has('CONSTR_NOTNULL') || column.is_not_null === true;
  const primaryKey = has('CONSTR_PRIMARY');
  const unique = constraints.find((c) => c.contype === 'CONSTR_UNIQUE');
  const checks: Check[] = [];
  // A domain's own default fills the column when it has none.
  const domainDefault = `coalesce((select t.typdefault is not null from pg_type t where t.oid = to_regtype(${literal(type)})), false)`;
  if (primaryKey || unique) {
    const nullsNotDistinct = unique?.nulls_not_distinct === true;
    // With no default every row holds NULL: distinct for UNIQUE; only a primary key or NULLS NOT DISTINCT fails.
    if (value !== undefined || primaryKey || nullsNotDistinct) {
      checks.push({
        type: 'unique',
        rule: primaryKey ? 'primary-key-violations' : 'unique-duplicates',
        table,
        subject,
        keys: [{ sql: value ?? `null::${type}`, label: name, column: true }],
        where: undefined,
        nullsNotDistinct,
        primaryKey,
        hint: 'give the new column distinct values (add it nullable, backfill, then add the constraint), or a default from a sequence',
      });
    }
  }
  if (notNull && !primaryKey) {
    const condition = value === undefined ? `not ${domainDefault}` : `${value} is null`;
    checks.push({
      type: 'rows',
      rule: 'required-column-on-rows',
      kind: 'rows',
      table,
      subject,
      condition,
      examples: [],
      describe: (count) =>
        value === undefined
          ? `${subject}: ADD COLUMN … NOT NULL without a default fails on the table's ${plural(count, 'existing row')}`
          : `${subject}: its default is NULL for ${plural(count, 'existing row')}: NOT NULL fails`,
      clean: (total) => (total === 0 ? `${subject}: NOT NULL without a default: the table is empty now` : `${subject}: NOT NULL: every existing row gets a value (checked ${fmt(total)} rows)`),
      hint: 'add a DEFAULT, or add the column nullable, backfill it, then SET NOT NULL',
    });
  }
  return checks;
}

async function castChecks(column: string, def: ColumnDef, table: CatalogTable, absent: (columns: string[]) => string | undefined): Promise<Check[]> {
  const subject = `${table.name}.${column}`;
  if (absent([column]) !== undefined) return [noteMissing('cast-failures', table, subject, column)];
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
  const usingColumns = using ? columnRefs(using) : [];
  const missing = absent(usingColumns);
  if (missing !== undefined) return [noteMissing('cast-failures', table, subject, missing)];
  return [
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
  ];
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
// Parse-tree helpers.

function stringOf(node: Node): string {
  return 'String' in node ? (node.String.sval ?? '') : '';
}

/** The type's own name, without its schema ("varchar", "int4", "serial"). */
function typeNameOf(typeName: TypeName): string {
  const names = typeName.names ?? [];
  return names.length ? stringOf(names[names.length - 1]!) : '';
}

/** Column names an expression reads (the last part of each ColumnRef). */
function columnRefs(node: unknown): string[] {
  const found: string[] = [];
  walk(node, (key, value) => {
    if (key !== 'ColumnRef') return;
    const fields = (value as { fields?: Node[] }).fields ?? [];
    const last = fields[fields.length - 1];
    if (last && 'String' in last && last.String.sval) found.push(last.String.sval);
  });
  return found;
}

function callsFunction(node: unknown, name: string): boolean {
  let found = false;
  walk(node, (key, value) => {
    if (key !== 'FuncCall') return;
    const names = (value as { funcname?: Node[] }).funcname ?? [];
    const last = names[names.length - 1];
    if (last && stringOf(last) === name) found = true;
  });
  return found;
}

function walk(node: unknown, visit: (key: string, value: unknown) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    visit(key, value);
    walk(value, visit);
  }
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
  }
}

function from(table: CatalogTable): string {
  return `${ident(table.schema)}.${ident(table.table)}`;
}

async function uniqueCheck(run: Reader, check: Extract<Check, { type: 'unique' }>, options: RunOptions): Promise<Finding> {
  const names = check.keys.map((_, i) => `k${i + 1}`);
  const allPresent = names.map((k) => `${k} is not null`).join(' and ');
  const anyNull = names.map((k) => `${k} is null`).join(' or ');
  const duplicate = check.nullsNotDistinct && !check.primaryKey ? 'n > 1' : `n > 1 and ${allPresent}`;
  const sql = `with g as materialized (
      select ${check.keys.map((k, i) => `${k.sql} as ${names[i]}`).join(', ')}, count(*) as n
        from ${from(check.table)}${check.where ? ` where ${check.where}` : ''}
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

async function rowsCheck(run: Reader, check: Extract<Check, { type: 'rows' }>, options: RunOptions): Promise<Finding> {
  const answer = await run(`select count(*)::float8 as total, (count(*) filter (where ${check.condition}))::float8 as count from ${from(check.table)}`);
  if (!answer.ok) return failed(check, check.kind, answer, options);
  const total = Number(answer.rows[0]!.total);
  const count = Number(answer.rows[0]!.count);
  let examples: string[] = [];
  if (count > 0 && check.examples.length > 0) {
    const sample = await run(`select json_build_array(${check.examples.map((k) => `${k.sql}::text`).join(', ')}) as key from ${from(check.table)} where ${check.condition} limit ${EXAMPLES}`);
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
        from ${from(check.table)} c where ${violates}
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
    `select count(*)::float8 as total, (count(*) filter (where ${bad}))::float8 as bad${exact ? '' : `, count((${check.source})::${check.target})::float8 as cast`} from ${from(check.table)}`,
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
    const sample = await run(`select (${check.source})::text as v from ${from(check.table)} where ${bad} limit ${EXAMPLES}`);
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
        : `the check could not run (${answer.code}: ${options.showValues || !answer.code.startsWith('22') ? answer.message : reasonOf(answer.code)})`;
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

/** A data error's kind without the message, which may quote the user's data. */
function reasonOf(code: string): string {
  return REASONS[code] ?? `data error ${code}`;
}

/** The value a data error quotes (`invalid input syntax for type integer: "abc"`), if it quotes one. */
function quotedIn(message: string): string | undefined {
  const first = message.indexOf('"');
  const last = message.lastIndexOf('"');
  return first >= 0 && last > first ? message.slice(first + 1, last) : undefined;
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
