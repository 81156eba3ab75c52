import type pg from 'pg';

/**
 * Which database a state was read from. Table OIDs and column numbers name the same
 * objects in two states only when both come from one database of one cluster: a rename
 * keeps them, and so does a clone (CREATE DATABASE … TEMPLATE, whose tables are the
 * original's, OIDs and all); a restore from a dump makes new ones.
 */
export interface DatabaseIdentity {
  /** pg_database.oid of the database (for a clone snapshot: of the database it copies). */
  databaseOid: number;
  /** pg_control_system().system_identifier: which cluster; null where the role may not read it. */
  systemIdentifier: string | null;
}

/** The identity of `database` (default: the connected one); undefined when there is no such database. */
export async function databaseIdentity(client: pg.Client, database?: string): Promise<DatabaseIdentity | undefined> {
  const { rows } = await client.query<{ oid: string; readable: boolean }>(
    `select d.oid::int8 as oid, has_function_privilege('pg_control_system()', 'execute') as readable
       from pg_database d where d.datname = coalesce($1, current_database())`,
    [database ?? null],
  );
  const row = rows[0];
  if (!row) return undefined;
  // Asked apart: a privilege error inside a snapshot's transaction would abort it.
  const system = row.readable ? (await client.query<{ id: string }>('select system_identifier::text as id from pg_control_system()')).rows[0]!.id : null;
  return { databaseOid: Number(row.oid), systemIdentifier: system };
}

/**
 * Whether two states' OIDs can be compared: the same database of the same cluster. A
 * fresh cluster numbers its first database 16384 whatever it holds, so the database OID
 * alone would not do; without the cluster's identifier, names are all there is.
 */
export function sameLineage(a: DatabaseIdentity | undefined, b: DatabaseIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.databaseOid === b.databaseOid && a.systemIdentifier !== null && a.systemIdentifier === b.systemIdentifier;
}

/** What matching needs of a table: its names, and its identity where known. */
export interface Relation {
  schema: string;
  name: string;
  oid?: number | undefined;
  parent?: string | undefined;
  columns?: string[] | undefined;
  attnums?: number[] | undefined;
}

export interface TablePair<B extends Relation, A extends Relation> {
  before: B;
  after: A;
  /** Found by OID: one relation, whose columns are matched by attnum first. */
  sameRelation: boolean;
}

export interface TableMatching<B extends Relation, A extends Relation> {
  pairs: Array<TablePair<B, A>>;
  /** Tables of `before` found neither by identity nor by name. */
  gone: B[];
  /** Tables of `after` that match none of `before`. */
  added: A[];
}

export const qualified = (t: { schema: string; name: string }): string => `${t.schema}.${t.name}`;

/**
 * Pair the tables of two states: by OID when both come from one database (a renamed
 * table is the same table), then by name (a table rebuilt under its own name, or states
 * whose OIDs cannot be compared, such as a restore from a dump).
 */
export function matchTables<B extends Relation, A extends Relation>(
  before: { identity?: DatabaseIdentity | undefined; tables: B[] },
  after: { identity?: DatabaseIdentity | undefined; tables: A[] },
): TableMatching<B, A> {
  const pairs: Array<TablePair<B, A>> = [];
  const unmatched = new Set(after.tables);
  let rest = before.tables;
  if (sameLineage(before.identity, after.identity)) {
    const byOid = new Map(after.tables.filter((t) => t.oid !== undefined).map((t) => [t.oid, t]));
    rest = [];
    for (const table of before.tables) {
      const found = table.oid === undefined ? undefined : byOid.get(table.oid);
      if (found) {
        pairs.push({ before: table, after: found, sameRelation: true });
        unmatched.delete(found);
      } else rest.push(table);
    }
  }
  const byName = new Map([...unmatched].map((t) => [qualified(t), t]));
  const gone: B[] = [];
  for (const table of rest) {
    const found = byName.get(qualified(table));
    if (found) {
      pairs.push({ before: table, after: found, sameRelation: false });
      unmatched.delete(found);
      byName.delete(qualified(table));
    } else gone.push(table);
  }
  return { pairs, gone, added: [...unmatched] };
}

export interface ColumnMatching {
  /** Indexes into `before.columns` and `after.columns`. */
  pairs: Array<{ before: number; after: number }>;
  gone: number[];
  added: number[];
}

/** Pair the columns of a table pair: by attnum within one relation (a renamed column is the same column), then by name. */
export function matchColumns(pair: TablePair<Relation, Relation>): ColumnMatching {
  const before = pair.before.columns ?? [];
  const after = pair.after.columns ?? [];
  const pairs: ColumnMatching['pairs'] = [];
  const unmatched = new Set(after.keys());
  let rest = [...before.keys()];
  const beforeNums = pair.before.attnums;
  const afterNums = pair.after.attnums;
  if (pair.sameRelation && beforeNums?.length === before.length && afterNums?.length === after.length) {
    const byNum = new Map(afterNums.map((n, i) => [n, i]));
    rest = [];
    for (const [i, n] of beforeNums.entries()) {
      const found = byNum.get(n);
      if (found === undefined) rest.push(i);
      else {
        pairs.push({ before: i, after: found });
        unmatched.delete(found);
      }
    }
  }
  const byName = new Map([...unmatched].map((i) => [after[i]!, i]));
  const gone: number[] = [];
  for (const i of rest) {
    const found = byName.get(before[i]!);
    if (found === undefined) gone.push(i);
    else {
      pairs.push({ before: i, after: found });
      unmatched.delete(found);
      byName.delete(before[i]!);
    }
  }
  return { pairs, gone, added: [...unmatched] };
}

/** The renames a matching found, one line each: `renamed table public.orders → purchases`, `renamed column public.customers.name → full_name`. */
export function renames(matching: TableMatching<Relation, Relation>): string[] {
  const lines: string[] = [];
  for (const pair of matching.pairs) {
    const [was, now] = [qualified(pair.before), qualified(pair.after)];
    if (was !== now) lines.push(`renamed table ${was} → ${pair.before.schema === pair.after.schema ? pair.after.name : now}`);
    if (!pair.sameRelation) continue;
    for (const column of matchColumns(pair).pairs) {
      const [from, to] = [pair.before.columns![column.before]!, pair.after.columns![column.after]!];
      if (from !== to) lines.push(`renamed column ${was}.${from} → ${to}`);
    }
  }
  return lines;
}

/** The names an allowance or a data class may give a table: `schema.table`, `table`, and the same of its partitioned table. */
export function namesOf(table: Relation): string[] {
  const names = [qualified(table), table.name];
  if (table.parent) names.push(table.parent, table.parent.slice(table.parent.indexOf('.') + 1));
  return names;
}
