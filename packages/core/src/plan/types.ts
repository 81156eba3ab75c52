import type { ParsedStatement, ParseFailure } from './parse.js';

/** How much a finding matters: `error` blocks a deploy, `warning` and `info` are reported. */
export type Severity = 'error' | 'warning' | 'info';

/** PostgreSQL's table lock modes, weakest first. */
export const LOCK_MODES = ['ACCESS SHARE', 'ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'] as const;
export type LockMode = (typeof LOCK_MODES)[number];

/** A table as the plan names it: schema-qualified, unquoted ("public.users"). */
export type TableName = string;

/** What the live database says of a table the plan touches (read from the catalogs and statistics, no scan). */
export interface LiveTable {
  table: TableName;
  /** pg_class.reltuples (an estimate; -1 never analysed is reported as undefined). */
  rows: number | undefined;
  /** pg_total_relation_size. */
  bytes: number;
}

/** What one statement does to the database, whatever the rules think of it. */
export interface StatementEffects {
  /** Every table lock it takes, strongest per table. */
  locks: Array<{ table: TableName; mode: LockMode }>;
  /** Tables it rewrites (a new heap: ALTER COLUMN TYPE, ADD COLUMN with a volatile default, VACUUM FULL, CLUSTER). */
  rewrites: TableName[];
  /** Tables it reads in full while holding its lock (SET NOT NULL, a validated constraint, a CREATE INDEX). */
  scans: TableName[];
  /** False for statements PostgreSQL refuses in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ALTER TYPE … ADD VALUE before 12). */
  transactional: boolean;
  /**
   * Existing rows or columns it can change or remove (issue #13's at-risk set, before the
   * closure over foreign keys and triggers): `tables` when bounded, `unbounded` with the
   * reason when the analysis cannot say (a DO block, a function call, an unknown statement).
   */
  atRisk: { tables: TableName[] } | { unbounded: string };
  /** Tables and other objects it creates (dropped by an in-place rollback). */
  creates: Array<{ kind: 'table' | 'index' | 'sequence' | 'view' | 'type' | 'function' | 'trigger' | 'schema' | 'other'; name: string }>;
}

/** A rule's verdict on one statement. */
export interface Finding {
  /** The rule's name, as `plan.allow`, `plan.severity` and `-- lifeboat:allow` spell it: "adding-not-null". */
  rule: string;
  severity: Severity;
  /** One line: what the statement does and why it matters, with the live figures. */
  message: string;
  /** What to do instead, one line. */
  hint?: string;
  /** The table it is about, when there is one. */
  table?: TableName;
  /** A pre-check's answer against the live data, when the rule has one. */
  precheck?: PrecheckResult;
  /** Allowed by config or comment: reported, never blocking. */
  allowed?: 'config' | 'comment';
}

/** A read-only query's answer to "will this statement succeed on the data as it is now?". */
export interface PrecheckResult {
  /** "duplicates", "nulls", "orphans", "check-violations", "cast-failures". */
  kind: string;
  /** How many rows (or groups) would make the statement fail; 0 = it will succeed on today's data. */
  count: number;
  /** A few examples, masked ("a***@***.com") unless `--show-values`. */
  examples: string[];
  /** True when the query ran out of its time budget and `count` is a lower bound or unknown. */
  incomplete?: boolean;
}

export interface StatementPlan {
  statement: Pick<ParsedStatement, 'migration' | 'index' | 'line' | 'sql' | 'kind'>;
  effects: StatementEffects;
  findings: Finding[];
  /** Live figures of the tables it touches. */
  tables: LiveTable[];
}

export interface MigrationPlan {
  name: string;
  /** Where its SQL came from: the migration's file, or a capture of what the tool sent in a schema-only rehearsal. */
  source: 'file' | 'captured';
  statements: StatementPlan[];
  /** The parser refused the SQL. */
  parseError?: ParseFailure;
  /** How long the migration waited for locks during a deploy or rehearsal (filled in afterwards), ms. */
  lockWaitMs?: number;
}

export interface Plan {
  database: string;
  migrations: MigrationPlan[];
  /** What could not be known, one line each (no CREATEDB for the rehearsal; a tool whose SQL cannot be captured). */
  notes: string[];
  /** The schema-only rehearsal: ran and passed, failed with the server's error, or skipped (why). */
  rehearsal?: { ran: true; ok: true; ms: number } | { ran: true; ok: false; migration?: string; error: string; ms: number } | { ran: false; why: string };
  /** At least one finding of severity error that is not allowed. */
  blocking: boolean;
  /** The deploy's at-risk set, closed over foreign keys, triggers and rules. */
  atRisk: { tables: TableName[] } | { unbounded: string };
  /** Whether an in-place rollback can revert every statement (plan/at-risk.ts `revertibleInPlace`), else why not. */
  inPlace?: true | string;
  timings: { parseMs: number; liveMs: number; prechecksMs: number; rehearsalMs: number; totalMs: number };
}
