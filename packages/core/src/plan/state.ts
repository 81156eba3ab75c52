import type { Catalog, CatalogTable } from './catalog.js';
import type { ColumnType } from './column-types.js';
import { catalogType } from './column-types.js';
import type { WrittenName } from './nodes.js';
import type { TableName } from './types.js';

/** A table as a statement names it, at its point in the plan. */
export interface TableRef {
  /** Its name at this point of the plan ("public.orders"; after a rename, the new name). */
  name: TableName;
  /** The live table it is, when it existed before the plan (named as the catalog names it now). */
  live: CatalogTable | undefined;
  /** Created earlier in this plan: new and empty. */
  created: boolean;
}

export interface ColumnState {
  type: ColumnType;
  notNull: boolean;
}

interface Entry {
  live: CatalogTable | undefined;
  created: boolean;
  /** The table's columns as the plan has left them so far (copied from the catalog on first change). */
  columns?: Map<string, ColumnState>;
  /** A trigger or rule was created on it by the plan: what its DML does next is not known. */
  newTrigger?: boolean;
  /** Live tables that a foreign key created by the plan makes reference this one. */
  planChildren?: Set<TableName>;
}

/**
 * What the earlier statements of the plan did to the tables, over the live catalog: tables
 * created (new and empty), renamed (a later statement's name means a live table under its old
 * name), dropped, columns added or retyped, CHECK (col IS NOT NULL) constraints validated,
 * triggers and foreign keys added. Statements are analysed in order against it.
 */
export class PlanState {
  private readonly entries = new Map<TableName, Entry | null>();
  /** "table.column" with a validated CHECK (column IS NOT NULL) added by the plan. */
  private readonly notNullChecks = new Set<string>();
  /** Constraint name → the "table.column" its CHECK (column IS NOT NULL) covers, added NOT VALID by the plan. */
  private readonly pendingChecks = new Map<string, string>();

  constructor(readonly catalog: Catalog) {}

  /** The schema an unqualified CREATE lands in. */
  get creationSchema(): string {
    return this.catalog.searchPath[0] ?? 'public';
  }

  private entry(name: TableName): Entry | undefined {
    const known = this.entries.get(name);
    if (known !== undefined) return known ?? undefined;
    const live = this.catalog.tables.get(name);
    if (!live) return undefined;
    const entry: Entry = { live, created: false };
    this.entries.set(name, entry);
    return entry;
  }

  /** The table a written name means at this point: by its schema, else the search_path; unknown names land in the creation schema. */
  resolve(written: WrittenName): TableRef {
    const candidates = written.schema ? [`${written.schema}.${written.table}`] : this.catalog.searchPath.map((s) => `${s}.${written.table}`);
    for (const name of candidates) {
      const e = this.entry(name);
      if (e) return { name, live: e.live, created: e.created };
    }
    return { name: `${written.schema ?? this.creationSchema}.${written.table}`, live: undefined, created: false };
  }

  /** Whether the name exists at this point (live or created by the plan). */
  exists(ref: TableRef): boolean {
    return this.entry(ref.name) !== undefined;
  }

  create(written: WrittenName): TableRef {
    const name = `${written.schema ?? this.creationSchema}.${written.table}`;
    this.entries.set(name, { live: undefined, created: true, columns: new Map() });
    return { name, live: undefined, created: true };
  }

  drop(ref: TableRef): void {
    this.entries.set(ref.name, null);
  }

  dropSchema(schema: string): void {
    for (const name of this.catalog.tables.keys()) if (name.startsWith(`${schema}.`)) this.entries.set(name, null);
    for (const [name, e] of this.entries) if (e && name.startsWith(`${schema}.`)) this.entries.set(name, null);
  }

  rename(ref: TableRef, to: WrittenName): void {
    const e = this.entry(ref.name);
    if (!e) return;
    const schema = to.schema ?? ref.name.slice(0, ref.name.indexOf('.'));
    this.entries.set(ref.name, null);
    this.entries.set(`${schema}.${to.table}`, e);
  }

  columns(ref: TableRef): Map<string, ColumnState> {
    const e = this.entry(ref.name);
    if (!e) return new Map();
    if (!e.columns) e.columns = new Map((e.live?.columns ?? []).map((c) => [c.name, { type: catalogType(c.type), notNull: c.notNull }]));
    return e.columns;
  }

  column(ref: TableRef, name: string): ColumnState | undefined {
    return this.columns(ref).get(name);
  }

  markTrigger(ref: TableRef): void {
    const e = this.entry(ref.name);
    if (e) e.newTrigger = true;
  }

  hasNewTrigger(ref: TableRef): boolean {
    return this.entry(ref.name)?.newTrigger === true;
  }

  addForeignKey(child: TableRef, parent: TableRef): void {
    const e = this.entry(parent.name);
    if (!e || !child.live) return;
    e.planChildren ??= new Set();
    e.planChildren.add(child.live.name);
  }

  planChildren(ref: TableRef): TableName[] {
    return [...(this.entry(ref.name)?.planChildren ?? [])];
  }

  /** A CHECK (column IS NOT NULL) added by the plan, NOT VALID (validated later) or validated at once. */
  addNotNullCheck(ref: TableRef, constraint: string | undefined, column: string, validated: boolean): void {
    const key = `${ref.name}.${column}`;
    if (validated) this.notNullChecks.add(key);
    else if (constraint) this.pendingChecks.set(constraint, key);
  }

  validate(constraint: string): void {
    const key = this.pendingChecks.get(constraint);
    if (key) this.notNullChecks.add(key);
  }

  /** A validated CHECK (column IS NOT NULL) exists, live or added by the plan: SET NOT NULL needs no scan (PostgreSQL 12+). */
  hasNotNullCheck(ref: TableRef, column: string): boolean {
    if (this.notNullChecks.has(`${ref.name}.${column}`)) return true;
    const expected = `CHECK ((${quoteIdent(column)} IS NOT NULL))`;
    return (ref.live?.constraints ?? []).some((c) => c.type === 'c' && c.validated && c.definition === expected);
  }
}

/** An identifier as pg_get_constraintdef prints it. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}
