import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { loadKeys, requireKeys } from '../crypto/age.js';
import { withClient } from '../db/connect.js';
import { FINGERPRINT_SQL, serverInfo } from '../db/introspect.js';
import { ident, literal } from '../db/sql.js';
import { childEnv, type DatabaseTarget } from '../db/target.js';
import { firstLine, LifeboatError } from '../errors.js';
import { failpoint } from '../failpoint.js';
import { findPgTool, type PgTool } from '../pg-tools/find.js';
import { runPgTool } from '../pg-tools/run.js';
import { deparse, libpgQuery } from '../plan/parse.js';
import { noProgress, type ProgressFn } from '../progress.js';
import { type DecryptedArchive, decryptArchive } from '../snapshot/decrypted.js';
import { corruptError, verifySnapshot } from '../snapshot/verify.js';
import { appendJournalAfterChange } from '../store/journal.js';
import type { Intent } from '../store/intent.js';
import { encryptedAtRest, type Manifest } from '../store/manifest.js';
import { snapshotDir, type Store } from '../store/store.js';
import { indexTables, schemaObjects } from '../strategies/scoped.js';
import { DUMP_FILE } from '../strategies/dump.js';
import type { RestoreResult } from './restore.js';

export interface InPlaceOptions {
  target: DatabaseTarget;
  store: Store;
  /** A scoped snapshot (`strategy: 'scoped'`, with its `scope`). */
  manifest: Manifest;
  intent?: Intent;
  onNotice?: (message: string) => void;
  onProgress?: ProgressFn;
}

export interface InPlaceResult extends RestoreResult {
  /** What the one transaction did, for the report. */
  inPlace: { reloaded: string[]; dropped: string[]; recreated: string[]; renamed: string[] };
}

/** The catalogs' OIDs of pg_class and pg_constraint, as a TOC and pg_depend name them. */
const PG_CLASS = 1259;

interface TocEntry {
  line: string;
  tableoid: number;
  oid: number;
  desc: string;
  schema: string;
  tag: string;
}

/** pg_restore --list's descriptions of more than one word, longest first. */
const MULTI_WORD = [
  'MATERIALIZED VIEW DATA',
  'SEQUENCE OWNED BY',
  'MATERIALIZED VIEW',
  'CHECK CONSTRAINT',
  'FK CONSTRAINT',
  'FOREIGN TABLE',
  'SEQUENCE SET',
  'ROW SECURITY',
  'DEFAULT ACL',
  'TABLE DATA',
  'SHELL TYPE',
  'TABLE ATTACH',
  'INDEX ATTACH',
];

function parseToc(listing: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of listing.split('\n')) {
    const head = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
    if (!head) continue;
    const rest = head[4]!;
    const desc = MULTI_WORD.find((d) => rest.startsWith(`${d} `)) ?? rest.slice(0, rest.indexOf(' '));
    const after = rest.slice(desc.length + 1);
    const schema = after.slice(0, after.indexOf(' '));
    // The owner is the last word (empty for some entries): the tag is what lies between.
    const tag = after.slice(schema.length + 1, after.lastIndexOf(' '));
    entries.push({ line, tableoid: Number(head[2]), oid: Number(head[3]), desc, schema, tag });
  }
  return entries;
}

/** "schema.table.name" → its parts (names holding a dot are not told apart: they fail the verification, never silently). */
function split3(name: string): [string, string, string] {
  const first = name.indexOf('.');
  const second = name.indexOf('.', first + 1);
  return [name.slice(0, first), name.slice(first + 1, second), name.slice(second + 1)];
}
function split2(name: string): [string, string] {
  const first = name.indexOf('.');
  return [name.slice(0, first), name.slice(first + 1)];
}
const q2 = (name: string) => split2(name).map(ident).join('.');

interface Live {
  objects: Array<[string, string, string]>;
  indexes: Record<string, string>;
  /** Relations by OID: current name and relkind. */
  relations: Map<number, { name: string; relkind: string }>;
  /** Columns of each table (by OID): attnum → name. */
  columns: Map<number, Map<number, string>>;
}

async function readLive(client: pg.Client): Promise<Live> {
  const objects = await schemaObjects(client);
  const indexes = await indexTables(client);
  const { rows } = await client.query<{ oid: number; name: string; relkind: string }>(
    `select c.oid::int as oid, n.nspname || '.' || c.relname as name, c.relkind::text as relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S', 'c')`,
  );
  const { rows: cols } = await client.query<{ rel: number; attnum: number; name: string }>(
    `select a.attrelid::int as rel, a.attnum::int as attnum, a.attname as name from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where a.attnum > 0 and not a.attisdropped and c.relkind = 'r' and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'`,
  );
  const columns = new Map<number, Map<number, string>>();
  for (const c of cols) {
    if (!columns.has(c.rel)) columns.set(c.rel, new Map());
    columns.get(c.rel)!.set(c.attnum, c.name);
  }
  return { objects, indexes, relations: new Map(rows.map((r) => [r.oid, { name: r.name, relkind: r.relkind }])), columns };
}

const DROP_RELATION: Record<string, string> = { r: 'table', p: 'table', v: 'view', m: 'materialized view', f: 'foreign table', S: 'sequence', c: 'type' };

/** What the one transaction runs, decided from the snapshot's scope, the live schema and the archive's TOC. */
interface Script {
  /** Statements before the archive's entries: renames back, drops. */
  before: string[];
  /** The archive's entries to restore, in the archive's order (pg_restore --use-list). */
  entries: TocEntry[];
  /** Functions put back with CREATE OR REPLACE (their TOC entries), after the drops. */
  replaceFunctions: TocEntry[];
  /** The verification, last: the schema's fingerprint and the reloaded tables' rows. */
  verify: string;
  summary: InPlaceResult['inPlace'];
}

export function planScript(manifest: Manifest, live: Live, toc: TocEntry[]): Script {
  const scope = manifest.scope!;
  const unsupported: string[] = [];
  const before: string[] = [];
  const summary: InPlaceResult['inPlace'] = { reloaded: [...scope.tables], dropped: [], recreated: [], renamed: [] };
  const snapTable = new Map(manifest.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const scoped = new Set(scope.tables);
  const scopedOids = new Set(scope.tables.map((t) => snapTable.get(t)?.oid).filter((o): o is number => o !== undefined));

  // 1. The scoped tables, wherever the migration left them (a rename keeps the OID), dropped with what hangs on them.
  const liveNames = new Map([...live.relations.entries()].map(([oid, r]) => [r.name, { oid, ...r }]));
  const rebuilt = new Set<string>(); // live names that go with the scoped tables
  for (const table of scope.tables) {
    const oid = snapTable.get(table)?.oid;
    const moved = oid !== undefined ? live.relations.get(oid) : undefined;
    for (const name of new Set([moved?.name, liveNames.has(table) ? table : undefined])) {
      if (!name) continue;
      rebuilt.add(name);
      before.push(`drop ${DROP_RELATION[liveNames.get(name)!.relkind] ?? 'table'} if exists ${q2(name)} cascade;`);
    }
  }
  // What DROP … CASCADE took at the snapshot (views over them, other tables' foreign keys to them): gone by name, in case the migration moved them.
  const dependentRelations = new Set<string>();
  const dependentConstraints = new Set<string>();
  for (const d of scope.dependents) {
    if (d.catalog === PG_CLASS && d.relkind && d.name && !scoped.has(d.name)) {
      dependentRelations.add(d.name);
      if (['v', 'm'].includes(d.relkind)) before.push(`drop ${DROP_RELATION[d.relkind]} if exists ${q2(d.name)} cascade;`);
    } else if (d.table && d.name) {
      dependentConstraints.add(`${d.table}.${d.name}`);
      if (!scoped.has(d.table)) before.push(`alter table if exists ${q2(d.table)} drop constraint if exists ${ident(d.name)};`);
    }
  }

  // 2. Untouched tables renamed (same OID, another name) and their columns renamed (same attnum): named back.
  const renamedTo = new Map<string, string>(); // live name → snapshot name
  for (const table of manifest.tables) {
    const name = `${table.schema}.${table.name}`;
    if (scoped.has(name) || table.oid === undefined) continue;
    const now = live.relations.get(table.oid);
    if (!now) continue;
    if (now.name !== name) {
      const [schemaNow] = split2(now.name);
      if (schemaNow !== table.schema) {
        unsupported.push(`table ${name} moved to another schema (${now.name})`);
        continue;
      }
      before.push(`alter table ${q2(now.name)} rename to ${ident(table.name)};`);
      renamedTo.set(now.name, name);
      summary.renamed.push(`${now.name} → ${name}`);
    }
    const liveColumns = live.columns.get(table.oid);
    (table.columns ?? []).forEach((column, i) => {
      const attnum = table.attnums?.[i];
      const nowName = attnum === undefined ? undefined : liveColumns?.get(attnum);
      if (nowName !== undefined && nowName !== column) {
        before.push(`alter table ${q2(name)} rename column ${ident(nowName)} to ${ident(column)};`);
        renamedTo.set(`${now.name}.${nowName}`, `${name}.${column}`);
        summary.renamed.push(`${name}.${nowName} → ${column}`);
      }
    });
  }
  const renameIdent = (kind: string, id: string): string => {
    if (kind === 'relation' || kind === 'view' || kind === 'sequence') return renamedTo.get(id) ?? id;
    if (['column', 'constraint', 'trigger', 'rule', 'policy'].includes(kind)) {
      const [s, t, rest] = split3(id);
      if (kind === 'column' && renamedTo.has(`${s}.${t}.${rest}`)) return renamedTo.get(`${s}.${t}.${rest}`)!;
      const table = renamedTo.get(`${s}.${t}`);
      const renamedColumn = kind === 'column' && table ? renamedTo.get(`${table}.${rest}`) : undefined;
      return renamedColumn ?? (table ? `${table}.${rest}` : id);
    }
    return id;
  };

  // 3. Per object, what is left to put back: the scoped tables and what hangs on them come from the archive whole.
  const extraRelations = new Set<string>();
  const liveObjects = live.objects.map(([kind, id, hash]) => [kind, renameIdent(kind, id), hash] as [string, string, string]);
  const liveRelationNames = new Set(liveObjects.filter(([k]) => k === 'relation').map(([, id]) => id));
  const snapRelationNames = new Set(scope.objects.filter(([k]) => k === 'relation').map(([, id]) => id));
  for (const name of liveRelationNames) if (!snapRelationNames.has(name) && !rebuilt.has(name)) extraRelations.add(name);
  const tableOf = (kind: string, id: string, side: 'snap' | 'live'): string | undefined => {
    if (['relation', 'view', 'sequence'].includes(kind)) return id;
    if (['column', 'constraint', 'trigger', 'rule', 'policy'].includes(kind)) {
      const [s, t] = split3(id);
      return `${s}.${t}`;
    }
    if (kind === 'index') return side === 'snap' ? scope.indexes[id] : (renamedTo.get(live.indexes[id] ?? '') ?? live.indexes[id]);
    return undefined;
  };
  const coveredSnap = (kind: string, id: string) => {
    const table = tableOf(kind, id, 'snap');
    return (table !== undefined && (scoped.has(table) || dependentRelations.has(table))) || (kind === 'constraint' && dependentConstraints.has(id));
  };
  const coveredLive = (kind: string, id: string) => {
    const table = tableOf(kind, id, 'live');
    return (
      (table !== undefined && (rebuilt.has(table) || scoped.has(table) || dependentRelations.has(table) || (extraRelations.has(table) && kind !== 'relation'))) ||
      (kind === 'constraint' && dependentConstraints.has(id))
    );
  };
  const snap = new Map(scope.objects.filter(([k, id]) => !coveredSnap(k, id)).map(([k, id, h]) => [`${k}\t${id}`, h]));
  const now = new Map(liveObjects.filter(([k, id]) => !coveredLive(k, id)).map(([k, id, h]) => [`${k}\t${id}`, h]));

  const snapViews = new Set(scope.objects.filter(([k]) => k === 'view').map(([, id]) => id));
  const drops: Record<string, string[]> = { trigger: [], rule: [], policy: [], fk: [], constraint: [], index: [], column: [], relation: [], function: [], type: [], schema: [] };
  const putBack: Array<{ kind: string; id: string }> = [];
  for (const [key] of now) {
    if (snap.has(key)) continue;
    const [kind, id] = key.split('\t') as [string, string];
    extra(kind, id);
  }
  for (const [key, hash] of snap) {
    const [kind, id] = key.split('\t') as [string, string];
    const nowHash = now.get(key);
    if (nowHash === hash) continue;
    // A definition that names a renamed table or column reads differently until the rename back runs: left to it (and to the verification).
    if (nowHash !== undefined && renamedTo.size > 0 && ['constraint', 'index', 'trigger', 'rule', 'policy'].includes(kind)) continue;
    if (nowHash !== undefined) dropChanged(kind, id);
    putBack.push({ kind, id });
  }

  function extra(kind: string, id: string) {
    switch (kind) {
      case 'relation': {
        const relkind = liveNames.get(id)?.relkind ?? 'r';
        drops.relation!.push(`drop ${DROP_RELATION[relkind] ?? 'table'} if exists ${q2(id)} cascade;`);
        summary.dropped.push(id);
        return;
      }
      case 'view':
      case 'sequence':
        return; // With its relation.
      case 'column': {
        const [s, t, c] = split3(id);
        if (snapViews.has(`${s}.${t}`) || ['v', 'm'].includes(liveNames.get(`${s}.${t}`)?.relkind ?? '')) return; // With its view.
        drops.column!.push(`alter table ${ident(s)}.${ident(t)} drop column if exists ${ident(c)};`);
        summary.dropped.push(`column ${id}`);
        return;
      }
      case 'constraint': {
        const [s, t, c] = split3(id);
        if (!liveNames.has(`${s}.${t}`) && !renamedToValues().has(`${s}.${t}`)) {
          drops.type!.push(`alter domain ${ident(s)}.${ident(t)} drop constraint if exists ${ident(c)};`);
        } else drops.fk!.push(`alter table ${ident(s)}.${ident(t)} drop constraint if exists ${ident(c)};`);
        summary.dropped.push(`constraint ${id}`);
        return;
      }
      case 'index':
        drops.index!.push(`drop index if exists ${q2(id)};`);
        summary.dropped.push(`index ${id}`);
        return;
      case 'trigger':
      case 'rule':
      case 'policy': {
        const [s, t, n] = split3(id);
        drops[kind]!.push(`drop ${kind} if exists ${ident(n)} on ${ident(s)}.${ident(t)};`);
        summary.dropped.push(`${kind} ${id}`);
        return;
      }
      case 'function': {
        const [s, rest] = split2(id);
        const name = rest.slice(0, rest.indexOf('('));
        drops.function!.push(`drop function if exists ${ident(s)}.${ident(name)}${rest.slice(name.length)};`);
        summary.dropped.push(`function ${id}`);
        return;
      }
      case 'type':
        drops.type!.push(`drop type if exists ${q2(id)};`);
        summary.dropped.push(`type ${id}`);
        return;
      case 'schema':
        drops.schema!.push(`drop schema if exists ${ident(id)} cascade;`);
        summary.dropped.push(`schema ${id}`);
        return;
      default:
        unsupported.push(`${kind} ${id} was added and is not dropped in place`);
    }
  }
  function renamedToValues() {
    return new Set(renamedTo.values());
  }
  function dropChanged(kind: string, id: string) {
    switch (kind) {
      case 'index':
        drops.index!.push(`drop index if exists ${q2(id)};`);
        return;
      case 'constraint': {
        const [s, t, c] = split3(id);
        drops.fk!.push(`alter table if exists ${ident(s)}.${ident(t)} drop constraint if exists ${ident(c)};`);
        return;
      }
      case 'trigger':
      case 'rule':
      case 'policy': {
        const [s, t, n] = split3(id);
        drops[kind]!.push(`drop ${kind} if exists ${ident(n)} on ${ident(s)}.${ident(t)};`);
        return;
      }
      case 'view':
        drops.relation!.push(`drop view if exists ${q2(id)} cascade;`);
        return;
      case 'type':
        drops.type!.push(`drop type if exists ${q2(id)};`);
        return;
      default:
        return;
    }
  }
  for (const group of ['trigger', 'rule', 'policy', 'fk', 'constraint', 'index', 'column', 'relation', 'function', 'type', 'schema']) before.push(...drops[group]!);

  // 4. The archive's entries: everything of the scoped tables and their dependents (by OID, as the snapshot's transaction saw them), their data, and what else must be put back.
  const dependents = new Set(scope.dependents.map((d) => `${d.catalog}:${d.oid}`));
  const selected = new Set<TocEntry>();
  for (const entry of toc) {
    if (dependents.has(`${entry.tableoid}:${entry.oid}`)) selected.add(entry);
    else if (entry.desc === 'TABLE DATA' && scopedOids.has(entry.oid)) selected.add(entry);
    else if (entry.desc === 'MATERIALIZED VIEW DATA' && dependents.has(`${PG_CLASS}:${entry.oid}`)) selected.add(entry);
  }
  const replaceFunctions: TocEntry[] = [];
  const find = (test: (e: TocEntry) => boolean) => toc.find(test);
  for (const { kind, id } of putBack) {
    let entry: TocEntry | undefined;
    switch (kind) {
      case 'index': {
        const [s, n] = split2(id);
        entry = find((e) => e.desc === 'INDEX' && e.schema === s && e.tag === n);
        break;
      }
      case 'constraint': {
        const [s, t, c] = split3(id);
        entry = find((e) => ['CONSTRAINT', 'FK CONSTRAINT', 'CHECK CONSTRAINT'].includes(e.desc) && e.schema === s && e.tag === `${t} ${c}`);
        break;
      }
      case 'trigger':
      case 'rule':
      case 'policy': {
        const [s, t, n] = split3(id);
        entry = find((e) => e.desc === kind.toUpperCase() && e.schema === s && e.tag === `${t} ${n}`);
        break;
      }
      case 'function': {
        const [s, rest] = split2(id);
        entry = find((e) => e.desc === 'FUNCTION' && e.schema === s && e.tag.replace(/ /g, '') === rest.replace(/ /g, ''));
        if (entry && now.has(`function\t${id}`)) {
          replaceFunctions.push(entry);
          summary.recreated.push(`function ${id}`);
          continue;
        }
        break;
      }
      case 'view':
      case 'relation': {
        const [s, n] = split2(id);
        entry = find((e) => ['VIEW', 'MATERIALIZED VIEW'].includes(e.desc) && e.schema === s && e.tag === n);
        if (!entry) {
          unsupported.push(`table ${id} is gone or changed, and its data is not in the scoped snapshot`);
          continue;
        }
        break;
      }
      case 'type': {
        const [s, n] = split2(id);
        entry = find((e) => e.desc === 'TYPE' && e.schema === s && e.tag === n);
        break;
      }
      case 'schema':
        entry = find((e) => e.desc === 'SCHEMA' && e.tag === id);
        break;
      case 'column':
        if (snapViews.has(split3(id).slice(0, 2).join('.'))) continue; // With its view.
        unsupported.push(`column ${id} was dropped or changed, and its table's data is not in the scoped snapshot`);
        continue;
      default:
        unsupported.push(`${kind} ${id} was changed or dropped and is not put back in place`);
        continue;
    }
    if (!entry) {
      unsupported.push(`${kind} ${id} has no entry of its own in the archive to put it back from`);
      continue;
    }
    selected.add(entry);
    summary.recreated.push(`${kind} ${id}`);
  }
  if (unsupported.length > 0) {
    throw new LifeboatError('RESTORE_FAILED', `Snapshot ${manifest.id} cannot revert this database in place: ${unsupported.slice(0, 5).join('; ')}.`, {
      hint: 'Nothing was changed by the rollback: the database is as the migration left it.',
    });
  }

  // Comments, grants, sequence values and ownership of what is selected (TOC entries with no OID of their own).
  const names = new Map<string, Set<string>>(); // schema → tags of comments / grants to take
  const addTag = (schema: string, tag: string) => {
    if (!names.has(schema)) names.set(schema, new Set());
    names.get(schema)!.add(tag);
  };
  const sequences = new Set<string>();
  const relations = new Map<string, string>(); // schema.name → for ON tags
  for (const e of selected) {
    if (['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'SEQUENCE', 'FOREIGN TABLE'].includes(e.desc)) {
      for (const prefix of ['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'SEQUENCE', 'FOREIGN TABLE']) addTag(e.schema, `${prefix} ${e.tag}`);
      relations.set(`${e.schema}.${e.tag}`, e.tag);
      if (e.desc === 'SEQUENCE') sequences.add(`${e.schema}.${e.tag}`);
    } else if (e.desc === 'INDEX') addTag(e.schema, `INDEX ${e.tag}`);
    else if (['CONSTRAINT', 'FK CONSTRAINT', 'CHECK CONSTRAINT', 'TRIGGER', 'RULE', 'POLICY'].includes(e.desc)) {
      const space = e.tag.indexOf(' ');
      const word = e.desc.endsWith('CONSTRAINT') ? 'CONSTRAINT' : e.desc;
      addTag(e.schema, `${word} ${e.tag.slice(space + 1)} ON ${e.tag.slice(0, space)}`);
    } else if (e.desc === 'FUNCTION') addTag(e.schema, `FUNCTION ${e.tag}`);
    else if (e.desc === 'TYPE') addTag(e.schema, `TYPE ${e.tag}`);
  }
  for (const e of toc) {
    if (selected.has(e)) continue;
    if ((e.desc === 'SEQUENCE SET' || e.desc === 'SEQUENCE OWNED BY') && sequences.has(`${e.schema}.${e.tag}`)) selected.add(e);
    else if (['COMMENT', 'ACL', 'SECURITY LABEL'].includes(e.desc)) {
      const tags = names.get(e.schema);
      const column = e.tag.startsWith('COLUMN ') ? e.tag.slice(7, e.tag.lastIndexOf('.')) : undefined;
      if (tags?.has(e.tag) || (column !== undefined && relations.has(`${e.schema}.${column}`))) selected.add(e);
    }
  }
  for (const e of selected)
    if (!['TABLE DATA', 'COMMENT', 'ACL', 'SEQUENCE SET', 'SEQUENCE OWNED BY'].includes(e.desc) && !scoped.has(`${e.schema}.${e.tag}`))
      summary.recreated.push(`${e.desc.toLowerCase()} ${e.schema}.${e.tag}`);

  return { before, entries: toc.filter((e) => selected.has(e)), replaceFunctions, verify: verification(manifest), summary: { ...summary, recreated: [...new Set(summary.recreated)] } };
}

/** The check inside the transaction: the whole schema's fingerprint as db/introspect.ts computes it, and each reloaded table's rows. */
function verification(manifest: Manifest): string {
  const checks = [
    `select encode(sha256(convert_to(coalesce(string_agg(kind || E'\\t' || ident || E'\\t' || coalesce(def, '') || E'\\n', '' order by kind, ident collate "C", def collate "C"), ''), 'UTF8')), 'hex') into lb_got from (${FINGERPRINT_SQL}) o;`,
    `if lb_got is distinct from ${literal(manifest.schema.hash)} then`,
    `  select jsonb_object_agg(kind, objects) into lb_kinds from (select kind, count(*) as objects from (${FINGERPRINT_SQL}) o group by kind) k;`,
    `  raise exception 'lifeboat-verify: the schema differs from the snapshot (objects by kind now: %)', lb_kinds::text;`,
    'end if;',
  ];
  for (const name of manifest.scope!.tables) {
    const table = manifest.tables.find((t) => `${t.schema}.${t.name}` === name);
    if (!table?.exact) continue;
    checks.push(`select count(*) into lb_rows from ${ident(table.schema)}.${ident(table.name)};`);
    checks.push(`if lb_rows <> ${table.rows} then raise exception 'lifeboat-verify: % has % rows, the snapshot %', ${literal(name)}, lb_rows, ${table.rows}; end if;`);
  }
  return `reset all;\ndo $lifeboat_verify$\ndeclare lb_got text; lb_kinds jsonb; lb_rows bigint;\nbegin\n${checks.join('\n')}\nend\n$lifeboat_verify$;\n`;
}

/** A function's archive entry as CREATE OR REPLACE (its OID, and the triggers that use it, stay). */
async function orReplace(sql: string): Promise<string> {
  const { parse } = await libpgQuery();
  // pg_restore's script brackets itself in psql's \restrict / \unrestrict meta-commands: lines for psql, not SQL.
  const script = sql
    .split('\n')
    .filter((line) => !line.startsWith('\\'))
    .join('\n');
  const tree = (await parse(script)) as { stmts?: Array<{ stmt: Record<string, Record<string, unknown>> }> };
  const out: string[] = [];
  for (const { stmt } of tree.stmts ?? []) {
    if (stmt.CreateFunctionStmt) stmt.CreateFunctionStmt.replace = true;
    out.push(`${await deparse(stmt as never)};`);
  }
  return out.join('\n');
}

async function pgRestoreText(tool: PgTool, target: DatabaseTarget, args: string[]): Promise<string> {
  const { process: child, errors } = await runPgTool(tool, args, { env: childEnv(target), stdout: 'pipe' });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  const result = await child;
  if (result.exitCode !== 0) throw new LifeboatError('RESTORE_FAILED', `pg_restore failed reading the snapshot: ${firstLine(errors.join('\n') || `exit ${result.exitCode}`)}`);
  return Buffer.concat(chunks).toString('utf8');
}

function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(text, (error) => (error ? reject(error) : resolve())));
}

/**
 * Roll a scoped snapshot back in place, in ONE transaction (psql, fed a script it reads
 * from its standard input): put back what the migration renamed, drop what it created,
 * drop and recreate the scoped tables from the archive's definitions with their data
 * (streamed from pg_restore, never buffered), with what hangs on them (defaults, owned
 * sequences and their values, constraints, indexes, triggers, rules, policies, other
 * tables' foreign keys to them, views over them, comments, grants), put back changed
 * or dropped indexes, constraints, triggers, functions and views of the other tables,
 * then verify in the same transaction (the whole schema's fingerprint, the reloaded
 * tables' rows) and only then COMMIT. Any error or difference: nothing is committed,
 * the database is exactly as the migration left it.
 */
export async function revertInPlace(options: InPlaceOptions): Promise<InPlaceResult> {
  const { target, store, manifest } = options;
  const onProgress = options.onProgress ?? noProgress;
  const started = Date.now();
  if (manifest.strategy !== 'scoped' || !manifest.scope) throw new LifeboatError('RESTORE_FAILED', `Snapshot ${manifest.id} is not a scoped snapshot.`);
  onProgress({ phase: 'checking the snapshot' });
  const verified = await verifySnapshot(store, manifest, target, { readArchive: false });
  if (!verified.ok) throw corruptError(verified);
  if (encryptedAtRest(manifest)) requireKeys(await loadKeys(store.encryption), `Snapshot ${manifest.id}`);

  let decrypted: DecryptedArchive | undefined;
  let work: string | undefined;
  try {
    const { live, server } = await withClient(target, target.database, async (client) => ({ live: await readLive(client), server: await serverInfo(client) }));
    const archiveMajor = Number(manifest.dump!.toolVersion.split('.')[0]);
    const restoreTool = await findPgTool('pg_restore', Math.max(server.major, archiveMajor), server.major >= archiveMajor ? server.version : manifest.dump!.toolVersion);
    const psql = await findPgTool('psql', server.major, server.version);
    if (encryptedAtRest(manifest)) decrypted = await decryptArchive(store, manifest);
    const archive = join(decrypted?.dir ?? snapshotDir(store, manifest.id), DUMP_FILE);
    const toc = parseToc(await pgRestoreText(restoreTool, target, ['--list', archive]));
    const script = planScript(manifest, live, toc);
    const checkMs = Date.now() - started;

    work = await mkdtemp(join(tmpdir(), 'lifeboat-in-place-'));
    const listFile = join(work, 'entries.list');
    const replaced =
      script.replaceFunctions.length > 0
        ? await (async () => {
            await writeFile(listFile, `${script.replaceFunctions.map((e) => e.line).join('\n')}\n`, { mode: 0o600 });
            return orReplace(await pgRestoreText(restoreTool, target, ['--no-owner', `--use-list=${listFile}`, '--file=-', archive]));
          })()
        : '';
    await writeFile(listFile, `${script.entries.map((e) => e.line).join('\n')}\n`, { mode: 0o600 });

    const loadStart = Date.now();
    await options.intent?.update({ phase: 'restoring', snapshot: manifest.id, staging: undefined });
    onProgress({ phase: 'rolling back in place' });
    options.onNotice?.(
      `in place, in one transaction: ${script.summary.reloaded.length} table(s) reloaded${script.summary.reloaded.length > 0 ? ` (${script.summary.reloaded.join(', ')})` : ''}, ${script.summary.dropped.length} object(s) dropped, ${script.summary.renamed.length} renamed back`,
    );
    const session = await runPgTool(psql, ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--file=-'], { env: childEnv(target), stdin: 'pipe', stdout: 'ignore' });
    const psqlDone = session.process;
    const stdin = session.process.stdin!;
    let verifyStart = Date.now();
    const feed = (async () => {
      await write(stdin, `\\set ON_ERROR_STOP 1\nbegin;\n${script.before.join('\n')}\n${replaced}\n`);
      if (script.entries.length > 0) {
        const restore = await runPgTool(restoreTool, [`--use-list=${listFile}`, '--file=-', archive], { env: childEnv(target), stdout: 'pipe' });
        restore.process.stdout!.pipe(stdin, { end: false });
        const result = await restore.process;
        if (result.exitCode !== 0) throw new LifeboatError('RESTORE_FAILED', `pg_restore failed: ${firstLine(restore.errors.join('\n') || `exit ${result.exitCode}`)}`);
        await new Promise<void>((resolve) => (restore.process.stdout!.readableEnded ? resolve() : restore.process.stdout!.once('end', () => resolve())));
      }
      await failpoint('inplace:before-verify');
      verifyStart = Date.now();
      await write(stdin, `${script.verify}commit;\n`);
      stdin.end();
    })();
    // psql ending early (an error) closes its input: the feed's failure is then the psql's.
    const [fed, result] = await Promise.all([
      feed.then(
        () => undefined,
        (error: unknown) => error,
      ),
      psqlDone,
    ]);
    if (result.exitCode !== 0 || fed) {
      if (result.exitCode === 0) stdin.destroy();
      const verify = session.errors.find((line) => line.includes('lifeboat-verify:'));
      const detail = verify
        ? `the verification in the transaction failed: ${verify.slice(verify.indexOf('lifeboat-verify:') + 17)}`
        : session.errors.length > 0
          ? firstLine(session.errors.join('\n')).replace(/^psql:[^ ]* /, '')
          : fed instanceof Error
            ? fed.message
            : `psql exited with code ${result.exitCode}`;
      throw new LifeboatError('RESTORE_FAILED', `The in-place rollback was undone (ROLLBACK), nothing of it committed: ${detail}.`, {
        hint: 'The database is exactly as the migration left it; the scoped snapshot is kept. Fix the cause and run `lifeboat recover` to retry.',
      });
    }
    const verifyMs = Date.now() - verifyStart;
    const loadMs = verifyStart - loadStart;
    const inPlace: InPlaceResult = {
      snapshot: manifest.id,
      database: target.database,
      strategy: 'scoped',
      durationMs: Date.now() - started,
      phases: { checkMs, loadMs, verifyMs, swapMs: 0 },
      inPlace: script.summary,
    };
    await appendJournalAfterChange(store, { event: 'restore', snapshot: manifest.id, database: target.database, strategy: 'scoped', durationMs: inPlace.durationMs }, options.onNotice);
    return inPlace;
  } finally {
    if (work) await rm(work, { recursive: true, force: true }).catch(() => {});
    await decrypted?.dispose().catch(() => {});
  }
}
