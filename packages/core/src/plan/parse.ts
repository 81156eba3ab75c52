import type { Node } from '@pgsql/types';

/**
 * One statement of a migration as PostgreSQL's own parser reads it (libpg-query: the
 * server's parser compiled to WebAssembly, loaded on first use so that commands that plan
 * nothing never pay for it).
 */
export interface ParsedStatement {
  /** The migration it belongs to ("20240101_add_email"), or "" for SQL with no migration. */
  migration: string;
  /** 1-based position within its migration. */
  index: number;
  /** The statement's own text, trimmed, as it stands in the source. */
  sql: string;
  /** 1-based line of the statement's first character in its migration's SQL. */
  line: number;
  /** The parse tree's node type: "AlterTableStmt", "IndexStmt", "UpdateStmt"… */
  kind: string;
  /** The node itself: `{ [kind]: body }`, as @pgsql/types describes it. */
  node: Node;
  /**
   * Rules allowed for this statement by a comment `-- lifeboat:allow rule-a, rule-b` in the
   * migration: a comment on a line of its own before the first statement allows for the
   * whole migration, one within or just before a statement allows for that statement.
   */
  allows: string[];
}

/** SQL the parser refused: the migration cannot run as written. */
export interface ParseFailure {
  migration: string;
  message: string;
  /** 1-based line of the error in the migration's SQL, when PostgreSQL says where. */
  line: number | undefined;
}

export type ParseResult = { ok: true; statements: ParsedStatement[] } | { ok: false; error: ParseFailure };

type LibPgQuery = typeof import('libpg-query');
let loaded: Promise<LibPgQuery> | undefined;

/** libpg-query, loaded once, lazily. */
export function libpgQuery(): Promise<LibPgQuery> {
  loaded ??= import('libpg-query').then(async (m) => {
    await m.loadModule();
    return m;
  });
  return loaded;
}

const ALLOW = '-- lifeboat:allow ';

/** Rule names in `-- lifeboat:allow a, b` comment lines of a stretch of SQL text (comments only: the parser drops them). */
function allowsIn(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const comment = line.trim().replace(/^--\s*/, '-- ');
    if (!comment.startsWith(ALLOW)) continue;
    for (const name of comment.slice(ALLOW.length).split(/[\s,]+/)) if (name) names.push(name);
  }
  return names;
}

/**
 * Split a migration's SQL into statements with PostgreSQL's parser. The statement text
 * comes from the parser's own locations (byte offsets, so the text is sliced as UTF-8).
 */
export async function parseMigration(migration: string, sql: string): Promise<ParseResult> {
  // An empty migration has no statements (the parser refuses an empty string).
  if (sql.trim() === '') return { ok: true, statements: [] };
  const { parse } = await libpgQuery();
  let tree: { stmts?: Array<{ stmt: Node; stmt_location?: number; stmt_len?: number }> };
  try {
    tree = (await parse(sql)) as typeof tree;
  } catch (error) {
    const err = error as { message?: string; sqlDetails?: { cursorPosition?: number } };
    const cursor = err.sqlDetails?.cursorPosition;
    const line = cursor === undefined ? undefined : lineAt(newlines(Buffer.from(sql)), cursor);
    return { ok: false, error: { migration, message: err.message ?? String(error), line } };
  }
  const bytes = Buffer.from(sql);
  const breaks = newlines(bytes);
  const statements: ParsedStatement[] = [];
  const raw = tree.stmts ?? [];
  // Comments before the first statement's text allow for the whole migration.
  const firstStart = raw.length > 0 ? statementStart(bytes, raw[0]?.stmt_location ?? 0) : bytes.length;
  const fileAllows = allowsIn(bytes.subarray(0, firstStart).toString());
  raw.forEach((entry, i) => {
    const from = entry.stmt_location ?? 0;
    const to = entry.stmt_len ? from + entry.stmt_len : bytes.length;
    const chunk = bytes.subarray(from, to).toString();
    const start = statementStart(bytes, from);
    const kind = Object.keys(entry.stmt)[0] ?? 'Unknown';
    statements.push({
      migration,
      index: i + 1,
      sql: bytes.subarray(start, to).toString().trim(),
      line: lineAt(breaks, start),
      kind,
      node: entry.stmt,
      allows: [...fileAllows, ...(i === 0 ? [] : allowsIn(chunk))],
    });
  });
  return { ok: true, statements };
}

/** The first byte of a statement after the whitespace and comments the parser counts into it. */
function statementStart(bytes: Buffer, from: number): number {
  let at = from;
  for (;;) {
    while (at < bytes.length && /\s/.test(String.fromCharCode(bytes[at] ?? 0))) at++;
    if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) {
      while (at < bytes.length && bytes[at] !== 0x0a) at++;
      continue;
    }
    if (bytes[at] === 0x2f && bytes[at + 1] === 0x2a) {
      const end = bytes.indexOf('*/', at + 2);
      at = end < 0 ? bytes.length : end + 2;
      continue;
    }
    return at;
  }
}

/** Byte offsets of the text's line breaks, found once per migration. */
function newlines(bytes: Buffer): number[] {
  const found: number[] = [];
  for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, at + 1)) found.push(at);
  return found;
}

/** 1-based line of a byte offset: one more than the breaks before it (a binary search, not a rescan per statement). */
function lineAt(breaks: number[], offset: number): number {
  let low = 0;
  let high = breaks.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (breaks[mid]! < offset) low = mid + 1;
    else high = mid;
  }
  return low + 1;
}

type Deparser = typeof import('pgsql-deparser');
let deparserLoaded: Promise<Deparser> | undefined;

/**
 * A node of a parse tree back to SQL (pgsql-deparser), for the pre-checks' queries.
 * `pretty: false` gives one line (for messages); the deparser's default is pretty-printed.
 */
export async function deparse(node: unknown, options: { pretty?: boolean } = {}): Promise<string> {
  deparserLoaded ??= import('pgsql-deparser');
  const { deparse: run } = await deparserLoaded;
  return run(node as never, options);
}
