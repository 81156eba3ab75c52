import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type DatabaseIdentity, databaseIdentity } from './identity.js';
import { ident } from './sql.js';

export interface ServerInfo {
  version: string;
  major: number;
}

export interface DatabaseSettings {
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** pg_database.datlocprovider: c (libc), i (icu), b (builtin, PostgreSQL 17+). */
  localeProvider: string;
  /** The provider's locale (ICU or builtin); null for libc. */
  icuLocale: string | null;
}

export type TableKind = 'table' | 'partition' | 'matview';

/**
 * How an empty value of a column is told from a real one in the content counts: `text`
 * for strings (text, varchar, char, citext, name; ''), `jsonb` ({}, [], "" and JSON null);
 * null where only NULL is no value (json has no equality, and a cast could fail on \u0000).
 */
export type Emptiness = 'text' | 'jsonb' | null;

/** Rows per bucket of the primary key's hash: a lower bound of rows deleted even when as many were inserted. */
export interface RowBuckets {
  /** The primary key's columns, in key order. */
  key: string[];
  /** Their types (`format_type`): a key whose text changes with its type (int to numeric) hashes differently. */
  types: string[];
  /** How the buckets were made: see `keyHash`. */
  hash: 'pg-hash-64';
  /** Rows in each of the 64 buckets. */
  counts: number[];
}

export interface TableCount {
  schema: string;
  name: string;
  kind: TableKind;
  rows: number;
  /** true: count(*); false: planner estimate (reltuples). */
  exact: boolean;
  columns?: string[];
  /** For a partition: its partitioned table (schema.name); allowances for it cover the partition. */
  parent?: string;
  /** Columns holding at least one value: manifests written before `values` existed. */
  filledColumns?: string[];
  /** The snapshot keeps this table's schema, not its data (a derived or ephemeral table). */
  dataExcluded?: boolean;
  /** pg_class.oid: kept by a rename and by a clone (CREATE DATABASE … TEMPLATE), new after a dump's restore. */
  oid?: number;
  /** pg_attribute.attnum of each column (parallel to `columns`): kept by RENAME COLUMN and ALTER COLUMN … TYPE. */
  attnums?: number[];
  /** Content counts, when asked for and counted exactly: non-null values per column (parallel to `columns`). */
  values?: number[];
  /** Of those, values that are not empty (see `Emptiness`); null for columns where only NULL counts as no value. */
  nonEmpty?: Array<number | null>;
  /** Rows per primary-key hash bucket; absent for a table without a primary key. */
  buckets?: RowBuckets;
  /** Each column's type (`format_type`, with `collate X` when not the default), parallel to `columns`. */
  types?: string[];
  /**
   * Outside a deploy's at-risk set: the table was not counted (`exact: false`) and these are
   * its statistics when the state was read; the checks compare them, never a count.
   */
  stats?: TableStats;
}

/**
 * A table's cumulative statistics (`pg_stat_user_tables`): rows inserted, updated and
 * deleted since the statistics were last reset, and the live rows it estimates. Backends
 * report them when a transaction ends, in batches at most once a second (up to about ten
 * seconds late for a session that then stays idle), and at exit: a delta between two
 * readings counts what other sessions had reported by then, not a count.
 */
export interface TableStats {
  inserted: number;
  updated: number;
  deleted: number;
  live: number;
}

export interface SchemaFingerprint {
  /** sha256 over a canonical listing of every schema object. */
  hash: string;
  /** How many objects of each kind went into the hash, to say what differs. */
  objects: Record<string, number>;
}

export async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const { rows } = await client.query<{ version: string; num: string }>("select current_setting('server_version') as version, current_setting('server_version_num') as num");
  const row = rows[0]!;
  return { version: row.version.split(' ')[0]!, major: Math.floor(Number(row.num) / 10000) };
}

export async function databaseSettings(client: pg.Client, database: string, serverMajor: number): Promise<DatabaseSettings | undefined> {
  // PostgreSQL 15 added the locale provider columns to pg_database; 17 renamed daticulocale to datlocale.
  const icu = serverMajor >= 15;
  const localeColumn = serverMajor >= 17 ? 'd.datlocale' : 'd.daticulocale';
  const { rows } = await client.query<DatabaseSettings>(
    `select pg_get_userbyid(d.datdba) as owner, pg_encoding_to_char(d.encoding) as encoding,
            d.datcollate as collate, d.datctype as ctype,
            ${icu ? 'd.datlocprovider::text' : "'c'"} as "localeProvider",
            ${icu ? localeColumn : 'null'} as "icuLocale"
       from pg_database d where d.datname = $1`,
    [database],
  );
  return rows[0];
}

const USER_SCHEMAS = `n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'`;

export interface TableInfo {
  schema: string;
  name: string;
  kind: TableKind;
  populated: boolean;
  /** The planner's estimate (pg_class.reltuples); -1 when never analyzed. */
  estimate: number;
  columns: string[];
  /** For a partition: its partitioned table, as schema.name. */
  parent?: string;
  /** Tables (schema.name) with a foreign key to this one. */
  referencedBy: string[];
  oid: number;
  /** Each column's attnum, parallel to `columns`. */
  attnums: number[];
  /** Each column's emptiness, parallel to `columns`. */
  emptiness: Emptiness[];
  /** The primary key's columns in key order; empty when there is none. */
  key: string[];
  /** Their types, as format_type gives them. */
  keyTypes: string[];
  /** Each column's type and collation, parallel to `columns` (see `TableCount.types`). */
  types: string[];
}

/** Tables holding data: plain tables, leaf partitions and materialized views, with their columns. */
export async function listTables(client: pg.Client): Promise<TableInfo[]> {
  const { rows } = await client.query<{
    schema: string;
    name: string;
    relkind: string;
    relispartition: boolean;
    populated: boolean;
    estimate: number;
    oid: string;
    columns: string[] | null;
    attnums: number[] | null;
    emptiness: Emptiness[] | null;
    types: string[] | null;
    key: string[] | null;
    keyTypes: string[] | null;
    parent: string | null;
    referencedBy: string[] | null;
  }>(
    `select n.nspname as schema, c.relname as name, c.relkind, c.relispartition, c.relispopulated as populated,
            c.reltuples::float8 as estimate, c.oid::int8 as oid,
            cols.columns, cols.attnums, cols.emptiness, cols.types, pk.key, pk."keyTypes",
            (select pn.nspname || '.' || pc.relname from pg_inherits i
               join pg_class pc on pc.oid = i.inhparent join pg_namespace pn on pn.oid = pc.relnamespace
              where i.inhrelid = c.oid and c.relispartition limit 1) as parent,
            (select array_agg(distinct rn.nspname || '.' || rc.relname) from pg_constraint fk
               join pg_class rc on rc.oid = fk.conrelid join pg_namespace rn on rn.oid = rc.relnamespace
              where fk.contype = 'f' and fk.confrelid in (c.oid, (select inhparent from pg_inherits where inhrelid = c.oid))
                and fk.conrelid <> c.oid) as "referencedBy"
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       left join lateral (
         select array_agg(a.attname::text order by a.attnum) as columns,
                array_agg(a.attnum::int order by a.attnum) as attnums,
                array_agg(case when t.typcategory = 'S' then 'text'
                               when coalesce(nullif(t.typbasetype, 0), t.oid) = 'jsonb'::regtype then 'jsonb' end order by a.attnum) as emptiness,
                array_agg(format_type(a.atttypid, a.atttypmod) || coalesce(' collate ' || nullif(co.collname, 'default'), '') order by a.attnum) as types
           from pg_attribute a join pg_type t on t.oid = a.atttypid
           left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 0
          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
       ) cols on true
       left join lateral (
         select array_agg(a.attname::text order by k.n) as key, array_agg(format_type(a.atttypid, a.atttypmod) order by k.n) as "keyTypes"
           from pg_index i cross join lateral unnest(i.indkey::int2[]) with ordinality k(attnum, n)
           join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
          where i.indrelid = c.oid and i.indisprimary
       ) pk on true
      where c.relkind in ('r', 'm') and ${USER_SCHEMAS}
      order by 1, 2`,
  );
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    kind: r.relkind === 'm' ? 'matview' : r.relispartition ? 'partition' : 'table',
    populated: r.populated,
    estimate: r.estimate,
    columns: r.columns ?? [],
    ...(r.parent ? { parent: r.parent } : {}),
    referencedBy: r.referencedBy ?? [],
    oid: Number(r.oid),
    attnums: r.attnums ?? [],
    emptiness: r.emptiness ?? [],
    types: r.types ?? [],
    key: r.key ?? [],
    keyTypes: r.keyTypes ?? [],
  }));
}

export interface CountOptions {
  /**
   * Time for exact counts, smallest tables first; tables left when it runs out get
   * the planner's estimate, labelled `exact: false`. Default: no limit.
   */
  budgetMs?: number;
  /**
   * Also count, in the same scan, each column's values (non-null, non-empty) and the rows
   * per primary-key hash bucket: what the data-preservation check compares.
   */
  contents?: boolean;
  /** Record this database's identity instead of the connected one's (a clone records its source's). */
  identityOf?: string;
  /** Tables (schema.name) whose data a snapshot does not keep: recorded as 0 rows, `dataExcluded`. */
  excludeData?: ReadonlySet<string>;
  /**
   * Checks in proportion: tables outside a deploy's at-risk set, which are not scanned at
   * all; each gets the planner's estimate (`exact: false`) and its statistics (`stats`).
   */
  statsOnly?: (table: TableInfo) => boolean;
}

/**
 * Row counts of every table, in the client's current transaction snapshot: one scan per
 * table, which with `contents` also counts values and hash buckets. A materialized view
 * never refreshed cannot be read and counts as 0 rows.
 */
export async function countRows(client: pg.Client, options: CountOptions = {}): Promise<TableCount[]> {
  if (!options.contents) return countEach(client, options);
  // The planner cannot know a bucket takes 64 values: it guesses one group per row and
  // sorts whole rows (jsonb and all) to group them, spilling to disk. A hash of 64 groups
  // is what it should do; for these queries only, it gets no choice.
  const was = (await client.query<{ was: string }>("select current_setting('enable_sort') as was")).rows[0]!.was;
  await client.query("select set_config('enable_sort', 'off', false)");
  try {
    return await countEach(client, options);
  } finally {
    // In an aborted transaction this fails, and the rollback undoes the setting anyway.
    await client.query('select set_config($1, $2, false)', ['enable_sort', was]).catch(() => {});
  }
}

async function countEach(client: pg.Client, options: CountOptions): Promise<TableCount[]> {
  const tables = await listTables(client);
  const statsOnly = options.statsOnly;
  const stats = statsOnly && tables.some(statsOnly) ? await tableStatistics(client) : undefined;
  const deadline = Date.now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
  const bySize = [...tables].sort((a, b) => a.estimate - b.estimate);
  const counted = new Map<TableInfo, TableCount>();
  for (const table of bySize) {
    const base = {
      schema: table.schema,
      name: table.name,
      kind: table.kind,
      columns: table.columns,
      ...(table.parent ? { parent: table.parent } : {}),
      oid: table.oid,
      attnums: table.attnums,
      types: table.types,
    };
    // Outside the deploy's at-risk set: its statistics, never a scan.
    const seen = stats && statsOnly?.(table) ? (stats.get(table.oid) ?? { inserted: 0, updated: 0, deleted: 0, live: 0 }) : undefined;
    if (options.excludeData?.has(`${table.schema}.${table.name}`)) {
      counted.set(table, { ...base, rows: 0, exact: true, dataExcluded: true, ...(seen ? { stats: seen } : {}) });
    } else if (seen) {
      counted.set(table, { ...base, rows: table.estimate >= 0 ? Math.round(table.estimate) : seen.live, exact: false, stats: seen });
    } else if (!table.populated) {
      counted.set(table, { ...base, rows: 0, exact: true });
    } else if (Date.now() > deadline) {
      counted.set(table, { ...base, rows: Math.max(0, Math.round(table.estimate)), exact: false });
    } else if (options.contents && table.kind !== 'matview') {
      counted.set(table, { ...base, exact: true, ...(await countContents(client, table)) });
    } else {
      const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${ident(table.schema)}.${ident(table.name)}`);
      counted.set(table, { ...base, rows: Number(rows[0]!.n), exact: true });
    }
  }
  return tables.map((t) => counted.get(t)!);
}

/**
 * Every user table's statistics, by OID, as this session sees them now: the snapshot of
 * them a transaction may hold (stats_fetch_consistency) is dropped first, so a reading in
 * a long transaction and one outside any are taken the same way.
 */
export async function tableStatistics(client: pg.Client): Promise<Map<number, TableStats>> {
  await client.query('select pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ oid: string; inserted: string; updated: string; deleted: string; live: string }>(
    `select relid::int8 as oid, n_tup_ins as inserted, n_tup_upd as updated, n_tup_del as deleted, n_live_tup as live from pg_stat_user_tables`,
  );
  return new Map(rows.map((r) => [Number(r.oid), { inserted: Number(r.inserted), updated: Number(r.updated), deleted: Number(r.deleted), live: Number(r.live) }]));
}

const BUCKETS = 64;

/**
 * A key column's hash, by PostgreSQL's own hash functions: `hashint8` for integers (an int
 * and a bigint of one value hash alike), `uuid_hash`, else `hashtext` of its text. Not the
 * text of every type: `row(…)::text` and the hash aggregate cost three times the scan.
 * Stable across dumps, restores and majors on one byte order (see the README).
 */
function keyHash(column: string, type: string): string {
  const kind = keyHashKind(type);
  return kind === 'integer' ? `hashint8(${column}::int8)` : kind === 'uuid' ? `uuid_hash(${column})` : `hashtext(${column}::text)`;
}

function keyHashKind(type: string): string {
  if (['smallint', 'integer', 'bigint'].includes(type)) return 'integer';
  if (type === 'uuid') return 'uuid';
  // Strings whose text is the value: a varchar made text keeps its hash.
  if (['text', 'citext'].includes(type) || type.startsWith('character varying')) return 'string';
  return `text of ${type}`;
}

/** Whether keys of these types (before, after) give the same bucket for the same value. */
export function sameKeyHash(before: string[], after: string[]): boolean {
  return before.length === after.length && before.every((t, i) => keyHashKind(t) === keyHashKind(after[i]!));
}

/**
 * Rows, values per column and rows per key bucket in one scan: `count(c)` for values,
 * `count(nullif(c, ''))` for non-empty strings, grouped by the key's hash bucket.
 */
async function countContents(client: pg.Client, table: TableInfo): Promise<Pick<TableCount, 'rows' | 'values' | 'nonEmpty' | 'buckets'>> {
  // A select list holds at most 1664 entries: past that, a table of hundreds of string columns gets no empty counts.
  const emptiable = table.emptiness.filter((e) => e !== null).length;
  const withEmpty = 2 + table.columns.length + emptiable <= 1664;
  const counts = table.columns.map((name, i) => {
    const c = ident(name);
    const empty = withEmpty ? table.emptiness[i] : null;
    // An empty jsonb takes at most 12 bytes: anything bigger is not compared (nor read from TOAST).
    const jsonb = `count(case when pg_column_size(${c}) > 16 then 1 when ${c} not in ('{}', '[]', '""', 'null') then 1 end)`;
    const nonEmpty = empty === 'text' ? `, count(nullif(${c}, '')) as e${i}` : empty === 'jsonb' ? `, ${jsonb} as e${i}` : '';
    return `, count(${c}) as v${i}${nonEmpty}`;
  });
  const hashes = table.key.map((k, i) => `(${keyHash(ident(k), table.keyTypes[i]!)}${i > 0 ? ` << ${i}` : ''})`);
  const bucket = table.key.length > 0 ? `(${hashes.join(' # ')}) & ${BUCKETS - 1}` : 'null::int';
  const { rows } = await client.query<Record<string, string | number | null>>(
    `select ${bucket} as bucket, count(*) as n${counts.join('')} from ${ident(table.schema)}.${ident(table.name)}${table.key.length > 0 ? ' group by 1' : ''}`,
  );
  const sum = (column: string) => rows.reduce((total, row) => total + Number(row[column]), 0);
  const result: Pick<TableCount, 'rows' | 'values' | 'nonEmpty' | 'buckets'> = {
    rows: sum('n'),
    values: table.columns.map((_, i) => sum(`v${i}`)),
    nonEmpty: table.columns.map((_, i) => (withEmpty && table.emptiness[i] ? sum(`e${i}`) : null)),
  };
  if (table.key.length > 0) {
    const perBucket = new Array<number>(BUCKETS).fill(0);
    for (const row of rows) perBucket[Number(row.bucket)] = Number(row.n);
    result.buckets = { key: table.key, types: table.keyTypes, hash: 'pg-hash-64', counts: perBucket };
  }
  return result;
}

/** Indexes left invalid (a failed CREATE INDEX CONCURRENTLY), as schema.index. */
export async function invalidIndexes(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select n.nspname || '.' || c.relname as name from pg_index i
       join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
      where not i.indisvalid and ${USER_SCHEMAS} order by 1`,
  );
  return rows.map((r) => r.name);
}

/** Constraints added NOT VALID and never validated, as schema.table.constraint. */
export async function notValidConstraints(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select n.nspname || '.' || c.relname || '.' || con.conname as name from pg_constraint con
       join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace
      where not con.convalidated and ${USER_SCHEMAS} order by 1`,
  );
  return rows.map((r) => r.name);
}

/**
 * A canonical, name-based listing of the schema (no OIDs, no physical column
 * numbers, no owners), so that a database restored elsewhere fingerprints the same.
 */
export const FINGERPRINT_SQL = `
select kind, ident, def from (
  select 'schema' as kind, n.nspname::text as ident, '' as def
    from pg_namespace n where ${USER_SCHEMAS}
  union all
  select 'extension', e.extname::text, e.extversion from pg_extension e
  union all
  select 'relation', n.nspname || '.' || c.relname,
         c.relkind::text || ' ' || c.relpersistence::text
         || coalesce(' partition ' || pg_get_expr(c.relpartbound, c.oid), '')
         || coalesce(' by ' || pg_get_partkeydef(c.oid), '')
         || coalesce(' with ' || array_to_string(c.reloptions, ','), '')
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'v', 'm', 'f', 'c') and ${USER_SCHEMAS}
  union all
  select 'column', n.nspname || '.' || c.relname || '.' || a.attname,
         (row_number() over (partition by c.oid order by a.attnum))::text || ' '
         || format_type(a.atttypid, a.atttypmod)
         || case when a.attnotnull then ' not null' else '' end
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
         || case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end
         || case when a.attgenerated <> '' then ' generated ' || a.attgenerated::text else '' end
         || coalesce(' collate ' || nullif(co.collname, 'default'), '')
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    left join pg_collation co on co.oid = a.attcollation and a.attcollation <> 0
   where a.attnum > 0 and not a.attisdropped
     and c.relkind in ('r', 'p', 'v', 'm', 'f', 'c') and ${USER_SCHEMAS}
  union all
  select 'constraint', n.nspname || '.' || coalesce(c.relname, t.typname) || '.' || con.conname,
         pg_get_constraintdef(con.oid, true) || case when con.convalidated then '' else ' not valid' end
    from pg_constraint con
    join pg_namespace n on n.oid = con.connamespace
    left join pg_class c on c.oid = con.conrelid
    left join pg_type t on t.oid = con.contypid
   where ${USER_SCHEMAS}
  union all
  select 'index', n.nspname || '.' || ic.relname, pg_get_indexdef(i.indexrelid)
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_namespace n on n.oid = ic.relnamespace
   where ${USER_SCHEMAS}
  union all
  select 'view', n.nspname || '.' || c.relname, pg_get_viewdef(c.oid, true)
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('v', 'm') and ${USER_SCHEMAS}
  union all
  select 'sequence', n.nspname || '.' || c.relname,
         format_type(s.seqtypid, null) || ' ' || s.seqstart || ' ' || s.seqincrement || ' '
         || s.seqmin || ' ' || s.seqmax || ' ' || s.seqcache || ' ' || s.seqcycle
    from pg_sequence s
    join pg_class c on c.oid = s.seqrelid
    join pg_namespace n on n.oid = c.relnamespace
   where ${USER_SCHEMAS}
  union all
  select 'function', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
         case when p.prokind = 'a' then 'aggregate ' || pg_get_function_result(p.oid)
              else pg_get_functiondef(p.oid) end
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where ${USER_SCHEMAS}
  union all
  select 'trigger', n.nspname || '.' || c.relname || '.' || tg.tgname,
         pg_get_triggerdef(tg.oid) || ' ' || tg.tgenabled::text
    from pg_trigger tg
    join pg_class c on c.oid = tg.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
   where not tg.tgisinternal and ${USER_SCHEMAS}
  union all
  select 'type', n.nspname || '.' || t.typname,
         t.typtype::text
         || coalesce(' ' || (select string_agg(e.enumlabel, ',' order by e.enumsortorder)
                               from pg_enum e where e.enumtypid = t.oid), '')
         || case when t.typtype = 'd' then ' ' || format_type(t.typbasetype, t.typtypmod)
                 || case when t.typnotnull then ' not null' else '' end
                 || coalesce(' default ' || t.typdefault, '') else '' end
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
   where t.typtype in ('e', 'd', 'r', 'm') and ${USER_SCHEMAS}
  union all
  select 'rule', n.nspname || '.' || c.relname || '.' || r.rulename, pg_get_ruledef(r.oid)
    from pg_rewrite r
    join pg_class c on c.oid = r.ev_class
    join pg_namespace n on n.oid = c.relnamespace
   where r.rulename <> '_RETURN' and ${USER_SCHEMAS}
  union all
  select 'policy', p.schemaname || '.' || p.tablename || '.' || p.policyname,
         p.permissive || ' ' || p.cmd || ' ' || array_to_string(p.roles, ',') || ' '
         || coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '')
    from pg_policies p
) objects
order by kind, ident collate "C", def collate "C"`;

export async function schemaFingerprint(client: pg.Client): Promise<SchemaFingerprint> {
  const { rows } = await client.query<{ kind: string; ident: string; def: string | null }>(FINGERPRINT_SQL);
  const hash = createHash('sha256');
  const objects: Record<string, number> = {};
  for (const row of rows) {
    hash.update(`${row.kind}\t${row.ident}\t${row.def ?? ''}\n`);
    objects[row.kind] = (objects[row.kind] ?? 0) + 1;
  }
  return { hash: hash.digest('hex'), objects };
}

/** What Lifeboat knows of a database at one moment: read in one transaction snapshot. */
export interface DatabaseState {
  /** Which database this is: whether its table OIDs can be compared with another state's. */
  identity?: DatabaseIdentity;
  tables: TableCount[];
  schema: SchemaFingerprint;
  invalidIndexes?: string[];
  notValidConstraints?: string[];
}

export async function readState(client: pg.Client, options: CountOptions = {}): Promise<DatabaseState> {
  const identity = await databaseIdentity(client, options.identityOf);
  const schema = await schemaFingerprint(client);
  const tables = await countRows(client, options);
  return { ...(identity ? { identity } : {}), tables, schema, invalidIndexes: await invalidIndexes(client), notValidConstraints: await notValidConstraints(client) };
}

/** Lines describing how `actual` differs from `expected`; empty when they match. */
export function compareStates(expected: DatabaseState, actual: DatabaseState): string[] {
  const problems: string[] = [];
  if (expected.schema.hash !== actual.schema.hash) {
    const kinds = new Set([...Object.keys(expected.schema.objects), ...Object.keys(actual.schema.objects)]);
    const counts = [...kinds]
      .filter((k) => (expected.schema.objects[k] ?? 0) !== (actual.schema.objects[k] ?? 0))
      .map((k) => `${k}s ${expected.schema.objects[k] ?? 0} → ${actual.schema.objects[k] ?? 0}`);
    problems.push(`schema differs${counts.length > 0 ? ` (${counts.join(', ')})` : ' (same objects, different definitions)'}`);
  }
  const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
  const actualByName = new Map(actual.tables.map((t) => [key(t), t]));
  for (const table of expected.tables) {
    const found = actualByName.get(key(table));
    if (!found) problems.push(`table ${key(table)} is missing`);
    else if (table.exact && found.exact && table.rows !== found.rows) {
      problems.push(`table ${key(table)} has ${found.rows} rows, expected ${table.rows}`);
    }
    actualByName.delete(key(table));
  }
  for (const extra of actualByName.keys()) problems.push(`table ${extra} is not in the snapshot`);
  return problems;
}
