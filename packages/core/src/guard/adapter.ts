import type pg from 'pg';
import type { CheckResult } from '../checks/result.js';
import type { ChosenDatabase, ToolDatabase } from '../config/database.js';
import type { SessionSettings } from './tool-sessions.js';

/** Where a tool's migrations stand, both read in one look at its migration table. */
export interface MigrationStatus {
  /** Migrations not applied yet, oldest first: what the tool will run. */
  pending: string[];
  /** Migrations recorded as applied, oldest first. */
  applied: string[];
}

/**
 * What the guard needs from an ORM, and nothing more: what is pending and applied,
 * and whether the tool's own bookkeeping is sound after a run. Adapters
 * (packages/prisma, knex, drizzle) implement it; the core knows no ORM.
 */
export interface MigrationAdapter {
  /** "prisma", "knex", "drizzle". */
  name: string;
  status(client: pg.Client): Promise<MigrationStatus>;
  /** After a run: no failed or unfinished rows in the migration table, every migration applied. */
  checkBookkeeping(client: pg.Client): Promise<CheckResult>;
  /**
   * For a tool that fails without saying why (drizzle-kit 0.31): find the cause, on a
   * database as it was before the deploy, without changing it. `pending` is what the tool
   * was to run. One line, or undefined when nothing can be said.
   */
  explainFailure?(client: pg.Client, pending: string[]): Promise<string | undefined>;
  /**
   * The SQL the pending migrations will send, read from their files (Prisma's
   * migration.sql, Drizzle's .sql split on its breakpoints), oldest first. For `lifeboat plan`.
   */
  pendingSql?(pending: string[]): Promise<MigrationSql[]>;
  /**
   * For a tool whose SQL is code (Knex): run the pending migrations, one at a time and in
   * order, against another database (a schema-only rehearsal copy: never the live one; its
   * migration table is empty, so `pending` says which to run) and record what each sent.
   * A migration that fails ends the capture with the server's error.
   */
  captureSql?(databaseUrl: string, pending: string[]): Promise<CaptureResult>;
  /**
   * The tool's own tables (`schema.table`), which it writes beside every migration: a
   * bounded at-risk set always holds them, so an in-place rollback takes their new rows out.
   */
  bookkeeping?: string[];
  /** How the tool runs the pending migrations' statements: for the plan's transaction rules, and a rehearsal that runs them as the tool would. */
  runs?: MigrationRuns;
  /**
   * When each applied migration ran, as the tool recorded it (Prisma's started_at and
   * finished_at; Knex's migration_time, when it finished), oldest first: `lifeboat
   * rehearse` turns them into durations. Absent where the tool records no run times (Drizzle).
   */
  appliedTimes?(client: pg.Client): Promise<AppliedTime[]>;
}

export interface AppliedTime {
  migration: string;
  /** Where the tool records it; otherwise the previous migration's end (one batch, in order). */
  startedAt?: Date;
  finishedAt: Date;
}

/**
 * How a migrate tool runs the statements of the pending migrations: `wrapped` in one
 * transaction it opens (Knex by default, Drizzle: every pending migration in one), each
 * migration as one `script` sent at once (Prisma: several statements make an implicit
 * transaction, an explicit BEGIN / COMMIT is honoured), or `autocommit`, one by one (psql -f,
 * Knex with `transaction: false`).
 */
export type MigrationRuns = 'wrapped' | 'script' | 'autocommit';

/** A migration's SQL: one string that may hold several statements. */
export interface MigrationSql {
  migration: string;
  sql: string;
  /** The file it was read from, for messages. */
  file?: string;
}

export type CaptureResult =
  | { ok: true; migrations: MigrationSql[] }
  /** What was captured up to the failure, and the failure in the server's (or the tool's) words. */
  | { ok: false; migrations: MigrationSql[]; migration: string | undefined; error: string };

/** The migration itself: a CLI process, or a function in the app's own process (programmatic hooks). */
export interface MigrationRun {
  /** What runs, for reports: "prisma migrate deploy". */
  describe: string;
  /**
   * Run it, streaming its output. `signal` aborts it (Ctrl-C). `output: 'stderr'` sends the
   * tool's stdout to stderr, keeping stdout for Lifeboat's --json document. A process
   * reports its process group's pid through `onSpawn`, for the deploy's intent record.
   * `env` goes over a process's environment (the sessions' PGOPTIONS and PGAPPNAME,
   * guard/tool-sessions.ts); an in-process run sets `session` on its connections instead.
   */
  run(options: { signal: AbortSignal; output: 'inherit' | 'stderr'; onSpawn?: (pid: number) => void; env?: Record<string, string>; session?: SessionSettings }): Promise<RunOutcome>;
  /** How `session` reaches an in-process run's connections, for the deploy's notice (a process gets `env`, and the guard says who reads it). */
  sessionReach?: string;
  /**
   * In-process runs hold pool connections to the database; a rollback replaces it by a
   * rename swap, which ends those sessions. Close the pool before, reopen it after.
   */
  beforeRestore?(): Promise<void>;
  afterRestore?(): Promise<void>;
}

export interface RunOutcome {
  /** 0 when the migration succeeded. */
  exitCode: number;
  /** A one-line reason when it failed and there is more to say than the exit code. */
  error?: string;
  /** What the adapter found afterwards when the tool said nothing (`explainFailure`). */
  cause?: string;
}

/**
 * How `lifeboat <tool> …` hands a command line to an adapter package. The adapter knows
 * its tool's subcommands and configuration; the core decides the database (`choose`, the
 * one rule) and runs the pipeline.
 */
export interface CliAdapter {
  /** The word after `lifeboat`: "prisma", "knex", "drizzle-kit". */
  tool: string;
  /** Its command that applies the pending migrations, for `lifeboat plan <tool>` and `lifeboat rehearse <tool>` without arguments: ["migrate", "deploy"]. */
  migrateArgs: string[];
  /**
   * What the tool's own configuration in `cwd` names, read as the tool reads it when given
   * no arguments; undefined when the project has no configuration for this tool. Recovery
   * commands ask it, so that they find the database the deploys protect.
   */
  configuredDatabase(input: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ToolDatabase | undefined>;
  prepare(input: CliAdapterInput): Promise<PreparedCommand>;
}

export interface CliAdapterInput {
  /** Everything after the tool name, passed on untouched. */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * The rule (`chooseDatabase`) with what Lifeboat was given: call it with what the tool's
   * configuration names. When it chooses another source, the adapter points the tool at
   * that database (the variables its configuration reads) or refuses (`anotherDatabaseError`).
   */
  choose(tool: ToolDatabase): ChosenDatabase | undefined;
}

/** What an invocation is, by the adapter's knowledge of its tool's subcommands. */
export type PreparedCommand =
  /** Applies migrations (`migrate deploy`, `migrate:latest`): the guarded deploy, rolled back when it fails. */
  | {
      mode: 'migrate';
      database: ChosenDatabase;
      adapter: MigrationAdapter;
      run: MigrationRun;
      /**
       * The same command and adapter pointed at another database (`lifeboat rehearse`'s
       * scratch copy), through what the tool's configuration reads (the variables it takes
       * its URL from). Throws where the URL is fixed in the tool's configuration file.
       */
      runOn?(databaseUrl: string): Promise<{ run: MigrationRun; adapter: MigrationAdapter }>;
    }
  /**
   * Changes or wipes the schema on purpose (`db push`, `migrate reset`, `migrate:rollback`):
   * a snapshot first, recorded as a restore point, and no automatic rollback. `adapter`,
   * when given, records which migrations were applied before and after.
   */
  | { mode: 'destructive'; database: ChosenDatabase; adapter?: MigrationAdapter; run: MigrationRun }
  /** Changes no database (`generate`, `migrate:status`): run as it is. */
  | { mode: 'pass-through'; run: MigrationRun }
  /** A subcommand the adapter does not know: run as it is, with one line saying it is not guarded. */
  | { mode: 'unknown'; subcommand: string; run: MigrationRun };
