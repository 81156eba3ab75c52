import type { FuncCall, Node, RangeVar, TypeName } from '@pgsql/types';

/**
 * Reading PostgreSQL's parse tree (libpg-query's JSON, typed by @pgsql/types): a node is
 * `{ [kind]: body }`, and the parser leaves out every field at its default (false, 0, empty).
 */

/** The kind and body of a node. */
export function unwrap(node: Node | undefined): [string, Record<string, unknown>] | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const kind = Object.keys(node)[0];
  if (!kind) return undefined;
  return [kind, (node as unknown as Record<string, Record<string, unknown>>)[kind] ?? {}];
}

/** The body of a node when it is of the kind asked for. */
export function as<T>(node: Node | undefined, kind: string): T | undefined {
  const found = unwrap(node);
  return found && found[0] === kind ? (found[1] as T) : undefined;
}

/** The values of a list of String nodes ("public", "users"). */
export function strings(nodes: Node[] | undefined): string[] {
  const out: string[] = [];
  for (const n of nodes ?? []) {
    const s = as<{ sval?: string }>(n, 'String');
    if (s?.sval !== undefined) out.push(s.sval);
  }
  return out;
}

/** A qualified name as a list of String nodes, or a List of them (DROP's objects). */
export function nameParts(node: Node | undefined): string[] {
  const list = as<{ items?: Node[] }>(node, 'List');
  if (list) return strings(list.items);
  const s = as<{ sval?: string }>(node, 'String');
  if (s?.sval !== undefined) return [s.sval];
  const type = as<TypeName>(node, 'TypeName');
  if (type) return strings(type.names);
  return [];
}

/** A relation as a statement writes it: schema optional. */
export interface WrittenName {
  schema?: string | undefined;
  table: string;
}

export function rangeVarName(rv: RangeVar | undefined): WrittenName | undefined {
  if (!rv?.relname) return undefined;
  return { schema: rv.schemaname, table: rv.relname };
}

/** The last two parts of a qualified name list (["s", "t"] → s.t, ["t"] → t). */
export function partsName(parts: string[]): WrittenName | undefined {
  const table = parts[parts.length - 1];
  if (table === undefined) return undefined;
  return { schema: parts.length > 1 ? parts[parts.length - 2] : undefined, table };
}

/** Every node of a tree, depth first, with its kind (the tree itself included). */
export function walk(node: unknown): Array<[string, Record<string, unknown>]> {
  const out: Array<[string, Record<string, unknown>]> = [];
  collect(node, out);
  return out;
}

function collect(node: unknown, out: Array<[string, Record<string, unknown>]>): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const key in node as Record<string, unknown>) {
    const value = (node as Record<string, unknown>)[key];
    if (value === null || typeof value !== 'object') continue;
    // A node is an object whose one key is its kind, capitalised ("SelectStmt"); fields are not.
    const first = key.charCodeAt(0);
    if (first >= 65 && first <= 90 && !Array.isArray(value)) out.push([key, value as Record<string, unknown>]);
    collect(value, out);
  }
}

/** A function call's name, lower case, without a pg_catalog qualification ("now", "myschema.f"). */
export function funcName(call: FuncCall): string {
  const parts = strings(call.funcname);
  if (parts.length === 2 && parts[0] === 'pg_catalog') return parts[1] ?? '';
  return parts.join('.');
}

/**
 * Built-in functions that change no table: a SELECT or CALL of these alone is bounded, and
 * in a DEFAULT they are not volatile unless listed in VOLATILE_BUILTINS.
 */
const HARMLESS_BUILTINS = new Set([
  'now',
  'statement_timestamp',
  'transaction_timestamp',
  'clock_timestamp',
  'timeofday',
  'current_setting',
  'set_config',
  'version',
  'gen_random_uuid',
  'uuid_generate_v4',
  'random',
  'nextval',
  'currval',
  'setval',
  'lastval',
  'pg_sleep',
  'pg_advisory_lock',
  'pg_advisory_unlock',
  'pg_advisory_xact_lock',
  'pg_try_advisory_lock',
  'pg_try_advisory_xact_lock',
  'pg_notify',
  'txid_current',
  'pg_current_xact_id',
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'array_agg',
  'string_agg',
  'lower',
  'upper',
  'trim',
  'btrim',
  'ltrim',
  'rtrim',
  'length',
  'char_length',
  'substring',
  'substr',
  'replace',
  'concat',
  'concat_ws',
  'left',
  'right',
  'split_part',
  'format',
  'md5',
  'abs',
  'round',
  'floor',
  'ceil',
  'greatest',
  'least',
  'date_trunc',
  'date_part',
  'extract',
  'to_char',
  'to_date',
  'to_timestamp',
  'to_number',
  'make_date',
  'make_interval',
  'age',
  'jsonb_build_object',
  'json_build_object',
  'jsonb_build_array',
  'json_build_array',
  'to_json',
  'to_jsonb',
  'jsonb_set',
  'jsonb_strip_nulls',
  'array_length',
  'array_position',
  'cardinality',
  'unnest',
  'generate_series',
  'regexp_replace',
  'pg_get_serial_sequence',
  'pg_typeof',
  'quote_ident',
  'quote_literal',
  'encode',
  'decode',
  'row_number',
  'rank',
  'exists',
]);

/** Builtins whose value differs row by row: as a column's DEFAULT they make ADD COLUMN rewrite the table. */
const VOLATILE_BUILTINS = new Set(['clock_timestamp', 'timeofday', 'gen_random_uuid', 'uuid_generate_v4', 'uuid_generate_v1', 'random', 'nextval', 'setval', 'txid_current', 'pg_current_xact_id']);

export function isHarmlessBuiltin(call: FuncCall): boolean {
  return HARMLESS_BUILTINS.has(funcName(call));
}

/** The first call in a tree to a function that is not a harmless builtin (it can change any table). */
export function unknownCall(node: unknown): string | undefined {
  for (const [kind, body] of walk(node)) {
    if (kind === 'FuncCall' && !isHarmlessBuiltin(body as FuncCall)) return funcName(body as FuncCall);
  }
  return undefined;
}

/**
 * Whether an expression gives each row its own value (a DEFAULT that is volatile, which
 * makes ADD COLUMN rewrite the table): a volatile builtin, or any function Lifeboat does not
 * know (conservative: a user's function is VOLATILE unless declared otherwise).
 */
export function volatileCall(node: unknown): string | undefined {
  for (const [kind, body] of walk(node)) {
    if (kind !== 'FuncCall') continue;
    const name = funcName(body as FuncCall);
    if (VOLATILE_BUILTINS.has(name) || !HARMLESS_BUILTINS.has(name)) return name;
  }
  return undefined;
}

/** Whether a DefElem list (VACUUM's, REINDEX's options) names an option ("full", "concurrently"). */
export function hasOption(options: Node[] | undefined, name: string): boolean {
  for (const o of options ?? []) {
    const def = as<{ defname?: string; arg?: Node }>(o, 'DefElem');
    if (def?.defname !== name) continue;
    // `(FULL false)` turns it off.
    const arg = unwrap(def.arg);
    if (arg && arg[0] === 'Boolean' && !arg[1].boolval) return false;
    if (arg && arg[0] === 'String' && ['false', 'off', '0'].includes(String(arg[1].sval).toLowerCase())) return false;
    return true;
  }
  return false;
}
