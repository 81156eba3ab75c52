import type pg from 'pg';
import type { TableName } from './types.js';

/** A column as the plan's rules and pre-checks need it. */
export interface CatalogColumn {
  name: string;
  /** format_type: "character varying(255)", "integer", "public.order_status". */
  type: string;
  notNull: boolean;
  /** The default's expression, when there is one. */
  default: string | undefined;
}

export interface CatalogConstraint {
  name: string;
  /** p primary key, u unique, f foreign key, c check, x exclusion. */
  type: 'p' | 'u' | 'f' | 'c' | 'x';
  validated: boolean;
  /** pg_get_constraintdef. */
  definition: string;
  columns: string[];
  /** For a foreign key: the table it references, and its ON DELETE / ON UPDATE actions (a no action, r restrict, c cascade, n set null, d set default). */
  references?: { table: TableName; columns: string[]; onDelete: string; onUpdate: string };
}

export interface CatalogTable {
  /** "public.users". */
  name: TableName;
  schema: string;
  table: string;
  /** r table, p partitioned table, v view, m materialized view, f foreign table. */
  relkind: string;
  /** pg_class.reltuples; undefined when never analysed. */
  rows: number | undefined;
  /** pg_total_relation_size. */
  bytes: number;
  columns: CatalogColumn[];
  constraints: CatalogConstraint[];
  indexes: Array<{ name: string; unique: boolean; valid: boolean; definition: string }>;
  /** User triggers (not the internal ones of foreign keys), with whether they are enabled. */
  triggers: Array<{ name: string; enabled: boolean; definition: string }>;
  /** Rewrite rules other than a view's _RETURN. */
  rules: string[];
  /** Foreign keys of other tables that reference this one. */
  referencedBy: Array<{ table: TableName; constraint: string; onDelete: string; onUpdate: string }>;
}

/**
 * The live database as the plan needs it, read from the catalogs and statistics in a few
 * queries (no table is scanned): every table, view and sequence-free relation of the user's
 * schemas, the search_path that resolves unqualified names, enums and the server's version.
 */
export interface Catalog {
  serverVersion: number;
  /** The schemas an unqualified name resolves in, in order ("$user" expanded). */
  searchPath: string[];
  tables: Map<TableName, CatalogTable>;
  /** Enum type ("public.status") → its labels in order. */
  enums: Map<string, string[]>;
}

const USER_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg_temp_%' and n.nspname not like 'pg_toast_temp_%'`;

export async function readCatalog(client: pg.Client): Promise<Catalog> {
  const version = await client.query<{ v: string; path: string[] }>(`select current_setting('server_version_num') as v, current_schemas(false)::text[] as path`);
  const relations = await client.query<{ oid: number; schema: string; name: string; relkind: string; rows: number; bytes: string }>(
    `select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relkind::text as relkind,
            c.reltuples::float8 as rows, pg_total_relation_size(c.oid)::text as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'f') and ${USER_SCHEMAS}`,
  );
  const tables = new Map<TableName, CatalogTable>();
  const byOid = new Map<number, CatalogTable>();
  for (const r of relations.rows) {
    const table: CatalogTable = {
      name: `${r.schema}.${r.name}`,
      schema: r.schema,
      table: r.name,
      relkind: r.relkind,
      rows: r.rows < 0 ? undefined : r.rows,
      bytes: Number(r.bytes),
      columns: [],
      constraints: [],
      indexes: [],
      triggers: [],
      rules: [],
      referencedBy: [],
    };
    tables.set(table.name, table);
    byOid.set(r.oid, table);
  }
  const oids = [...byOid.keys()];
  // One session runs one query at a time: in order.
  const [columns, constraints, indexes, triggers, rules, enums] = await sequence([
    () =>
      client.query<{ rel: number; name: string; type: string; notnull: boolean; def: string | null }>(
        `select a.attrelid::int as rel, a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull,
              pg_get_expr(d.adbin, d.adrelid) as def
         from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped order by a.attrelid, a.attnum`,
        [oids],
      ),
    () =>
      client.query<{
        rel: number;
        name: string;
        type: CatalogConstraint['type'];
        validated: boolean;
        def: string;
        cols: string[];
        ref: number | null;
        refcols: string[] | null;
        del: string;
        upd: string;
      }>(
        `select c.conrelid::int as rel, c.conname as name, c.contype::text as type, c.convalidated as validated, pg_get_constraintdef(c.oid) as def,
              coalesce((select array_agg(a.attname order by k.i) from unnest(c.conkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n)::text[], '{}') as cols,
              nullif(c.confrelid, 0)::int as ref,
              (select array_agg(a.attname order by k.i) from unnest(c.confkey) with ordinality k(n, i) join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n)::text[] as refcols,
              c.confdeltype::text as del, c.confupdtype::text as upd
         from pg_constraint c where c.conrelid = any($1::oid[]) and c.contype in ('p', 'u', 'f', 'c', 'x')`,
        [oids],
      ),
    () =>
      client.query<{ rel: number; name: string; unique: boolean; valid: boolean; def: string }>(
        `select i.indrelid::int as rel, c.relname as name, i.indisunique as unique, i.indisvalid as valid, pg_get_indexdef(i.indexrelid) as def
         from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = any($1::oid[])`,
        [oids],
      ),
    () =>
      client.query<{ rel: number; name: string; enabled: boolean; def: string }>(
        `select t.tgrelid::int as rel, t.tgname as name, t.tgenabled <> 'D' as enabled, pg_get_triggerdef(t.oid) as def
         from pg_trigger t where t.tgrelid = any($1::oid[]) and not t.tgisinternal`,
        [oids],
      ),
    () => client.query<{ rel: number; name: string }>(`select r.ev_class::int as rel, r.rulename as name from pg_rewrite r where r.ev_class = any($1::oid[]) and r.rulename <> '_RETURN'`, [oids]),
    () =>
      client.query<{ schema: string; name: string; labels: string[] }>(
        `select n.nspname as schema, t.typname as name, array_agg(e.enumlabel order by e.enumsortorder)::text[] as labels
           from pg_type t join pg_namespace n on n.oid = t.typnamespace join pg_enum e on e.enumtypid = t.oid
          where ${USER_SCHEMAS} group by n.nspname, t.typname`,
      ),
  ] as const);
  for (const c of columns.rows) byOid.get(c.rel)?.columns.push({ name: c.name, type: c.type, notNull: c.notnull, default: c.def ?? undefined });
  for (const c of constraints.rows) {
    const table = byOid.get(c.rel);
    if (!table) continue;
    const referenced = c.ref === null ? undefined : byOid.get(c.ref);
    table.constraints.push({
      name: c.name,
      type: c.type,
      validated: c.validated,
      definition: c.def,
      columns: c.cols,
      ...(referenced ? { references: { table: referenced.name, columns: c.refcols ?? [], onDelete: c.del, onUpdate: c.upd } } : {}),
    });
    referenced?.referencedBy.push({ table: table.name, constraint: c.name, onDelete: c.del, onUpdate: c.upd });
  }
  for (const i of indexes.rows) byOid.get(i.rel)?.indexes.push({ name: i.name, unique: i.unique, valid: i.valid, definition: i.def });
  for (const t of triggers.rows) byOid.get(t.rel)?.triggers.push({ name: t.name, enabled: t.enabled, definition: t.def });
  for (const r of rules.rows) byOid.get(r.rel)?.rules.push(r.name);
  return {
    serverVersion: Number(version.rows[0]!.v),
    searchPath: version.rows[0]!.path,
    tables,
    enums: new Map(enums.rows.map((e) => [`${e.schema}.${e.name}`, e.labels])),
  };
}

/** A name as a statement writes it (schema optional) to the live table it means, by the search_path. */
export function resolveTable(catalog: Catalog, name: { schema?: string | undefined; table: string }): CatalogTable | undefined {
  if (name.schema) return catalog.tables.get(`${name.schema}.${name.table}`);
  for (const schema of catalog.searchPath) {
    const found = catalog.tables.get(`${schema}.${name.table}`);
    if (found) return found;
  }
  return undefined;
}

async function sequence<T extends readonly (() => Promise<unknown>)[]>(steps: T): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const results: unknown[] = [];
  for (const step of steps) results.push(await step());
  return results as { [K in keyof T]: Awaited<ReturnType<T[K]>> };
}
