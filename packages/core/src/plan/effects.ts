import type {
  AlterEnumStmt,
  AlterObjectSchemaStmt,
  AlterTableCmd,
  AlterTableStmt,
  ClusterStmt,
  ColumnDef,
  Constraint,
  CreateStmt,
  CreateTableAsStmt,
  CreateTrigStmt,
  DropStmt,
  ExplainStmt,
  IndexElem,
  IndexStmt,
  LockStmt,
  Node,
  PartitionCmd,
  RangeVar,
  RefreshMatViewStmt,
  ReindexStmt,
  RenameStmt,
  RuleStmt,
  SelectStmt,
  TruncateStmt,
  VacuumRelation,
  VacuumStmt,
} from '@pgsql/types';
import type { Catalog, CatalogTable } from './catalog.js';
import { typeChange, writtenType, writtenTypeName } from './column-types.js';
import { as, hasOption, nameParts, partsName, rangeVarName, strings, unknownCall, unwrap, volatileCall, walk } from './nodes.js';
import type { ParsedStatement } from './parse.js';
import type { PlanState, TableRef } from './state.js';
import type { LockMode, StatementEffects, TableName } from './types.js';
import { LOCK_MODES } from './types.js';

/** What one statement does, and the tables it touches as they stand at its point in the plan. */
export interface EffectsResult {
  effects: StatementEffects;
  /** Every table the statement names, resolved (live, created by the plan, or unknown). */
  touched: TableRef[];
}

const AE: LockMode = 'ACCESS EXCLUSIVE';
const SUE: LockMode = 'SHARE UPDATE EXCLUSIVE';
const SRE: LockMode = 'SHARE ROW EXCLUSIVE';
const RE: LockMode = 'ROW EXCLUSIVE';

/** Kinds that change no existing row or column of any table. */
const NO_DATA_CHANGE = new Set([
  'CommentStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'AlterDefaultPrivilegesStmt',
  'AlterOwnerStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'TransactionStmt',
  'CreateFunctionStmt',
  'AlterFunctionStmt',
  'CreateSeqStmt',
  'AlterSeqStmt',
  'CreateEnumStmt',
  'CompositeTypeStmt',
  'CreateDomainStmt',
  'AlterDomainStmt',
  'CreateRangeStmt',
  'DefineStmt',
  'CreateExtensionStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
  'CreateRoleStmt',
  'AlterRoleStmt',
  'AlterRoleSetStmt',
  'DropRoleStmt',
  'CreateStatsStmt',
  'AlterStatsStmt',
  'NotifyStmt',
  'ListenStmt',
  'UnlistenStmt',
  'CreateCastStmt',
  'CreateOpClassStmt',
  'CreateOpFamilyStmt',
  'AlterOpFamilyStmt',
  'CreateConversionStmt',
  'CreateFdwStmt',
  'CreateForeignServerStmt',
  'CreateUserMappingStmt',
  'CreateForeignTableStmt',
  'ImportForeignSchemaStmt',
  'CreateEventTrigStmt',
  'AlterEventTrigStmt',
  'SecLabelStmt',
  'CreatePublicationStmt',
  'AlterPublicationStmt',
  'CreateSubscriptionStmt',
  'AlterSubscriptionStmt',
  'DropSubscriptionStmt',
  'CreateSchemaStmt',
  'ViewStmt',
  'CreateTrigStmt',
  'RuleStmt',
  'LockStmt',
  'VacuumStmt',
  'ClusterStmt',
  'ReindexStmt',
  'CheckPointStmt',
  'DiscardStmt',
  'DeallocateStmt',
  'PrepareStmt',
  'CreatedbStmt',
  'DropdbStmt',
  'AlterDatabaseStmt',
  'AlterDatabaseSetStmt',
  'AlterDatabaseRefreshCollStmt',
  'AlterSystemStmt',
  'CreateTableSpaceStmt',
  'DropTableSpaceStmt',
  'AlterTableSpaceOptionsStmt',
  'AlterCollationStmt',
  'CreatePLangStmt',
  'CreateAmStmt',
  'CreateTransformStmt',
  'AlterTSConfigurationStmt',
  'AlterTSDictionaryStmt',
  'IndexStmt',
  'CreateStmt',
]);

/** Statements PostgreSQL refuses inside a transaction block (whatever their options, see nonTransactional for the rest). */
const NEVER_IN_TRANSACTION = new Set(['CreatedbStmt', 'DropdbStmt', 'AlterSystemStmt', 'CreateTableSpaceStmt', 'DropTableSpaceStmt']);

class Effects {
  private readonly locks = new Map<TableName, LockMode>();
  private readonly rewrites = new Set<TableName>();
  private readonly scans = new Set<TableName>();
  private readonly risk = new Set<TableName>();
  private unboundedReason: string | undefined;
  readonly touched: TableRef[] = [];
  transactional = true;
  readonly creates: StatementEffects['creates'] = [];

  constructor(readonly state: PlanState) {}

  touch(ref: TableRef): TableRef {
    if (!this.touched.some((t) => t.name === ref.name)) this.touched.push(ref);
    return ref;
  }

  lock(ref: TableRef, mode: LockMode): void {
    this.touch(ref);
    const had = this.locks.get(ref.name);
    if (!had || LOCK_MODES.indexOf(mode) > LOCK_MODES.indexOf(had)) this.locks.set(ref.name, mode);
  }

  /** A rewrite or a scan of an empty table created by the plan costs nothing and is not reported. */
  rewrite(ref: TableRef): void {
    if (ref.live) this.rewrites.add(ref.name);
  }

  scan(ref: TableRef): void {
    if (ref.live) this.scans.add(ref.name);
  }

  /** Existing rows or columns of a live table can change. */
  atRisk(ref: TableRef): void {
    if (ref.live) this.risk.add(ref.live.name);
  }

  atRiskName(name: TableName): void {
    this.risk.add(name);
  }

  unbounded(reason: string): void {
    this.unboundedReason ??= reason;
  }

  create(kind: StatementEffects['creates'][number]['kind'], name: string): void {
    this.creates.push({ kind, name });
  }

  result(): EffectsResult {
    return {
      effects: {
        locks: [...this.locks].map(([table, mode]) => ({ table, mode })),
        rewrites: [...this.rewrites],
        scans: [...this.scans],
        transactional: this.transactional,
        atRisk: this.unboundedReason ? { unbounded: this.unboundedReason } : { tables: [...this.risk].sort() },
        creates: this.creates,
      },
      touched: this.touched,
    };
  }
}

/**
 * The effects of one statement at its point in the plan (the state holds what the earlier
 * statements did; this function does not change it). Locks follow PostgreSQL's documented
 * level for each command and ALTER TABLE subcommand; rewrites and scans are reported for
 * live tables only (a table the plan created is empty).
 */
export function effectsOf(stmt: ParsedStatement, state: PlanState): EffectsResult {
  const fx = new Effects(state);
  const found = unwrap(stmt.node);
  if (!found) {
    fx.unbounded('an empty statement');
    return fx.result();
  }
  const [kind, body] = found;
  if (NEVER_IN_TRANSACTION.has(kind)) fx.transactional = false;
  switch (kind) {
    case 'AlterTableStmt':
      alterTable(fx, body as AlterTableStmt);
      break;
    case 'RenameStmt':
      rename(fx, body as RenameStmt);
      break;
    case 'AlterObjectSchemaStmt': {
      const s = body as AlterObjectSchemaStmt;
      const name = rangeVarName(s.relation);
      if (name && ['OBJECT_TABLE', 'OBJECT_FOREIGN_TABLE', 'OBJECT_MATVIEW', 'OBJECT_VIEW'].includes(String(s.objectType))) {
        const ref = state.resolve(name);
        fx.lock(ref, AE);
        fx.atRisk(ref);
      }
      break;
    }
    case 'CreateStmt':
      createTable(fx, body as CreateStmt);
      break;
    case 'CreateTableAsStmt': {
      const s = body as CreateTableAsStmt;
      const name = rangeVarName(s.into?.rel);
      if (name) fx.create(s.objtype === 'OBJECT_MATVIEW' ? 'view' : 'table', qualified(state, name));
      dml(fx, s.query);
      break;
    }
    case 'ViewStmt': {
      const name = rangeVarName((body as { view?: RangeVar }).view);
      if (name) {
        const ref = state.resolve(name);
        if (ref.live) fx.lock(ref, AE);
        else fx.create('view', qualified(state, name));
      }
      break;
    }
    case 'IndexStmt':
      createIndex(fx, body as IndexStmt);
      break;
    case 'DropStmt':
      drop(fx, body as DropStmt);
      break;
    case 'TruncateStmt':
      truncate(fx, body as TruncateStmt);
      break;
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
    case 'CopyStmt':
      dml(fx, stmt.node);
      break;
    case 'SelectStmt': {
      const into = rangeVarName((body as SelectStmt).intoClause?.rel);
      if (into) fx.create('table', qualified(state, into));
      dml(fx, stmt.node);
      break;
    }
    case 'ExplainStmt': {
      const s = body as ExplainStmt;
      if (hasOption(s.options, 'analyze')) dml(fx, s.query);
      break;
    }
    case 'DoStmt':
      fx.unbounded('a DO block runs code Lifeboat cannot follow');
      break;
    case 'CallStmt': {
      const call = (body as { funccall?: { funcname?: Node[] } }).funccall;
      fx.unbounded(`CALL ${strings(call?.funcname).join('.')}() runs a procedure Lifeboat cannot follow`);
      break;
    }
    case 'ExecuteStmt':
      fx.unbounded('EXECUTE runs a prepared statement Lifeboat cannot see');
      break;
    case 'AlterExtensionStmt':
      fx.unbounded("an extension's update script can change tables");
      break;
    case 'VacuumStmt':
      vacuum(fx, body as VacuumStmt);
      break;
    case 'ClusterStmt': {
      const name = rangeVarName((body as ClusterStmt).relation);
      if (!name) fx.transactional = false;
      else {
        const ref = state.resolve(name);
        fx.lock(ref, AE);
        fx.rewrite(ref);
      }
      break;
    }
    case 'ReindexStmt':
      reindex(fx, body as ReindexStmt);
      break;
    case 'RefreshMatViewStmt': {
      const s = body as RefreshMatViewStmt;
      const name = rangeVarName(s.relation);
      if (name) {
        const ref = state.resolve(name);
        fx.lock(ref, s.concurrent ? 'EXCLUSIVE' : AE);
        fx.atRisk(ref);
      }
      break;
    }
    case 'LockStmt': {
      const s = body as LockStmt;
      const mode = LOCK_MODES[(s.mode ?? 8) - 1] ?? AE;
      for (const r of s.relations ?? []) {
        const name = rangeVarName(as<RangeVar>(r, 'RangeVar'));
        if (name) fx.lock(state.resolve(name), mode);
      }
      break;
    }
    case 'CreateTrigStmt': {
      const s = body as CreateTrigStmt;
      const name = rangeVarName(s.relation);
      if (name) fx.lock(state.resolve(name), SRE);
      if (s.trigname) fx.create('trigger', s.trigname);
      break;
    }
    case 'RuleStmt': {
      const s = body as RuleStmt;
      const name = rangeVarName(s.relation);
      if (name) fx.lock(state.resolve(name), AE);
      if (s.rulename) fx.create('other', `rule ${s.rulename}`);
      break;
    }
    case 'AlterEnumStmt': {
      const s = body as AlterEnumStmt;
      const type = strings(s.typeName);
      if (s.oldVal) for (const t of tablesWithType(state.catalog, type)) fx.atRiskName(t.name);
      else if (state.catalog.serverVersion < 120000) fx.transactional = false;
      break;
    }
    case 'CreateFunctionStmt':
      fx.create('function', strings((body as { funcname?: Node[] }).funcname).join('.'));
      break;
    case 'CreateSeqStmt': {
      const name = rangeVarName((body as { sequence?: RangeVar }).sequence);
      if (name) fx.create('sequence', qualified(state, name));
      break;
    }
    case 'CreateEnumStmt':
    case 'CreateRangeStmt':
      fx.create('type', strings((body as { typeName?: Node[] }).typeName).join('.'));
      break;
    case 'CompositeTypeStmt': {
      const name = rangeVarName((body as { typevar?: RangeVar }).typevar);
      if (name) fx.create('type', qualified(state, name));
      break;
    }
    case 'CreateDomainStmt':
      fx.create('type', strings((body as { domainname?: Node[] }).domainname).join('.'));
      break;
    case 'CreateSchemaStmt': {
      const s = body as { schemaname?: string; schemaElts?: Node[] };
      if (s.schemaname) fx.create('schema', s.schemaname);
      for (const element of s.schemaElts ?? []) {
        const table = rangeVarName(as<CreateStmt>(element, 'CreateStmt')?.relation);
        if (table) fx.create('table', `${table.schema ?? s.schemaname}.${table.table}`);
      }
      break;
    }
    case 'CreateExtensionStmt':
      fx.create('other', `extension ${String((body as { extname?: string }).extname)}`);
      break;
    default:
      if (!NO_DATA_CHANGE.has(kind)) fx.unbounded(`Lifeboat does not classify ${kind} statements`);
  }
  return fx.result();
}

function qualified(state: PlanState, name: { schema?: string | undefined; table: string }): string {
  return `${name.schema ?? state.creationSchema}.${name.table}`;
}

function alterTable(fx: Effects, s: AlterTableStmt): void {
  const name = rangeVarName(s.relation);
  if (!name) return;
  const objtype = String(s.objtype ?? 'OBJECT_TABLE');
  if (objtype === 'OBJECT_TYPE') {
    // A composite type's attributes: dropping or retyping one changes every column of that type.
    const changes = (s.cmds ?? []).some((c) => ['AT_DropColumn', 'AT_AlterColumnType'].includes(String(as<AlterTableCmd>(c, 'AlterTableCmd')?.subtype)));
    if (changes) fx.unbounded(`ALTER TYPE ${name.table} changes the columns of every table that uses it`);
    return;
  }
  if (objtype === 'OBJECT_INDEX' || objtype === 'OBJECT_SEQUENCE') return;
  const ref = fx.state.resolve(name);
  if (objtype === 'OBJECT_VIEW' || objtype === 'OBJECT_MATVIEW') {
    fx.lock(ref, AE);
    return;
  }
  for (const c of s.cmds ?? []) {
    const cmd = as<AlterTableCmd>(c, 'AlterTableCmd');
    if (cmd) alterTableCmd(fx, ref, cmd);
  }
}

function alterTableCmd(fx: Effects, ref: TableRef, cmd: AlterTableCmd): void {
  const state = fx.state;
  switch (cmd.subtype) {
    case 'AT_AddColumn': {
      fx.lock(ref, AE);
      const col = as<ColumnDef>(cmd.def, 'ColumnDef');
      if (!col) return;
      const column = addedColumn(col);
      if (column.rewrites) fx.rewrite(ref);
      if (column.requiredWithoutDefault) fx.scan(ref);
      for (const con of column.constraints) addConstraint(fx, ref, con, [col.colname ?? '']);
      return;
    }
    case 'AT_SetNotNull':
      fx.lock(ref, AE);
      if (!(state.catalog.serverVersion >= 120000 && state.hasNotNullCheck(ref, cmd.name ?? ''))) fx.scan(ref);
      return;
    case 'AT_SetExpression':
      fx.lock(ref, AE);
      fx.rewrite(ref);
      fx.atRisk(ref);
      return;
    case 'AT_SetStatistics':
    case 'AT_SetOptions':
    case 'AT_ResetOptions':
    case 'AT_ClusterOn':
    case 'AT_DropCluster':
    case 'AT_SetRelOptions':
    case 'AT_ResetRelOptions':
    case 'AT_ReplaceRelOptions':
    case 'AT_DetachPartitionFinalize':
      fx.lock(ref, SUE);
      return;
    case 'AT_DropColumn':
      fx.lock(ref, AE);
      fx.atRisk(ref);
      return;
    case 'AT_AddConstraint':
    case 'AT_AddIndex': {
      const con = as<Constraint>(cmd.def, 'Constraint');
      if (con) addConstraint(fx, ref, con, strings(con.keys));
      else fx.lock(ref, AE);
      return;
    }
    case 'AT_AlterConstraint':
      fx.lock(ref, SRE);
      return;
    case 'AT_ValidateConstraint': {
      fx.lock(ref, SUE);
      fx.scan(ref);
      const fk = ref.live?.constraints.find((c) => c.name === cmd.name)?.references;
      if (fk) fx.lock(state.resolve(splitName(fk.table)), 'ROW SHARE');
      return;
    }
    case 'AT_DropConstraint': {
      fx.lock(ref, AE);
      const fk = ref.live?.constraints.find((c) => c.name === cmd.name)?.references;
      if (fk) fx.lock(state.resolve(splitName(fk.table)), AE);
      return;
    }
    case 'AT_AlterColumnType': {
      fx.lock(ref, AE);
      fx.atRisk(ref);
      const col = as<ColumnDef>(cmd.def, 'ColumnDef');
      const to = writtenType(col?.typeName);
      const from = state.column(ref, cmd.name ?? '')?.type;
      if (!from || !to || typeChange(from, to, col?.raw_default !== undefined).rewrite) fx.rewrite(ref);
      // Foreign keys of other tables over the column are re-validated: each referencing table is scanned.
      for (const r of ref.live?.referencedBy ?? []) {
        const fk = state.catalog.tables.get(r.table)?.constraints.find((c) => c.name === r.constraint);
        if (!fk?.references?.columns.includes(cmd.name ?? '')) continue;
        const child = state.resolve(splitName(r.table));
        fx.lock(child, SRE);
        fx.scan(child);
      }
      return;
    }
    case 'AT_SetLogged':
    case 'AT_SetUnLogged':
    case 'AT_SetAccessMethod':
    case 'AT_SetTableSpace':
      fx.lock(ref, AE);
      fx.rewrite(ref);
      return;
    case 'AT_EnableTrig':
    case 'AT_EnableAlwaysTrig':
    case 'AT_EnableReplicaTrig':
    case 'AT_EnableTrigAll':
    case 'AT_EnableTrigUser':
    case 'AT_DisableTrig':
    case 'AT_DisableTrigAll':
    case 'AT_DisableTrigUser':
      fx.lock(ref, SRE);
      return;
    case 'AT_AttachPartition': {
      fx.lock(ref, SUE);
      const part = rangeVarName(as<PartitionCmd>(cmd.def, 'PartitionCmd')?.name);
      if (part) {
        const p = state.resolve(part);
        fx.lock(p, AE);
        fx.scan(p);
      }
      return;
    }
    case 'AT_DetachPartition': {
      const pc = as<PartitionCmd>(cmd.def, 'PartitionCmd');
      fx.lock(ref, pc?.concurrent ? SUE : AE);
      if (pc?.concurrent) fx.transactional = false;
      const part = rangeVarName(pc?.name);
      if (part) fx.lock(state.resolve(part), AE);
      // The parent's rows are the partitions' rows: detaching one takes them out of it.
      fx.atRisk(ref);
      return;
    }
    case 'AT_AddInherit':
    case 'AT_DropInherit': {
      fx.lock(ref, AE);
      const parent = rangeVarName(as<RangeVar>(cmd.def, 'RangeVar'));
      if (parent) {
        const p = state.resolve(parent);
        fx.lock(p, SUE);
        fx.atRisk(p);
      }
      return;
    }
    default:
      fx.lock(ref, AE);
  }
}

/** What an ADD COLUMN's definition implies. */
export function addedColumn(col: ColumnDef): { rewrites: boolean; volatile?: string; requiredWithoutDefault: boolean; constraints: Constraint[] } {
  const constraints: Constraint[] = [];
  let notNull = false;
  let hasDefault = false;
  let volatile: string | undefined;
  for (const n of col.constraints ?? []) {
    const con = as<Constraint>(n, 'Constraint');
    if (!con) continue;
    switch (con.contype) {
      case 'CONSTR_NOTNULL':
        notNull = true;
        break;
      case 'CONSTR_DEFAULT': {
        hasDefault = true;
        const v = volatileCall(con.raw_expr);
        if (v) volatile = `${v}()`;
        break;
      }
      case 'CONSTR_IDENTITY':
        hasDefault = true;
        volatile = 'an identity';
        break;
      case 'CONSTR_GENERATED':
        hasDefault = true;
        volatile = 'a stored generated expression';
        break;
      case 'CONSTR_PRIMARY':
        notNull = true;
        constraints.push(con);
        break;
      case 'CONSTR_UNIQUE':
      case 'CONSTR_CHECK':
      case 'CONSTR_FOREIGN':
      case 'CONSTR_EXCLUSION':
        constraints.push(con);
        break;
      default:
        break;
    }
  }
  const written = writtenTypeName(col.typeName);
  if (written && ['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'].includes(written)) {
    hasDefault = true;
    volatile = `${written} (nextval())`;
  }
  return { rewrites: volatile !== undefined, ...(volatile ? { volatile } : {}), requiredWithoutDefault: notNull && !hasDefault, constraints };
}

function addConstraint(fx: Effects, ref: TableRef, con: Constraint, columns: string[]): void {
  const state = fx.state;
  switch (con.contype) {
    case 'CONSTR_FOREIGN': {
      fx.lock(ref, SRE);
      const parent = rangeVarName(con.pktable);
      if (parent) fx.lock(state.resolve(parent), SRE);
      if (!con.skip_validation) fx.scan(ref);
      return;
    }
    case 'CONSTR_CHECK':
      fx.lock(ref, AE);
      if (!con.skip_validation) fx.scan(ref);
      return;
    case 'CONSTR_PRIMARY':
    case 'CONSTR_UNIQUE': {
      fx.lock(ref, AE);
      const keys = con.keys ? strings(con.keys) : columns;
      // PRIMARY KEY sets NOT NULL on its columns: a scan unless they are NOT NULL already.
      const nullable = con.contype === 'CONSTR_PRIMARY' && keys.some((k) => state.column(ref, k)?.notNull === false);
      if (!con.indexname || nullable) fx.scan(ref);
      if (!con.indexname) fx.create('index', con.conname ?? `${ref.name}_${keys.join('_')}_${con.contype === 'CONSTR_PRIMARY' ? 'pkey' : 'key'}`);
      return;
    }
    default:
      fx.lock(ref, AE);
      fx.scan(ref);
  }
}

function rename(fx: Effects, s: RenameStmt): void {
  const state = fx.state;
  const name = rangeVarName(s.relation);
  switch (s.renameType) {
    case 'OBJECT_TABLE':
    case 'OBJECT_FOREIGN_TABLE':
    case 'OBJECT_MATVIEW':
    case 'OBJECT_VIEW':
    case 'OBJECT_COLUMN':
      if (name) {
        const ref = state.resolve(name);
        fx.lock(ref, AE);
        // The data must come back under its old name (or the column's).
        fx.atRisk(ref);
      }
      return;
    case 'OBJECT_TABCONSTRAINT':
    case 'OBJECT_TRIGGER':
    case 'OBJECT_RULE':
    case 'OBJECT_POLICY':
      if (name) fx.lock(state.resolve(name), AE);
      return;
    case 'OBJECT_SCHEMA': {
      const schema = s.subname ?? nameParts(s.object)[0];
      for (const t of state.catalog.tables.values()) if (t.schema === schema) fx.atRiskName(t.name);
      return;
    }
    default:
      return;
  }
}

function createTable(fx: Effects, s: CreateStmt): void {
  const state = fx.state;
  const name = rangeVarName(s.relation);
  if (!name) return;
  const existing = state.resolve(name);
  // CREATE TABLE IF NOT EXISTS over a table that exists does nothing.
  if (s.if_not_exists && state.exists(existing)) return;
  const table = qualified(state, name);
  fx.create('table', table);
  for (const parent of s.inhRelations ?? []) {
    const p = rangeVarName(as<RangeVar>(parent, 'RangeVar'));
    if (p) fx.lock(state.resolve(p), s.partbound ? AE : SUE);
  }
  for (const [kind, body] of walk(s.tableElts ?? [])) {
    if (kind === 'ColumnDef') {
      const written = writtenTypeName((body as ColumnDef).typeName);
      if (written && ['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'].includes(written)) {
        fx.create('sequence', `${table}_${String((body as ColumnDef).colname)}_seq`);
      }
    }
    if (kind !== 'Constraint') continue;
    const con = body as Constraint;
    if (con.contype === 'CONSTR_FOREIGN') {
      const parent = rangeVarName(con.pktable);
      if (parent) fx.lock(state.resolve(parent), SRE);
    }
    if (con.contype === 'CONSTR_PRIMARY' || con.contype === 'CONSTR_UNIQUE') fx.create('index', con.conname ?? `${table}_${con.contype === 'CONSTR_PRIMARY' ? 'pkey' : 'key'}`);
  }
}

function createIndex(fx: Effects, s: IndexStmt): void {
  const name = rangeVarName(s.relation);
  if (!name) return;
  const ref = fx.state.resolve(name);
  fx.lock(ref, s.concurrent ? SUE : 'SHARE');
  if (s.concurrent) fx.transactional = false;
  fx.scan(ref);
  const columns = (s.indexParams ?? []).map((p) => as<IndexElem>(p, 'IndexElem')?.name ?? 'expr');
  fx.create('index', `${ref.name.slice(0, ref.name.indexOf('.'))}.${s.idxname ?? `${name.table}_${columns.join('_')}_idx`}`);
}

/** The live table an index belongs to, by the index's name. */
export function indexTable(state: PlanState, parts: string[]): TableRef | undefined {
  const written = partsName(parts);
  if (!written) return undefined;
  const schemas = written.schema ? [written.schema] : state.catalog.searchPath;
  for (const schema of schemas) {
    for (const t of state.catalog.tables.values()) {
      if (t.schema === schema && t.indexes.some((i) => i.name === written.table)) return state.resolve({ schema: t.schema, table: t.table });
    }
  }
  return undefined;
}

function drop(fx: Effects, s: DropStmt): void {
  const state = fx.state;
  const cascade = s.behavior === 'DROP_CASCADE';
  const objects = (s.objects ?? []).map((o) => nameParts(o));
  switch (s.removeType) {
    case 'OBJECT_TABLE':
    case 'OBJECT_FOREIGN_TABLE':
    case 'OBJECT_MATVIEW':
      for (const parts of objects) {
        const name = partsName(parts);
        if (!name) continue;
        const ref = state.resolve(name);
        fx.lock(ref, AE);
        fx.atRisk(ref);
      }
      return;
    case 'OBJECT_VIEW':
      for (const parts of objects) {
        const name = partsName(parts);
        if (name) fx.lock(state.resolve(name), AE);
      }
      return;
    case 'OBJECT_INDEX':
      if (s.concurrent) fx.transactional = false;
      for (const parts of objects) {
        const table = indexTable(state, parts);
        if (table) fx.lock(table, s.concurrent ? SUE : AE);
      }
      return;
    case 'OBJECT_SCHEMA':
      for (const parts of objects) {
        const schema = parts[0];
        for (const t of state.catalog.tables.values()) {
          if (t.schema === schema) {
            fx.lock(state.resolve({ schema: t.schema, table: t.table }), AE);
            fx.atRiskName(t.name);
          }
        }
        // CASCADE drops the columns of other tables whose type lives in the schema.
        if (cascade) for (const t of tablesWithTypeIn(state.catalog, schema ?? '')) fx.atRiskName(t.name);
      }
      return;
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      if (cascade) for (const parts of objects) for (const t of tablesWithType(state.catalog, parts)) fx.atRiskName(t.name);
      return;
    case 'OBJECT_TRIGGER':
    case 'OBJECT_RULE':
    case 'OBJECT_POLICY':
      for (const parts of objects) {
        const name = partsName(parts.slice(0, -1));
        if (name) fx.lock(state.resolve(name), AE);
      }
      return;
    case 'OBJECT_SEQUENCE':
      fx.unbounded('a dropped sequence keeps its value in no table');
      return;
    default:
      // A function, extension or operator dropped with CASCADE takes the columns, defaults and generated columns that use it.
      if (cascade) fx.unbounded(`DROP ${String(s.removeType).replace('OBJECT_', '')} … CASCADE can drop columns of any table`);
  }
}

function truncate(fx: Effects, s: TruncateStmt): void {
  const state = fx.state;
  const seen = new Set<TableName>();
  const queue: TableRef[] = [];
  for (const r of s.relations ?? []) {
    const name = rangeVarName(as<RangeVar>(r, 'RangeVar'));
    if (name) queue.push(state.resolve(name));
  }
  while (queue.length > 0) {
    const ref = queue.shift() as TableRef;
    if (seen.has(ref.name)) continue;
    seen.add(ref.name);
    fx.lock(ref, AE);
    fx.atRisk(ref);
    if (state.hasNewTrigger(ref)) fx.unbounded(`a trigger or rule the plan created on ${ref.name} runs code Lifeboat cannot follow`);
    if (s.behavior !== 'DROP_CASCADE') continue;
    for (const child of ref.live?.referencedBy ?? []) queue.push(state.resolve(splitName(child.table)));
    for (const child of state.planChildren(ref)) queue.push(state.resolve(splitName(child)));
  }
}

/**
 * Data-changing statements anywhere in a tree (a CTE, EXPLAIN ANALYZE, INSERT … SELECT):
 * UPDATE, DELETE, MERGE and INSERT … ON CONFLICT DO UPDATE put their target at risk; a plain
 * INSERT or COPY FROM adds rows only. A call to a function Lifeboat does not know, a view or
 * foreign table as the target, or a trigger the plan created make it unbounded.
 */
function dml(fx: Effects, node: unknown): void {
  const state = fx.state;
  const call = unknownCall(node);
  if (call) fx.unbounded(`${call}() is a function Lifeboat cannot follow`);
  for (const [kind, body] of walk(node)) {
    let target: RangeVar | undefined;
    let changes = false;
    if (kind === 'UpdateStmt' || kind === 'DeleteStmt' || kind === 'MergeStmt') {
      target = body.relation as RangeVar | undefined;
      changes = true;
    } else if (kind === 'InsertStmt') {
      target = body.relation as RangeVar | undefined;
      const conflict = body.onConflictClause as { action?: string } | undefined;
      changes = conflict?.action === 'ONCONFLICT_UPDATE';
    } else if (kind === 'CopyStmt') {
      if (!body.is_from) continue;
      target = body.relation as RangeVar | undefined;
    } else continue;
    const name = rangeVarName(target);
    if (!name) continue;
    const ref = state.resolve(name);
    fx.lock(ref, RE);
    if (state.hasNewTrigger(ref)) fx.unbounded(`a trigger or rule the plan created on ${ref.name} runs code Lifeboat cannot follow`);
    if (ref.live && (ref.live.relkind === 'v' || ref.live.relkind === 'f')) {
      fx.unbounded(`${ref.name} is a ${ref.live.relkind === 'v' ? 'view' : 'foreign table'}: what writing to it changes is not known`);
    }
    if (!changes) continue;
    fx.atRisk(ref);
    for (const child of state.planChildren(ref)) fx.atRiskName(child);
  }
}

function vacuum(fx: Effects, s: VacuumStmt): void {
  const full = hasOption(s.options, 'full');
  if (s.is_vacuumcmd) fx.transactional = false;
  for (const r of s.rels ?? []) {
    const name = rangeVarName(as<VacuumRelation>(r, 'VacuumRelation')?.relation);
    if (!name) continue;
    const ref = fx.state.resolve(name);
    fx.lock(ref, s.is_vacuumcmd && full ? AE : SUE);
    if (s.is_vacuumcmd && full) fx.rewrite(ref);
  }
}

function reindex(fx: Effects, s: ReindexStmt): void {
  const concurrent = hasOption(s.params, 'concurrently');
  if (concurrent || s.kind === 'REINDEX_OBJECT_SCHEMA' || s.kind === 'REINDEX_OBJECT_DATABASE' || s.kind === 'REINDEX_OBJECT_SYSTEM') fx.transactional = false;
  const name = rangeVarName(s.relation);
  if (!name) return;
  const ref = s.kind === 'REINDEX_OBJECT_INDEX' ? indexTable(fx.state, [...(name.schema ? [name.schema] : []), name.table]) : fx.state.resolve(name);
  if (!ref) return;
  fx.lock(ref, concurrent ? SUE : s.kind === 'REINDEX_OBJECT_INDEX' ? 'SHARE' : 'SHARE');
  fx.scan(ref);
}

/** "public.users" → its parts. */
export function splitName(name: TableName): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** Tables with a column of a type (an enum, a domain), by the type's written name. */
export function tablesWithType(catalog: Catalog, typeParts: string[]): CatalogTable[] {
  const bare = typeParts[typeParts.length - 1];
  const schema = typeParts.length > 1 ? typeParts[typeParts.length - 2] : undefined;
  const out: CatalogTable[] = [];
  for (const t of catalog.tables.values()) {
    const uses = t.columns.some((c) => {
      const type = c.type.endsWith('[]') ? c.type.slice(0, c.type.indexOf('[')) : c.type;
      const dot = type.lastIndexOf('.');
      const typeName = dot < 0 ? type : type.slice(dot + 1);
      const typeSchema = dot < 0 ? undefined : type.slice(0, dot);
      return typeName.replaceAll('"', '') === bare && (schema === undefined || typeSchema === undefined || typeSchema === schema);
    });
    if (uses) out.push(t);
  }
  return out;
}

function tablesWithTypeIn(catalog: Catalog, schema: string): CatalogTable[] {
  return [...catalog.tables.values()].filter((t) => t.schema !== schema && t.columns.some((c) => c.type.startsWith(`${schema}.`)));
}

/** The column a `CHECK (column IS NOT NULL)` constraint covers. */
export function notNullCheckColumn(con: Constraint): string | undefined {
  if (con.contype !== 'CONSTR_CHECK') return undefined;
  const test = as<{ arg?: Node; nulltesttype?: string }>(con.raw_expr, 'NullTest');
  if (test?.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const fields = strings(as<{ fields?: Node[] }>(test.arg, 'ColumnRef')?.fields);
  return fields.length === 1 ? fields[0] : undefined;
}

/**
 * Record what a statement did to the plan's tables, after it has been analysed: the next
 * statements see its creations, drops, renames, columns, validated checks and triggers.
 */
export function advance(stmt: ParsedStatement, state: PlanState): void {
  const found = unwrap(stmt.node);
  if (!found) return;
  const [kind, body] = found;
  switch (kind) {
    case 'CreateStmt': {
      const s = body as CreateStmt;
      const name = rangeVarName(s.relation);
      if (!name || (s.if_not_exists && state.exists(state.resolve(name)))) return;
      const ref = state.create(name);
      const columns = state.columns(ref);
      for (const e of s.tableElts ?? []) {
        const col = as<ColumnDef>(e, 'ColumnDef');
        const type = writtenType(col?.typeName);
        if (col?.colname && type) columns.set(col.colname, { type, notNull: addedColumn(col).requiredWithoutDefault || col.is_not_null === true });
      }
      return;
    }
    case 'CreateTableAsStmt': {
      const name = rangeVarName((body as CreateTableAsStmt).into?.rel);
      if (name) state.create(name);
      return;
    }
    case 'SelectStmt': {
      const name = rangeVarName((body as SelectStmt).intoClause?.rel);
      if (name) state.create(name);
      return;
    }
    case 'DropStmt': {
      const s = body as DropStmt;
      for (const o of s.objects ?? []) {
        const parts = nameParts(o);
        if (s.removeType === 'OBJECT_SCHEMA' && parts[0]) state.dropSchema(parts[0]);
        if (s.removeType !== 'OBJECT_TABLE' && s.removeType !== 'OBJECT_FOREIGN_TABLE' && s.removeType !== 'OBJECT_MATVIEW') continue;
        const name = partsName(parts);
        if (name) state.drop(state.resolve(name));
      }
      return;
    }
    case 'RenameStmt': {
      const s = body as RenameStmt;
      const name = rangeVarName(s.relation);
      if (!name || !s.newname) return;
      const ref = state.resolve(name);
      if (s.renameType === 'OBJECT_COLUMN' && s.subname) {
        const columns = state.columns(ref);
        const col = columns.get(s.subname);
        columns.delete(s.subname);
        if (col) columns.set(s.newname, col);
      } else if (['OBJECT_TABLE', 'OBJECT_FOREIGN_TABLE', 'OBJECT_MATVIEW', 'OBJECT_VIEW'].includes(String(s.renameType))) {
        state.rename(ref, { table: s.newname });
      }
      return;
    }
    case 'AlterObjectSchemaStmt': {
      const s = body as AlterObjectSchemaStmt;
      const name = rangeVarName(s.relation);
      if (name && s.newschema && ['OBJECT_TABLE', 'OBJECT_FOREIGN_TABLE', 'OBJECT_MATVIEW', 'OBJECT_VIEW'].includes(String(s.objectType))) {
        state.rename(state.resolve(name), { schema: s.newschema, table: name.table });
      }
      return;
    }
    case 'AlterTableStmt': {
      const s = body as AlterTableStmt;
      const name = rangeVarName(s.relation);
      if (!name || (s.objtype && s.objtype !== 'OBJECT_TABLE')) return;
      const ref = state.resolve(name);
      const columns = state.columns(ref);
      for (const c of s.cmds ?? []) {
        const cmd = as<AlterTableCmd>(c, 'AlterTableCmd');
        if (!cmd) continue;
        const col = as<ColumnDef>(cmd.def, 'ColumnDef');
        const con = as<Constraint>(cmd.def, 'Constraint');
        switch (cmd.subtype) {
          case 'AT_AddColumn': {
            const type = writtenType(col?.typeName);
            if (col?.colname && type) columns.set(col.colname, { type, notNull: addedColumn(col).requiredWithoutDefault });
            for (const inline of col ? addedColumn(col).constraints : []) {
              const parent = rangeVarName(inline.pktable);
              if (inline.contype === 'CONSTR_FOREIGN' && parent) state.addForeignKey(ref, state.resolve(parent));
            }
            break;
          }
          case 'AT_DropColumn':
            if (cmd.name) columns.delete(cmd.name);
            break;
          case 'AT_AlterColumnType': {
            const type = writtenType(col?.typeName);
            const had = columns.get(cmd.name ?? '');
            if (cmd.name && type) columns.set(cmd.name, { type, notNull: had?.notNull ?? false });
            break;
          }
          case 'AT_SetNotNull':
          case 'AT_DropNotNull': {
            const had = columns.get(cmd.name ?? '');
            if (had) had.notNull = cmd.subtype === 'AT_SetNotNull';
            break;
          }
          case 'AT_AddConstraint': {
            if (!con) break;
            const column = notNullCheckColumn(con);
            if (column) state.addNotNullCheck(ref, con.conname, column, !con.skip_validation);
            const parent = rangeVarName(con.pktable);
            if (con.contype === 'CONSTR_FOREIGN' && parent) state.addForeignKey(ref, state.resolve(parent));
            if (con.contype === 'CONSTR_PRIMARY')
              for (const k of strings(con.keys)) {
                const had = columns.get(k);
                if (had) had.notNull = true;
              }
            break;
          }
          case 'AT_ValidateConstraint':
            if (cmd.name) state.validate(cmd.name);
            break;
          case 'AT_EnableTrig':
          case 'AT_EnableAlwaysTrig':
          case 'AT_EnableReplicaTrig':
          case 'AT_EnableTrigAll':
          case 'AT_EnableTrigUser':
          case 'AT_EnableRule':
          case 'AT_EnableAlwaysRule':
          case 'AT_EnableReplicaRule':
            state.markTrigger(ref);
            break;
          default:
            break;
        }
      }
      return;
    }
    case 'CreateTrigStmt':
    case 'RuleStmt': {
      const name = rangeVarName((body as { relation?: RangeVar }).relation);
      if (name) state.markTrigger(state.resolve(name));
      return;
    }
    default:
      return;
  }
}
