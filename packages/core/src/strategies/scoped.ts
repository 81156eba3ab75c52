import type pg from 'pg';
import { FINGERPRINT_SQL, type TableInfo } from '../db/introspect.js';
import { LifeboatError } from '../errors.js';
import type { Manifest } from '../store/manifest.js';

export type Scope = NonNullable<Manifest['scope']>;

/** pg_class's OID: the catalog id of a relation in pg_depend and in an archive's TOC. */
const PG_CLASS = 1259;

/**
 * The schema as FINGERPRINT_SQL lists it, one row per object with the sha256 of its
 * definition: what an in-place rollback compares per object (the manifest's `schema.hash`
 * is the sha256 over the same rows in full).
 */
export async function schemaObjects(client: pg.Client): Promise<Array<[string, string, string]>> {
  const { rows } = await client.query<{ kind: string; ident: string; hash: string }>(
    `select kind, ident, encode(sha256(convert_to(coalesce(def, ''), 'UTF8')), 'hex') as hash from (${FINGERPRINT_SQL}) objects`,
  );
  return rows.map((r) => [r.kind, r.ident, r.hash]);
}

/** Every index of the user's schemas → its table, both schema-qualified. */
export async function indexTables(client: pg.Client): Promise<Record<string, string>> {
  const { rows } = await client.query<{ index: string; table: string }>(
    `select n.nspname || '.' || ic.relname as index, tn.nspname || '.' || t.relname as table
       from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_namespace n on n.oid = ic.relnamespace
       join pg_class t on t.oid = i.indrelid join pg_namespace tn on tn.oid = t.relnamespace
      where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'`,
  );
  return Object.fromEntries(rows.map((r) => [r.index, r.table]));
}

/**
 * What `DROP TABLE … CASCADE` of these tables removes, followed in pg_depend: their
 * columns' defaults, constraints, indexes, triggers, rules, policies, owned sequences,
 * other tables' foreign keys to them and the views over them (and over those views). An
 * object internal to another (a view's rewrite rule) takes its owner along.
 */
async function cascade(client: pg.Client, oids: number[]): Promise<Array<{ catalog: number; oid: number }>> {
  const seen = new Map<string, { catalog: number; oid: number }>();
  for (const oid of oids) seen.set(`${PG_CLASS}:${oid}`, { catalog: PG_CLASS, oid });
  let frontier = [...seen.values()];
  while (frontier.length > 0) {
    const { rows } = await client.query<{ catalog: number; oid: number }>(
      `with f(classid, objid) as (select * from unnest($1::oid[], $2::oid[]))
       select d.classid::int as catalog, d.objid::int as oid from pg_depend d join f on d.refclassid = f.classid and d.refobjid = f.objid
        where d.deptype in ('n', 'a', 'i')
       union
       select d.refclassid::int, d.refobjid::int from pg_depend d join f on d.classid = f.classid and d.objid = f.objid
        where d.deptype = 'i'`,
      [frontier.map((o) => o.catalog), frontier.map((o) => o.oid)],
    );
    frontier = [];
    for (const row of rows) {
      const key = `${row.catalog}:${row.oid}`;
      if (seen.has(key)) continue;
      seen.set(key, row);
      frontier.push(row);
    }
  }
  return [...seen.values()];
}

/**
 * The scope of a scoped snapshot, read in the snapshot's own transaction (so that OIDs
 * match the archive's TOC): the tables, the whole schema per object, which index is whose,
 * and what dropping the tables would take along, named for the in-place rollback.
 */
export async function readScope(client: pg.Client, tables: readonly string[], listed: readonly TableInfo[]): Promise<Scope> {
  const byName = new Map(listed.map((t) => [`${t.schema}.${t.name}`, t]));
  const oids: number[] = [];
  for (const name of tables) {
    const table = byName.get(name);
    if (!table) continue; // Not there (yet): nothing of it to keep.
    if (table.kind !== 'table' || table.parent) {
      throw new LifeboatError('SNAPSHOT_FAILED', `A scoped snapshot keeps plain tables only, and ${name} is a ${table.kind === 'matview' ? 'materialized view' : 'partition'}.`, {
        hint: "Use strategy 'dump' (or 'auto', which falls back to a full snapshot); nothing was written.",
      });
    }
    oids.push(table.oid);
  }
  const dependents = await cascade(client, oids);
  const { rows: relations } = await client.query<{ oid: number; relkind: string; name: string }>(
    `select c.oid::int as oid, c.relkind::text as relkind, n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = any($1::oid[])`,
    [dependents.filter((d) => d.catalog === PG_CLASS).map((d) => d.oid)],
  );
  const { rows: constraints } = await client.query<{ oid: number; name: string; table: string }>(
    `select con.oid::int as oid, con.conname as name, n.nspname || '.' || c.relname as table
       from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_namespace n on n.oid = c.relnamespace where con.oid = any($1::oid[])`,
    [dependents.filter((d) => d.catalog !== PG_CLASS).map((d) => d.oid)],
  );
  const relationOf = new Map(relations.map((r) => [r.oid, r]));
  const constraintOf = new Map(constraints.map((c) => [c.oid, c]));
  const { rows: pgConstraint } = await client.query<{ oid: number }>(`select 'pg_constraint'::regclass::oid::int as oid`);
  return {
    tables: tables.filter((t) => byName.has(t)),
    objects: await schemaObjects(client),
    indexes: await indexTables(client),
    dependents: dependents.map((d) => {
      const relation = d.catalog === PG_CLASS ? relationOf.get(d.oid) : undefined;
      const constraint = d.catalog === pgConstraint[0]!.oid ? constraintOf.get(d.oid) : undefined;
      return {
        ...d,
        ...(relation ? { relkind: relation.relkind, name: relation.name } : {}),
        ...(constraint ? { name: constraint.name, table: constraint.table } : {}),
      };
    }),
  };
}

/** A scoped snapshot holds the data of a few tables: it is never restored as a whole database. */
export function refuseScoped(manifest: Manifest, what: string): void {
  if (manifest.strategy !== 'scoped') return;
  throw new LifeboatError('RESTORE_FAILED', `Snapshot ${manifest.id} is scoped (the schema, and the data of ${manifest.scope?.tables.length ?? 0} table(s) only): it cannot be ${what}.`, {
    hint: 'A scoped snapshot only rolls its deploy back in place (automatically, or `lifeboat recover`). Pick a full snapshot with `lifeboat list`.',
  });
}
