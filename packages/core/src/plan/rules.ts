import type { MigrationRuns } from '../guard/adapter.js';
import type {
  AlterDomainStmt,
  AlterEnumStmt,
  AlterObjectSchemaStmt,
  AlterTableCmd,
  AlterTableStmt,
  ColumnDef,
  Constraint,
  CreateDomainStmt,
  CreateStmt,
  CreateTrigStmt,
  DropStmt,
  IndexStmt,
  ReindexStmt,
  RenameStmt,
  TransactionStmt,
  TruncateStmt,
  VacuumStmt,
} from '@pgsql/types';
import { formatBytes } from '../bytes.js';
import type { CatalogTable } from './catalog.js';
import { displayType, typeChange, writtenType, writtenTypeName } from './column-types.js';
import { addedColumn, indexTable } from './effects.js';
import { as, hasOption, nameParts, partsName, rangeVarName, strings, unwrap, walk } from './nodes.js';
import type { ParsedStatement } from './parse.js';
import type { PlanState, TableRef } from './state.js';
import type { Finding, LockMode, Severity, StatementEffects, TableName } from './types.js';
import { LOCK_MODES } from './types.js';

/** A rule of the catalogue, as `plan.allow`, `plan.severity`, `-- lifeboat:allow` and docs/rules name it. */
export interface RuleInfo {
  name: string;
  /** The severity its findings carry before `plan.severity` changes it. */
  severity: Severity;
  /** One line: what it flags. */
  summary: string;
  /** squawk's rule(s) for the same thing (squawkhq.com/docs/<name>). */
  squawk: string[];
  /** Atlas `migrate lint` analyzer codes for the same thing (atlasgo.io/lint/analyzers). */
  atlas: string[];
  /** Its page, relative to the repository. */
  doc: string;
}

/** What a rule sees of one statement. */
export interface RuleContext {
  stmt: ParsedStatement;
  /** The plan's tables before this statement. */
  state: PlanState;
  effects: StatementEffects;
  touched: TableRef[];
  migration: {
    /** The statements of the same migration before this one. */
    earlier: ParsedStatement[];
    /** How many statements the migration has. */
    size: number;
    /** An explicit BEGIN / START TRANSACTION earlier in the migration is still open. */
    inTransactionBlock: boolean;
    /** How the migrate tool runs this migration's statements, when the orchestrator knows. */
    runs: MigrationRuns | undefined;
  };
}

export type { MigrationRuns };

interface Hit {
  message: string;
  hint?: string;
  table?: TableName;
}

interface Rule extends RuleInfo {
  check(ctx: RuleContext): Hit[];
}

/** A table is "big" for long-lock-on-big-table from this many rows or bytes. */
export const BIG_TABLE = { rows: 1_000_000, bytes: 100_000_000 };

/** "≈1.2M rows, 410 MB" of a live table. */
export function figures(t: CatalogTable): string {
  return `${t.rows === undefined ? 'rows unknown (never analysed)' : `≈${countText(t.rows)} rows`}, ${formatBytes(t.bytes)}`;
}

function countText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** "public.orders (≈1.2M rows, 410 MB)". */
function live(ref: TableRef): string {
  return ref.live ? `${ref.name} (${figures(ref.live)})` : ref.name;
}

function doc(name: string): string {
  return `docs/rules/${name}.md`;
}

/** Each ALTER TABLE subcommand on a table, with the table as the plan knows it. */
function* alterCmds(ctx: RuleContext): Generator<{ ref: TableRef; cmd: AlterTableCmd }> {
  const s = as<AlterTableStmt>(ctx.stmt.node, 'AlterTableStmt');
  if (!s || (s.objtype && s.objtype !== 'OBJECT_TABLE')) return;
  const name = rangeVarName(s.relation);
  if (!name) return;
  const ref = ctx.state.resolve(name);
  for (const c of s.cmds ?? []) {
    const cmd = as<AlterTableCmd>(c, 'AlterTableCmd');
    if (cmd) yield { ref, cmd };
  }
}

/** Constraints an ALTER TABLE adds, table-level or inline in ADD COLUMN, with their columns. */
function* addedConstraints(ctx: RuleContext): Generator<{ ref: TableRef; con: Constraint; columns: string[]; inline: boolean }> {
  for (const { ref, cmd } of alterCmds(ctx)) {
    if (cmd.subtype === 'AT_AddConstraint') {
      const con = as<Constraint>(cmd.def, 'Constraint');
      if (con) yield { ref, con, columns: strings(con.keys ?? con.fk_attrs), inline: false };
    }
    if (cmd.subtype === 'AT_AddColumn') {
      const col = as<ColumnDef>(cmd.def, 'ColumnDef');
      if (col) for (const con of addedColumn(col).constraints) yield { ref, con, columns: [col.colname ?? ''], inline: true };
    }
  }
}

/** Column definitions a statement writes (CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE), for the type style rules. */
function* writtenColumns(ctx: RuleContext): Generator<{ table: string; column: string; col: ColumnDef }> {
  const create = as<CreateStmt>(ctx.stmt.node, 'CreateStmt');
  if (create) {
    const name = rangeVarName(create.relation);
    for (const e of create.tableElts ?? []) {
      const col = as<ColumnDef>(e, 'ColumnDef');
      if (col && name) yield { table: `${name.schema ?? ctx.state.creationSchema}.${name.table}`, column: col.colname ?? '', col };
    }
    return;
  }
  for (const { ref, cmd } of alterCmds(ctx)) {
    const col = as<ColumnDef>(cmd.def, 'ColumnDef');
    if (col && (cmd.subtype === 'AT_AddColumn' || cmd.subtype === 'AT_AlterColumnType')) yield { table: ref.name, column: col.colname ?? cmd.name ?? '', col };
  }
}

const RULE_LIST: Rule[] = [
  // ——— Data destroyed ———
  {
    name: 'ban-drop-table',
    severity: 'warning',
    summary: 'DROP TABLE of a live table destroys its rows',
    squawk: ['ban-drop-table'],
    atlas: ['DS102'],
    doc: doc('ban-drop-table'),
    check(ctx) {
      const s = as<DropStmt>(ctx.stmt.node, 'DropStmt');
      if (!s || (s.removeType !== 'OBJECT_TABLE' && s.removeType !== 'OBJECT_FOREIGN_TABLE')) return [];
      return (s.objects ?? []).flatMap((o) => {
        const name = partsName(nameParts(o));
        const ref = name ? ctx.state.resolve(name) : undefined;
        if (!ref?.live) return [];
        return [{ message: `DROP TABLE ${live(ref)} destroys every row of it`, hint: 'stop using the table first and drop it in a later release, once nothing reads it', table: ref.name }];
      });
    },
  },
  {
    name: 'ban-drop-column',
    severity: 'warning',
    summary: 'DROP COLUMN of a live table destroys its values (and breaks the app still reading it)',
    squawk: ['ban-drop-column'],
    atlas: ['DS103'],
    doc: doc('ban-drop-column'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        if (cmd.subtype !== 'AT_DropColumn' || !ref.live || !ref.live.columns.some((c) => c.name === cmd.name)) continue;
        hits.push({
          message: `DROP COLUMN ${cmd.name} of ${live(ref)} destroys its values in every row`,
          hint: 'stop reading and writing the column first, then drop it in a later release',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'ban-drop-schema',
    severity: 'warning',
    summary: 'DROP SCHEMA destroys the tables in it',
    squawk: ['ban-drop-schema'],
    atlas: ['DS101'],
    doc: doc('ban-drop-schema'),
    check(ctx) {
      const s = as<DropStmt>(ctx.stmt.node, 'DropStmt');
      if (s?.removeType !== 'OBJECT_SCHEMA') return [];
      return (s.objects ?? []).flatMap((o) => {
        const schema = nameParts(o)[0] ?? '';
        const tables = [...ctx.state.catalog.tables.values()].filter((t) => t.schema === schema && ctx.state.exists(ctx.state.resolve({ schema, table: t.table })));
        if (tables.length === 0 && s.behavior !== 'DROP_CASCADE') return [];
        const rows = tables.reduce((n, t) => n + (t.rows ?? 0), 0);
        const bytes = tables.reduce((n, t) => n + t.bytes, 0);
        return [
          {
            message: `DROP SCHEMA ${schema}${s.behavior === 'DROP_CASCADE' ? ' CASCADE' : ''} destroys ${tables.length} table(s) (≈${countText(rows)} rows, ${formatBytes(bytes)}) and everything else in it`,
            hint: 'move what must stay out of the schema first',
          },
        ];
      });
    },
  },
  {
    name: 'ban-drop-database',
    severity: 'error',
    summary: 'DROP DATABASE in a migration',
    squawk: ['ban-drop-database'],
    atlas: [],
    doc: doc('ban-drop-database'),
    check(ctx) {
      const s = as<{ dbname?: string }>(ctx.stmt.node, 'DropdbStmt');
      return s ? [{ message: `DROP DATABASE ${s.dbname} destroys a whole database (and cannot run in a transaction)`, hint: 'drop databases by hand, never from a migration' }] : [];
    },
  },
  {
    name: 'ban-truncate',
    severity: 'warning',
    summary: 'TRUNCATE of a live table destroys its rows',
    squawk: [],
    atlas: [],
    doc: doc('ban-truncate'),
    check(ctx) {
      const s = as<TruncateStmt>(ctx.stmt.node, 'TruncateStmt');
      if (!s) return [];
      return (s.relations ?? []).flatMap((r) => {
        const name = rangeVarName(as(r, 'RangeVar'));
        const ref = name ? ctx.state.resolve(name) : undefined;
        if (!ref?.live) return [];
        return [{ message: `TRUNCATE ${live(ref)} destroys every row of it under ACCESS EXCLUSIVE`, hint: 'delete the rows you mean in batches with a WHERE, or keep a copy first', table: ref.name }];
      });
    },
  },
  {
    name: 'truncate-cascade',
    severity: 'warning',
    summary: 'TRUNCATE … CASCADE also empties every table whose foreign keys reference it',
    squawk: ['ban-truncate-cascade'],
    atlas: [],
    doc: doc('truncate-cascade'),
    check(ctx) {
      const s = as<TruncateStmt>(ctx.stmt.node, 'TruncateStmt');
      if (!s || s.behavior !== 'DROP_CASCADE') return [];
      const named = new Set((s.relations ?? []).map((r) => ctx.state.resolve(rangeVarName(as(r, 'RangeVar')) ?? { table: '' }).live?.name));
      const risk = 'tables' in ctx.effects.atRisk ? ctx.effects.atRisk.tables : [];
      const more = risk.filter((t) => !named.has(t));
      return [
        {
          message: `TRUNCATE … CASCADE also empties ${more.length > 0 ? more.map((t) => `${t} (${figures(ctx.state.catalog.tables.get(t) as CatalogTable)})`).join(', ') : 'every table that references these through a foreign key'}`,
          hint: 'remove CASCADE and name exactly the tables to empty',
        },
      ];
    },
  },
  {
    name: 'delete-without-where',
    severity: 'warning',
    summary: 'DELETE without a WHERE empties a live table',
    squawk: [],
    atlas: [],
    doc: doc('delete-without-where'),
    check: (ctx) => withoutWhere(ctx, 'DeleteStmt', 'DELETE', 'deletes every row of'),
  },
  {
    name: 'update-without-where',
    severity: 'warning',
    summary: 'UPDATE without a WHERE overwrites every row of a live table',
    squawk: [],
    atlas: [],
    doc: doc('update-without-where'),
    check: (ctx) => withoutWhere(ctx, 'UpdateStmt', 'UPDATE', 'overwrites every row of'),
  },
  {
    name: 'narrowing-column-type',
    severity: 'warning',
    summary: 'ALTER COLUMN TYPE to a type that cuts, rounds or refuses existing values',
    squawk: [],
    atlas: [],
    doc: doc('narrowing-column-type'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        if (cmd.subtype !== 'AT_AlterColumnType' || !ref.live) continue;
        const col = as<ColumnDef>(cmd.def, 'ColumnDef');
        const from = ctx.state.column(ref, cmd.name ?? '')?.type;
        const to = writtenType(col?.typeName);
        if (!from || !to) continue;
        const change = typeChange(from, to, col?.raw_default !== undefined);
        if (!change.lossy) continue;
        hits.push({
          message: `ALTER COLUMN ${cmd.name} TYPE ${displayType(to)} on ${live(ref)} narrows ${displayType(from)}: ${change.lossy}`,
          hint: 'add a new column of the new type, copy and check the values, then switch',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'adding-required-field',
    severity: 'warning',
    summary: 'ADD COLUMN … NOT NULL without a DEFAULT fails on a table that has rows',
    squawk: ['adding-required-field'],
    atlas: ['MF103'],
    doc: doc('adding-required-field'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        const col = as<ColumnDef>(cmd.def, 'ColumnDef');
        if (cmd.subtype !== 'AT_AddColumn' || !col || !ref.live || ref.live.rows === 0) continue;
        if (!addedColumn(col).requiredWithoutDefault) continue;
        hits.push({
          message: `ADD COLUMN ${col.colname} NOT NULL without a DEFAULT fails on ${live(ref)} if it has any row (the required-column-on-rows pre-check counts them)`,
          hint: 'add the column with a DEFAULT (no rewrite since PostgreSQL 11), or nullable, backfill, then SET NOT NULL',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  // ——— Transactions ———
  {
    name: 'ban-concurrent-index-in-transaction',
    severity: 'error',
    summary: 'a statement PostgreSQL refuses in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM…) in a migration that runs in one',
    squawk: ['ban-concurrent-index-creation-in-transaction'],
    atlas: ['PG103', 'TX101'],
    doc: doc('ban-concurrent-index-in-transaction'),
    check(ctx) {
      if (ctx.effects.transactional) return [];
      // A COMMIT (or ROLLBACK) earlier in the migration ended the transaction the tool opened: what follows runs outside one.
      if (!ctx.migration.inTransactionBlock && endedTransaction(ctx.migration.earlier)) return [];
      const why = ctx.migration.inTransactionBlock
        ? 'after the BEGIN earlier in this migration'
        : ctx.migration.runs === 'wrapped'
          ? 'in the transaction the migrate tool wraps the migration in'
          : ctx.migration.size > 1 && ctx.migration.runs !== 'autocommit'
            ? `in a migration of ${ctx.migration.size} statements (${ctx.migration.runs === 'script' ? 'sent as one script: an implicit transaction' : 'Prisma sends a migration as one script, an implicit transaction; Drizzle and Knex wrap each migration in a transaction'})`
            : undefined;
      if (!why) return [];
      return [
        {
          message: `${ctx.stmt.kind === 'IndexStmt' ? 'CREATE INDEX CONCURRENTLY' : statementLabel(ctx.stmt)} cannot run inside a transaction block, and runs ${why}: it fails`,
          hint: 'put it alone in a migration of its own (with Knex: `exports.config = { transaction: false }`)',
        },
      ];
    },
  },
  {
    name: 'transaction-nesting',
    severity: 'warning',
    summary: 'BEGIN / COMMIT / ROLLBACK inside a migration the tool already runs in a transaction',
    squawk: ['transaction-nesting', 'ban-uncommitted-transaction'],
    atlas: ['TX201'],
    doc: doc('transaction-nesting'),
    check(ctx) {
      const s = as<TransactionStmt>(ctx.stmt.node, 'TransactionStmt');
      if (!s) return [];
      const kind = String(s.kind);
      const begins = kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START';
      const ends = kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK';
      if (!begins && !ends) return [];
      // A script or a run statement by statement is the user's to make atomic with BEGIN / COMMIT.
      if (ctx.migration.runs === 'script' || ctx.migration.runs === 'autocommit') return [];
      const word = begins ? 'BEGIN' : kind === 'TRANS_STMT_COMMIT' ? 'COMMIT' : 'ROLLBACK';
      return [
        {
          message: `${word} inside a migration: the migrate tool manages the transaction, so this ${begins ? 'nests (a warning, then the tool commits or fails on its own COMMIT)' : 'ends the tool’s transaction early and the rest runs outside it'}`,
          hint: 'remove the transaction statements and let the tool wrap the migration',
        },
      ];
    },
  },
  // ——— Locks, scans and rewrites ———
  {
    name: 'adding-field-with-volatile-default',
    severity: 'warning',
    summary: 'ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), serial, identity, stored generated) rewrites the table',
    squawk: ['adding-field-with-default', 'adding-serial-primary-key-field'],
    atlas: ['PG302', 'PG309', 'PG310'],
    doc: doc('adding-field-with-volatile-default'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        const col = as<ColumnDef>(cmd.def, 'ColumnDef');
        if (cmd.subtype !== 'AT_AddColumn' || !col || !ref.live) continue;
        const added = addedColumn(col);
        if (!added.volatile) continue;
        hits.push({
          message: `ADD COLUMN ${col.colname} with ${added.volatile} as its default rewrites ${live(ref)} under ACCESS EXCLUSIVE`,
          hint: 'add the column without the default (or with a constant one), set the default, then backfill in batches',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'changing-column-type',
    severity: 'warning',
    summary: 'ALTER COLUMN TYPE that is not binary-coercible rewrites the table and its indexes',
    squawk: ['changing-column-type'],
    atlas: ['PG301'],
    doc: doc('changing-column-type'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        if (cmd.subtype !== 'AT_AlterColumnType' || !ref.live) continue;
        const col = as<ColumnDef>(cmd.def, 'ColumnDef');
        const from = ctx.state.column(ref, cmd.name ?? '')?.type;
        const to = writtenType(col?.typeName);
        if (!to || (from && !typeChange(from, to, col?.raw_default !== undefined).rewrite)) continue;
        hits.push({
          message: `ALTER COLUMN ${cmd.name} TYPE ${displayType(to)}${from ? ` (from ${displayType(from)})` : ''} rewrites ${live(ref)} under ACCESS EXCLUSIVE`,
          hint: 'add a new column, backfill it in batches, switch the app, then drop the old one',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'setting-not-null',
    severity: 'warning',
    summary: 'SET NOT NULL scans the whole table under ACCESS EXCLUSIVE (unless a validated CHECK (col IS NOT NULL) exists)',
    squawk: ['adding-not-nullable-field'],
    atlas: ['PG303', 'MF104'],
    doc: doc('setting-not-null'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        if (cmd.subtype !== 'AT_SetNotNull' || !ref.live || !ctx.effects.scans.includes(ref.name)) continue;
        if (ctx.state.column(ref, cmd.name ?? '')?.notNull) continue;
        hits.push({
          message: `ALTER COLUMN ${cmd.name} SET NOT NULL scans ${live(ref)} under ACCESS EXCLUSIVE, and fails if a row holds NULL`,
          hint: `add CHECK (${cmd.name} IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (no scan) and drop the check`,
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'adding-foreign-key-constraint',
    severity: 'warning',
    summary: 'ADD FOREIGN KEY without NOT VALID scans the table while blocking writes to both tables',
    squawk: ['adding-foreign-key-constraint', 'constraint-missing-not-valid'],
    atlas: ['PG306'],
    doc: doc('adding-foreign-key-constraint'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, con, inline } of addedConstraints(ctx)) {
        if (con.contype !== 'CONSTR_FOREIGN' || con.skip_validation || inline || !ref.live) continue;
        const parent = rangeVarName(con.pktable);
        hits.push({
          message: `ADD FOREIGN KEY on ${live(ref)} validates every row under SHARE ROW EXCLUSIVE on it and on ${parent ? ctx.state.resolve(parent).name : 'the referenced table'}: writes to both wait`,
          hint: 'add it NOT VALID, then VALIDATE CONSTRAINT in a later migration (SHARE UPDATE EXCLUSIVE: writes go on)',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'constraint-missing-not-valid',
    severity: 'warning',
    summary: 'ADD CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE; VALIDATE in the same transaction as its NOT VALID add keeps the lock',
    squawk: ['constraint-missing-not-valid'],
    atlas: ['PG305'],
    doc: doc('constraint-missing-not-valid'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, con, inline } of addedConstraints(ctx)) {
        if (con.contype !== 'CONSTR_CHECK' || con.skip_validation || inline || !ref.live) continue;
        hits.push({ message: `ADD CHECK on ${live(ref)} checks every row under ACCESS EXCLUSIVE`, hint: 'add it NOT VALID, then VALIDATE CONSTRAINT in a later migration', table: ref.name });
      }
      for (const { ref, cmd } of alterCmds(ctx)) {
        if (cmd.subtype !== 'AT_ValidateConstraint' || !ref.live || ctx.migration.size < 2) continue;
        if (ctx.migration.runs === 'autocommit' && !ctx.migration.inTransactionBlock) continue;
        const addedHere = ctx.migration.earlier.some((e) => [...walk(e.node)].some(([k, b]) => k === 'Constraint' && (b as Constraint).conname === cmd.name && (b as Constraint).skip_validation));
        if (!addedHere) continue;
        hits.push({
          message: `VALIDATE CONSTRAINT ${cmd.name} runs in the same transaction as its NOT VALID add: the add's lock on ${live(ref)} is held through the whole scan`,
          hint: 'validate in a later migration',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'adding-unique-constraint',
    severity: 'warning',
    summary: 'ADD UNIQUE builds its index under ACCESS EXCLUSIVE (and fails on duplicates)',
    squawk: ['disallowed-unique-constraint'],
    atlas: ['PG105', 'MF101'],
    doc: doc('adding-unique-constraint'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, con, columns } of addedConstraints(ctx)) {
        if (con.contype !== 'CONSTR_UNIQUE' || con.indexname || !ref.live) continue;
        hits.push({
          message: `ADD UNIQUE (${columns.join(', ')}) builds an index over ${live(ref)} under ACCESS EXCLUSIVE: reads and writes wait`,
          hint: 'CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'adding-primary-key-constraint',
    severity: 'warning',
    summary: 'ADD PRIMARY KEY builds its index (and sets its columns NOT NULL) under ACCESS EXCLUSIVE',
    squawk: ['adding-primary-key-constraint', 'adding-serial-primary-key-field'],
    atlas: ['PG104', 'PG304', 'PG312'],
    doc: doc('adding-primary-key-constraint'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, con, columns } of addedConstraints(ctx)) {
        if (con.contype !== 'CONSTR_PRIMARY' || !ref.live) continue;
        const nullable = columns.filter((c) => ctx.state.column(ref, c)?.notNull === false);
        if (con.indexname && nullable.length === 0) continue;
        const what = con.indexname ? `sets ${nullable.join(', ')} NOT NULL, scanning` : 'builds an index over';
        hits.push({
          message: `ADD PRIMARY KEY (${columns.join(', ')}) ${what} ${live(ref)} under ACCESS EXCLUSIVE`,
          hint: 'CREATE UNIQUE INDEX CONCURRENTLY on NOT NULL columns, then ADD PRIMARY KEY USING INDEX',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'adding-exclusion-constraint',
    severity: 'warning',
    summary: 'ADD EXCLUDE builds its index under ACCESS EXCLUSIVE; it cannot be built concurrently or NOT VALID',
    squawk: [],
    atlas: ['PG109'],
    doc: doc('adding-exclusion-constraint'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, con } of addedConstraints(ctx)) {
        if (con.contype !== 'CONSTR_EXCLUSION' || !ref.live) continue;
        hits.push({ message: `ADD EXCLUDE builds an index over ${live(ref)} under ACCESS EXCLUSIVE`, hint: 'add it while the table is small, or in a maintenance window', table: ref.name });
      }
      return hits;
    },
  },
  {
    name: 'require-concurrent-index-creation',
    severity: 'warning',
    summary: 'CREATE INDEX without CONCURRENTLY blocks writes for the whole build',
    squawk: ['require-concurrent-index-creation'],
    atlas: ['PG101', 'PG108'],
    doc: doc('require-concurrent-index-creation'),
    check(ctx) {
      const s = as<IndexStmt>(ctx.stmt.node, 'IndexStmt');
      const name = rangeVarName(s?.relation);
      if (!s || s.concurrent || !name) return [];
      const ref = ctx.state.resolve(name);
      if (!ref.live) return [];
      const partitioned = ref.live.relkind === 'p';
      return [
        {
          message: `CREATE ${s.unique ? 'UNIQUE ' : ''}INDEX on ${live(ref)} blocks writes (SHARE) until the index is built${partitioned ? ' on every partition' : ''}`,
          hint: partitioned
            ? 'create the index ON ONLY the parent, CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX … ATTACH PARTITION'
            : 'CREATE INDEX CONCURRENTLY, alone in its migration',
          table: ref.name,
        },
      ];
    },
  },
  {
    name: 'require-concurrent-index-deletion',
    severity: 'warning',
    summary: 'DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table',
    squawk: ['require-concurrent-index-deletion'],
    atlas: ['PG102'],
    doc: doc('require-concurrent-index-deletion'),
    check(ctx) {
      const s = as<DropStmt>(ctx.stmt.node, 'DropStmt');
      if (s?.removeType !== 'OBJECT_INDEX' || s.concurrent) return [];
      return (s.objects ?? []).flatMap((o) => {
        const ref = indexTable(ctx.state, nameParts(o));
        if (!ref?.live) return [];
        return [
          { message: `DROP INDEX ${nameParts(o).join('.')} takes ACCESS EXCLUSIVE on ${live(ref)}: reads and writes wait`, hint: 'DROP INDEX CONCURRENTLY, alone in its migration', table: ref.name },
        ];
      });
    },
  },
  {
    name: 'require-concurrent-reindex',
    severity: 'warning',
    summary: 'REINDEX without CONCURRENTLY blocks writes (and reads that use the index)',
    squawk: ['require-concurrent-reindex'],
    atlas: [],
    doc: doc('require-concurrent-reindex'),
    check(ctx) {
      const s = as<ReindexStmt>(ctx.stmt.node, 'ReindexStmt');
      if (!s || hasOption(s.params, 'concurrently')) return [];
      const ref = ctx.touched[0];
      if (ref && !ref.live) return [];
      return [
        {
          message: `REINDEX ${ref ? `on ${live(ref)}` : String(s.kind).replace('REINDEX_OBJECT_', '').toLowerCase()} blocks writes while it rebuilds`,
          hint: 'REINDEX … CONCURRENTLY, alone in its migration',
          ...(ref ? { table: ref.name } : {}),
        },
      ];
    },
  },
  {
    name: 'require-concurrent-partition-detach',
    severity: 'warning',
    summary: 'DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the parent',
    squawk: ['require-concurrent-partition-detach'],
    atlas: [],
    doc: doc('require-concurrent-partition-detach'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        if (cmd.subtype !== 'AT_DetachPartition' || !ref.live) continue;
        if (as<{ concurrent?: boolean }>(cmd.def, 'PartitionCmd')?.concurrent) continue;
        hits.push({
          message: `DETACH PARTITION takes ACCESS EXCLUSIVE on ${live(ref)}: every query on it waits`,
          hint: 'DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+), alone in its migration',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'rewrite-under-lock',
    severity: 'warning',
    summary: 'VACUUM FULL, CLUSTER, SET LOGGED / UNLOGGED, SET ACCESS METHOD, SET TABLESPACE, SET EXPRESSION rewrite the table under ACCESS EXCLUSIVE',
    squawk: ['prefer-repack'],
    atlas: ['PG307', 'PG311'],
    doc: doc('rewrite-under-lock'),
    check(ctx) {
      const hits: Hit[] = [];
      const word = rewriteWord(ctx);
      if (!word) return hits;
      for (const table of ctx.effects.rewrites) {
        const ref = ctx.touched.find((t) => t.name === table);
        if (ref?.live) hits.push({ message: `${word} rewrites ${live(ref)} under ACCESS EXCLUSIVE: every query on it waits`, hint: 'run it in a maintenance window, or use pg_repack', table });
      }
      const vacuum = as<VacuumStmt>(ctx.stmt.node, 'VacuumStmt');
      if (vacuum && (vacuum.rels ?? []).length === 0 && hasOption(vacuum.options, 'full'))
        hits.push({ message: 'VACUUM FULL rewrites every table of the database, each under ACCESS EXCLUSIVE', hint: 'run it in a maintenance window' });
      return hits;
    },
  },
  {
    name: 'long-lock-on-big-table',
    severity: 'warning',
    summary: `a lock that blocks writes held through a scan or rewrite of a big table (from ${BIG_TABLE.rows / 1e6}M rows or ${formatBytes(BIG_TABLE.bytes)}, live figures)`,
    squawk: [],
    atlas: [],
    doc: doc('long-lock-on-big-table'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { table, mode } of ctx.effects.locks) {
        if (LOCK_MODES.indexOf(mode) < LOCK_MODES.indexOf('SHARE')) continue;
        const rewrite = ctx.effects.rewrites.includes(table);
        if (!rewrite && !ctx.effects.scans.includes(table)) continue;
        const ref = ctx.touched.find((t) => t.name === table);
        if (!ref?.live || !((ref.live.rows ?? 0) >= BIG_TABLE.rows || ref.live.bytes >= BIG_TABLE.bytes)) continue;
        hits.push({
          message: `${statementLabel(ctx.stmt)} ${rewrite ? 'rewrites' : 'reads all of'} ${live(ref)} while holding ${mode}: ${blocks(mode)} for as long as that takes`,
          hint: 'use the lock-free form the other findings name, or run it in a maintenance window',
          table,
        });
      }
      return hits;
    },
  },
  {
    name: 'renaming-column',
    severity: 'warning',
    summary: 'RENAME COLUMN breaks the app version still running, which uses the old name',
    squawk: ['renaming-column'],
    atlas: ['BC102'],
    doc: doc('renaming-column'),
    check(ctx) {
      const s = as<RenameStmt>(ctx.stmt.node, 'RenameStmt');
      const name = rangeVarName(s?.relation);
      if (s?.renameType !== 'OBJECT_COLUMN' || !name) return [];
      const ref = ctx.state.resolve(name);
      if (!ref.live) return [];
      return [
        {
          message: `RENAME COLUMN ${s.subname} TO ${s.newname} on ${ref.name}: the app still running reads and writes ${s.subname} and fails until it is redeployed`,
          hint: 'add the new column, write both, backfill, switch reads, then drop the old one',
          table: ref.name,
        },
      ];
    },
  },
  {
    name: 'renaming-table',
    severity: 'warning',
    summary: 'RENAME TO / SET SCHEMA of a table breaks the app version still running',
    squawk: ['renaming-table', 'ban-set-schema'],
    atlas: ['BC101'],
    doc: doc('renaming-table'),
    check(ctx) {
      const r = as<RenameStmt>(ctx.stmt.node, 'RenameStmt');
      const m = as<AlterObjectSchemaStmt>(ctx.stmt.node, 'AlterObjectSchemaStmt');
      const name = rangeVarName(r?.relation ?? m?.relation);
      if (!name) return [];
      if (r && r.renameType !== 'OBJECT_TABLE') return [];
      if (m && m.objectType !== 'OBJECT_TABLE') return [];
      const ref = ctx.state.resolve(name);
      if (!ref.live) return [];
      const to = r ? `RENAME TO ${r.newname}` : `SET SCHEMA ${m?.newschema}`;
      return [
        {
          message: `ALTER TABLE ${ref.name} ${to}: the app still running uses the old name and fails until it is redeployed`,
          hint: 'rename, then create a view under the old name for the old app, drop it later',
          table: ref.name,
        },
      ];
    },
  },
  {
    name: 'ban-drop-not-null',
    severity: 'warning',
    summary: 'DROP NOT NULL lets NULLs in that the app still running may not expect',
    squawk: ['ban-drop-not-null'],
    atlas: [],
    doc: doc('ban-drop-not-null'),
    check(ctx) {
      const hits: Hit[] = [];
      for (const { ref, cmd } of alterCmds(ctx)) {
        if (cmd.subtype !== 'AT_DropNotNull' || !ref.live) continue;
        hits.push({
          message: `ALTER COLUMN ${cmd.name} DROP NOT NULL on ${ref.name}: readers that assume a value will meet NULLs`,
          hint: 'make sure every reader handles NULL first',
          table: ref.name,
        });
      }
      return hits;
    },
  },
  {
    name: 'enum-value-add-in-transaction',
    severity: 'warning',
    summary: 'ALTER TYPE … ADD VALUE in a transaction: refused before PostgreSQL 12, and the value cannot be used before the transaction commits',
    squawk: [],
    atlas: [],
    doc: doc('enum-value-add-in-transaction'),
    check(ctx) {
      const s = as<AlterEnumStmt>(ctx.stmt.node, 'AlterEnumStmt');
      if (!s || s.oldVal || !s.newVal) return [];
      const inTx = ctx.migration.inTransactionBlock || ctx.migration.runs === 'wrapped' || (ctx.migration.size > 1 && ctx.migration.runs !== 'autocommit');
      if (!inTx) return [];
      const type = strings(s.typeName).join('.');
      const later = ctx.migration.earlier.length + 1 < ctx.migration.size;
      if (ctx.state.catalog.serverVersion >= 120000 && !later) return [];
      if (ctx.state.catalog.serverVersion < 120000) {
        return [
          {
            message: `ALTER TYPE ${type} ADD VALUE '${s.newVal}' cannot run inside a transaction block on PostgreSQL ${Math.floor(ctx.state.catalog.serverVersion / 10000)}`,
            hint: 'put it alone in a migration of its own',
          },
        ];
      }
      return [
        {
          message: `ALTER TYPE ${type} ADD VALUE '${s.newVal}' runs in the migration's transaction: a statement after it that uses '${s.newVal}' fails (unsafe use of new value)`,
          hint: 'add the value in a migration of its own, before the ones that use it',
        },
      ];
    },
  },
  {
    name: 'ban-alter-domain-with-add-constraint',
    severity: 'warning',
    summary: 'ALTER DOMAIN … ADD CONSTRAINT checks every column of that domain in every table, under lock',
    squawk: ['ban-alter-domain-with-add-constraint'],
    atlas: [],
    doc: doc('ban-alter-domain-with-add-constraint'),
    check(ctx) {
      const s = as<AlterDomainStmt>(ctx.stmt.node, 'AlterDomainStmt');
      if (s?.subtype !== 'C') return [];
      const name = strings(s.typeName).join('.');
      const users = [...ctx.state.catalog.tables.values()].filter((t) => t.columns.some((c) => c.type === name || c.type.endsWith(`.${name}`)));
      return [
        {
          message: `ALTER DOMAIN ${name} ADD CONSTRAINT checks ${users.length > 0 ? users.map((t) => `${t.name} (${figures(t)})`).join(', ') : 'every column of that domain'} under lock`,
          hint: 'put the CHECK on the tables, NOT VALID then VALIDATE; or add the domain constraint NOT VALID',
        },
      ];
    },
  },
  {
    name: 'ban-create-domain-with-constraint',
    severity: 'info',
    summary: 'a domain with a CHECK constraint: changing that constraint later scans every table that uses it',
    squawk: ['ban-create-domain-with-constraint'],
    atlas: [],
    doc: doc('ban-create-domain-with-constraint'),
    check(ctx) {
      const s = as<CreateDomainStmt>(ctx.stmt.node, 'CreateDomainStmt');
      const checks = (s?.constraints ?? []).filter((c) => as<Constraint>(c, 'Constraint')?.contype === 'CONSTR_CHECK');
      if (!s || checks.length === 0) return [];
      return [
        {
          message: `CREATE DOMAIN ${strings(s.domainname).join('.')} with a CHECK: changing it later locks and scans every table that uses the domain`,
          hint: 'put CHECK constraints on the tables instead',
        },
      ];
    },
  },
  {
    name: 'adding-trigger',
    severity: 'info',
    summary: 'CREATE TRIGGER on a live table takes SHARE ROW EXCLUSIVE (writes wait) and changes what every later write does',
    squawk: [],
    atlas: ['PG308'],
    doc: doc('adding-trigger'),
    check(ctx) {
      const s = as<CreateTrigStmt>(ctx.stmt.node, 'CreateTrigStmt');
      const name = rangeVarName(s?.relation);
      if (!name) return [];
      const ref = ctx.state.resolve(name);
      if (!ref.live) return [];
      return [
        {
          message: `CREATE TRIGGER ${s?.trigname} on ${live(ref)} takes SHARE ROW EXCLUSIVE: writes wait behind it, and it behind any open transaction on the table`,
          hint: 'keep the lock wait short (Lifeboat sets lock_timeout for the tool)',
          table: ref.name,
        },
      ];
    },
  },
  {
    name: 'unbounded-changes',
    severity: 'info',
    summary: 'a statement whose changes Lifeboat cannot bound (DO block, procedure, unknown function): the restore point must cover the whole database',
    squawk: [],
    atlas: [],
    doc: doc('unbounded-changes'),
    check(ctx) {
      const risk = ctx.effects.atRisk;
      return 'unbounded' in risk ? [{ message: `${statementLabel(ctx.stmt)}: ${risk.unbounded}, so any table may change`, hint: 'write the change as plain SQL statements where you can' }] : [];
    },
  },
  {
    name: 'identifier-too-long',
    severity: 'warning',
    summary: 'a name longer than 63 bytes, which PostgreSQL cuts without an error',
    squawk: ['identifier-too-long'],
    atlas: [],
    doc: doc('identifier-too-long'),
    check(ctx) {
      // The parser has cut every name to 63 bytes already (with a NOTICE): a name of exactly 63 bytes
      // that the statement's text continues past is one it cut.
      return createdNames(ctx)
        .filter((n) => Buffer.byteLength(n) === MAX_IDENTIFIER && continuesPast(ctx.stmt.sql, n))
        .map((n) => ({
          message: `a name longer than ${MAX_IDENTIFIER} bytes is cut to "${n}": code that uses the full name does not find it`,
          hint: `use names of at most ${MAX_IDENTIFIER} bytes`,
        }));
    },
  },
  // ——— Style ———
  {
    name: 'ban-char-field',
    severity: 'info',
    summary: 'char(n) pads with spaces and is no faster than text',
    squawk: ['ban-char-field'],
    atlas: [],
    doc: doc('ban-char-field'),
    check: (ctx) => typeStyle(ctx, (n) => n === 'bpchar' || n === 'char' || n === 'character', 'char(n) pads values with spaces', 'use text (with a CHECK on length if needed)'),
  },
  {
    name: 'prefer-text-field',
    severity: 'info',
    summary: 'varchar(n): changing n later takes ACCESS EXCLUSIVE (and a rewrite when it shrinks)',
    squawk: ['prefer-text-field'],
    atlas: [],
    doc: doc('prefer-text-field'),
    check: (ctx) =>
      typeStyle(
        ctx,
        (n, mods) => n === 'varchar' && mods > 0,
        'varchar(n) ties the limit to the type: changing it later locks the table',
        'use text with a CHECK (char_length(col) <= n), which can be changed NOT VALID',
      ),
  },
  {
    name: 'prefer-bigint-over-int',
    severity: 'info',
    summary: 'integer / smallint (and serial) columns can run out of values',
    squawk: ['prefer-bigint-over-int', 'prefer-bigint-over-smallint', 'prefer-big-int'],
    atlas: [],
    doc: doc('prefer-bigint-over-int'),
    check: (ctx) =>
      typeStyle(
        ctx,
        (n) => ['int4', 'int2', 'int', 'integer', 'smallint', 'serial', 'serial4', 'smallserial', 'serial2'].includes(n),
        'a 32- or 16-bit integer can run out of values',
        'use bigint (bigserial / bigint identity)',
      ),
  },
  {
    name: 'prefer-identity',
    severity: 'info',
    summary: 'serial columns: prefer GENERATED … AS IDENTITY',
    squawk: ['prefer-identity'],
    atlas: [],
    doc: doc('prefer-identity'),
    check: (ctx) =>
      typeStyle(
        ctx,
        (n) => ['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'].includes(n),
        'serial makes a sequence with its own ownership and permissions',
        'use bigint GENERATED BY DEFAULT AS IDENTITY',
      ),
  },
  {
    name: 'prefer-timestamptz',
    severity: 'info',
    summary: 'timestamp without time zone loses the instant a value means',
    squawk: ['prefer-timestamptz'],
    atlas: [],
    doc: doc('prefer-timestamptz'),
    check: (ctx) => typeStyle(ctx, (n) => n === 'timestamp', 'timestamp without time zone stores no time zone', 'use timestamptz'),
  },
  {
    name: 'prefer-robust-stmts',
    severity: 'info',
    summary: 'a statement outside a transaction without IF [NOT] EXISTS cannot be retried after a partial run',
    squawk: ['prefer-robust-stmts'],
    atlas: [],
    doc: doc('prefer-robust-stmts'),
    check(ctx) {
      if (ctx.effects.transactional) return [];
      const index = as<IndexStmt>(ctx.stmt.node, 'IndexStmt');
      const dropped = as<DropStmt>(ctx.stmt.node, 'DropStmt');
      if ((index && !index.if_not_exists) || (dropped && !dropped.missing_ok)) {
        return [
          {
            message: `${index ? 'CREATE INDEX CONCURRENTLY without IF NOT EXISTS' : 'DROP … CONCURRENTLY without IF EXISTS'} runs outside a transaction: a run that failed half-way leaves it done (or an INVALID index) and the retry fails`,
            hint: index ? 'CREATE INDEX CONCURRENTLY IF NOT EXISTS (and drop an INVALID index left by a failed run)' : 'DROP INDEX CONCURRENTLY IF EXISTS',
          },
        ];
      }
      return [];
    },
  },
];

/** NAMEDATALEN - 1: the longest identifier PostgreSQL keeps whole. */
const MAX_IDENTIFIER = 63;

/** Whether the text holds the name followed by one more identifier character (the name was cut). */
function continuesPast(sql: string, name: string): boolean {
  for (let at = sql.indexOf(name); at >= 0; at = sql.indexOf(name, at + 1)) {
    const next = sql.charAt(at + name.length);
    if (next !== '' && (next === '_' || next === '$' || next.toLowerCase() !== next.toUpperCase() || (next >= '0' && next <= '9'))) return true;
  }
  return false;
}

/** The names a statement gives: tables, columns, constraints, indexes, sequences, views, triggers, renames. */
function createdNames(ctx: RuleContext): string[] {
  const names: string[] = [];
  const found = unwrap(ctx.stmt.node);
  if (!found) return names;
  const [kind, body] = found;
  const rel = (body.relation ?? body.view ?? body.sequence) as { relname?: string } | undefined;
  if (['CreateStmt', 'ViewStmt', 'CreateSeqStmt'].includes(kind) && rel?.relname) names.push(rel.relname);
  if (kind === 'IndexStmt' && typeof body.idxname === 'string') names.push(body.idxname);
  if (kind === 'CreateTrigStmt' && typeof body.trigname === 'string') names.push(body.trigname);
  if (kind === 'RenameStmt' && typeof body.newname === 'string') names.push(body.newname);
  if (kind === 'CreateStmt' || kind === 'AlterTableStmt') {
    for (const [k, b] of walk(kind === 'CreateStmt' ? body.tableElts : body.cmds)) {
      if (k === 'ColumnDef' && typeof b.colname === 'string') names.push(b.colname);
      if (k === 'Constraint' && typeof b.conname === 'string') names.push(b.conname);
    }
  }
  return names;
}

/** Statement kinds that can hold an UPDATE or DELETE (in a CTE, or under EXPLAIN ANALYZE). */
const CAN_HOLD_DML = new Set(['DeleteStmt', 'UpdateStmt', 'InsertStmt', 'MergeStmt', 'SelectStmt', 'ExplainStmt', 'CopyStmt', 'CreateTableAsStmt']);

function withoutWhere(ctx: RuleContext, kind: 'DeleteStmt' | 'UpdateStmt', word: string, does: string): Hit[] {
  const hits: Hit[] = [];
  if (!CAN_HOLD_DML.has(ctx.stmt.kind)) return hits;
  for (const [k, body] of walk(ctx.stmt.node)) {
    if (k !== kind || body.whereClause !== undefined) continue;
    const name = rangeVarName(body.relation as never);
    if (!name) continue;
    const ref = ctx.state.resolve(name);
    if (!ref.live) continue;
    hits.push({ message: `${word} without a WHERE ${does} ${live(ref)}`, hint: `add the WHERE you mean; to really ${word === 'DELETE' ? 'empty' : 'rewrite'} the table, allow it`, table: ref.name });
  }
  return hits;
}

function typeStyle(ctx: RuleContext, matches: (name: string, mods: number) => boolean, why: string, instead: string): Hit[] {
  const hits: Hit[] = [];
  for (const { table, column, col } of writtenColumns(ctx)) {
    const written = writtenTypeName(col.typeName);
    const type = writtenType(col.typeName);
    if (!written || !type) continue;
    if (!matches(written, type.mods.length) && !matches(type.name, type.mods.length)) continue;
    hits.push({ message: `${table}.${column} is ${written.includes('serial') ? written : displayType(type)}: ${why}`, hint: instead });
  }
  return hits;
}

function rewriteWord(ctx: RuleContext): string | undefined {
  const [kind] = unwrap(ctx.stmt.node) ?? [''];
  if (kind === 'VacuumStmt') return 'VACUUM FULL';
  if (kind === 'ClusterStmt') return 'CLUSTER';
  for (const { cmd } of alterCmds(ctx)) {
    const word = { AT_SetLogged: 'SET LOGGED', AT_SetUnLogged: 'SET UNLOGGED', AT_SetAccessMethod: 'SET ACCESS METHOD', AT_SetTableSpace: 'SET TABLESPACE', AT_SetExpression: 'SET EXPRESSION' }[
      String(cmd.subtype)
    ];
    if (word) return word;
  }
  return undefined;
}

function blocks(mode: LockMode): string {
  return mode === 'ACCESS EXCLUSIVE' ? 'every read and write waits' : 'every write waits';
}

/** A short name for a statement: its first words as PostgreSQL's node kind says them. */
export function statementLabel(stmt: ParsedStatement): string {
  const first = stmt.sql.split('\n')[0] ?? '';
  return first.length > 60 ? `${first.slice(0, 57)}…` : first;
}

/** The catalogue: every rule with its default severity, squawk and Atlas equivalents and doc. */
export const RULES: readonly RuleInfo[] = RULE_LIST.map(({ check: _check, ...info }) => info);

/** Every rule's findings for one statement, at the rules' default severities. */
export function runRules(ctx: RuleContext): Finding[] {
  const findings: Finding[] = [];
  for (const rule of RULE_LIST) {
    for (const hit of rule.check(ctx)) {
      findings.push({ rule: rule.name, severity: rule.severity, message: hit.message, ...(hit.hint ? { hint: hit.hint } : {}), ...(hit.table ? { table: hit.table } : {}) });
    }
  }
  return findings;
}

/** The last transaction command among these statements ended a transaction (COMMIT, ROLLBACK, END). */
function endedTransaction(earlier: readonly ParsedStatement[]): boolean {
  for (const stmt of [...earlier].reverse()) {
    const tx = as<{ kind?: string }>(stmt.node, 'TransactionStmt');
    if (!tx) continue;
    return tx.kind === 'TRANS_STMT_COMMIT' || tx.kind === 'TRANS_STMT_ROLLBACK';
  }
  return false;
}
