import type { Node, TypeName } from '@pgsql/types';
import { as, strings } from './nodes.js';

/**
 * A column's type as the plan compares them: the internal name ("varchar", "int4",
 * "timestamptz"; user types keep their written name) and its modifiers (length, precision,
 * scale), from a statement's TypeName or from the catalog's format_type text.
 */
export interface ColumnType {
  name: string;
  mods: number[];
  array: boolean;
}

/** The spellings format_type and the grammar use, to one internal name each. */
const ALIASES: Record<string, string> = {
  'character varying': 'varchar',
  character: 'bpchar',
  char: 'bpchar',
  integer: 'int4',
  int: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  decimal: 'numeric',
  'double precision': 'float8',
  real: 'float4',
  float: 'float8',
  boolean: 'bool',
  'timestamp without time zone': 'timestamp',
  'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time',
  'time with time zone': 'timetz',
  'bit varying': 'varbit',
  serial: 'int4',
  serial4: 'int4',
  bigserial: 'int8',
  serial8: 'int8',
  smallserial: 'int2',
  serial2: 'int2',
};

function internal(name: string): string {
  return ALIASES[name] ?? name;
}

/** The type a statement writes (ALTER COLUMN … TYPE, ADD COLUMN, CREATE TABLE). */
export function writtenType(type: TypeName | undefined): ColumnType | undefined {
  if (!type) return undefined;
  const parts = strings(type.names);
  if (parts.length === 0) return undefined;
  const name = parts.length === 2 && parts[0] === 'pg_catalog' ? (parts[1] ?? '') : parts.join('.');
  const mods: number[] = [];
  for (const m of type.typmods ?? []) {
    const c = as<{ ival?: { ival?: number } }>(m as Node, 'A_Const');
    if (c) mods.push(c.ival?.ival ?? 0);
  }
  // The grammar stores `float(p)` as float4 / float8 already and `timestamp(3)` as a modifier.
  return { name: internal(name), mods, array: (type.arrayBounds?.length ?? 0) > 0 };
}

/** The name as written before aliasing ("serial", "varchar"), for the style rules. */
export function writtenTypeName(type: TypeName | undefined): string | undefined {
  const parts = strings(type?.names);
  if (parts.length === 0) return undefined;
  return parts.length === 2 && parts[0] === 'pg_catalog' ? parts[1] : parts.join('.');
}

/** format_type's text ("character varying(255)", "numeric(10,2)", "timestamp(3) with time zone", "integer[]"). */
export function catalogType(text: string): ColumnType {
  let rest = text.trim();
  let array = false;
  while (rest.endsWith('[]')) {
    array = true;
    rest = rest.slice(0, -2);
  }
  const open = rest.indexOf('(');
  let mods: number[] = [];
  if (open >= 0) {
    const close = rest.indexOf(')', open);
    mods = rest
      .slice(open + 1, close)
      .split(',')
      .map((m) => Number(m.trim()));
    rest = `${rest.slice(0, open)} ${rest.slice(close + 1)}`.split(' ').filter(Boolean).join(' ');
  }
  return { name: internal(rest), mods, array };
}

/** Internal names as people write them. */
const SPOKEN: Record<string, string> = { int2: 'smallint', int4: 'integer', int8: 'bigint', bpchar: 'char', float4: 'real', float8: 'double precision', bool: 'boolean' };

/** A type as people write it: "varchar(10)", "bigint", "char(2)". */
export function displayType(type: ColumnType): string {
  return `${SPOKEN[type.name] ?? type.name}${type.mods.length > 0 ? `(${type.mods.join(',')})` : ''}${type.array ? '[]' : ''}`;
}

/** What changing a column from one type to another costs and loses. */
export interface TypeChange {
  /** PostgreSQL rewrites the table (and its indexes) under ACCESS EXCLUSIVE. */
  rewrite: boolean;
  /** Values can be cut, rounded or refused: why. */
  lossy?: string;
}

const STRINGS = new Set(['varchar', 'text', 'bpchar']);
const INTEGERS: Record<string, number> = { int2: 2, int4: 4, int8: 8 };
const TIMESTAMPS = new Set(['timestamp', 'timestamptz', 'time', 'timetz', 'interval']);

/**
 * The cost of `ALTER COLUMN … TYPE`, by PostgreSQL's own rules: no rewrite for a
 * binary-coercible change (varchar → text, a longer or unlimited varchar, a numeric whose
 * precision grows at the same scale, a timestamp's precision growing); a rewrite for anything
 * else. Lossy: a shorter string, a smaller integer, lower numeric precision or scale, a float
 * to an integer, timestamptz to timestamp or date, a shorter time precision.
 */
export function typeChange(from: ColumnType, to: ColumnType, using: boolean): TypeChange {
  const lossy = lossOf(from, to);
  if (using) return { rewrite: true, ...(lossy ? { lossy } : {}) };
  if (from.array !== to.array) return { rewrite: true, ...(lossy ? { lossy } : {}) };
  if (from.name === to.name) {
    if (sameMods(from.mods, to.mods)) return { rewrite: false };
    return { rewrite: modsNeedRewrite(from, to), ...(lossy ? { lossy } : {}) };
  }
  // Binary-coercible pairs PostgreSQL relabels without touching a row.
  if (from.name === 'varchar' && to.name === 'text') return { rewrite: false };
  if (from.name === 'text' && to.name === 'varchar' && to.mods.length === 0) return { rewrite: false };
  if (from.name === 'cidr' && to.name === 'inet') return { rewrite: false };
  if (from.name === 'xml' && to.name === 'text') return { rewrite: false };
  return { rewrite: true, ...(lossy ? { lossy } : {}) };
}

function sameMods(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** A modifier change within one type: only growth (or removing the limit) is free. */
function modsNeedRewrite(from: ColumnType, to: ColumnType): boolean {
  switch (from.name) {
    case 'varchar':
    case 'varbit':
      return !(to.mods.length === 0 || (from.mods.length > 0 && (to.mods[0] ?? 0) >= (from.mods[0] ?? 0)));
    case 'numeric': {
      if (to.mods.length === 0) return false;
      if (from.mods.length === 0) return true;
      return !((to.mods[1] ?? 0) === (from.mods[1] ?? 0) && (to.mods[0] ?? 0) >= (from.mods[0] ?? 0));
    }
    case 'timestamp':
    case 'timestamptz':
    case 'time':
    case 'timetz':
    case 'interval':
      return !(to.mods.length === 0 || (from.mods.length > 0 && (to.mods[0] ?? 0) >= (from.mods[0] ?? 0)));
    default:
      return true;
  }
}

function lossOf(from: ColumnType, to: ColumnType): string | undefined {
  if (from.array !== to.array) return undefined;
  const fromLen = from.mods[0];
  const toLen = to.mods[0];
  if (STRINGS.has(from.name) && STRINGS.has(to.name) && toLen !== undefined && (fromLen === undefined || toLen < fromLen)) {
    return `longer values than ${toLen} characters are refused`;
  }
  const fromInt = INTEGERS[from.name];
  const toInt = INTEGERS[to.name];
  if (fromInt && toInt && toInt < fromInt) return `values beyond the range of ${to.name} are refused`;
  if ((from.name === 'numeric' || from.name === 'float4' || from.name === 'float8') && toInt) return 'fractions are rounded away';
  if (from.name === 'float8' && to.name === 'float4') return 'precision drops to 6 digits';
  if (from.name === 'numeric' && to.name === 'numeric' && to.mods.length > 0) {
    if (from.mods.length === 0) return `precision and scale are cut to numeric(${to.mods.join(',')})`;
    const [fp = 0, fs = 0] = from.mods;
    const [tp = 0, ts = 0] = to.mods;
    if (ts < fs) return `digits after the point are rounded from ${fs} to ${ts}`;
    if (tp - ts < fp - fs) return `values above ${tp - ts} integer digits are refused`;
  }
  if (from.name === 'numeric' && (to.name === 'float4' || to.name === 'float8')) return 'exact decimals become binary floating point';
  if (from.name === 'timestamptz' && to.name === 'timestamp') return 'the time zone is dropped (values are read in the session time zone)';
  if ((from.name === 'timestamptz' || from.name === 'timestamp') && to.name === 'date') return 'the time of day is dropped';
  if (TIMESTAMPS.has(from.name) && from.name === to.name && toLen !== undefined && (fromLen === undefined || toLen < fromLen)) {
    return `fractional seconds are rounded to ${toLen} digits`;
  }
  return undefined;
}
