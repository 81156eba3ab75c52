import type pg from 'pg';
import type { CheckResult } from '../checks/result.js';

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
}

/** The migration itself: a CLI process, or a function in the app's own process (programmatic hooks). */
export interface MigrationRun {
  /** What runs, for reports: "prisma migrate deploy". */
  describe: string;
  /**
   * Run it, streaming its output. `signal` aborts it (Ctrl-C). `output: 'stderr'` sends the
   * tool's stdout to stderr, keeping stdout for Lifeboat's --json document. A process
   * reports its process group's pid through `onSpawn`, for the deploy's intent record.
   */
  run(options: { signal: AbortSignal; output: 'inherit' | 'stderr'; onSpawn?: (pid: number) => void }): Promise<RunOutcome>;
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
}

/**
 * How `lifeboat <tool> …` hands a command line to an adapter package: it resolves the
 * database the way the tool does and says whether this invocation migrates (guarded)
 * or is another subcommand (run as it is).
 */
export interface CliAdapter {
  /** The word after `lifeboat`: "prisma", "knex", "drizzle-kit". */
  tool: string;
  prepare(input: CliAdapterInput): Promise<PreparedCommand>;
}

export interface CliAdapterInput {
  /** Everything after the tool name, passed on untouched. */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** --database-url / config / DATABASE_URL, when Lifeboat was given one: the tool must use it too. */
  databaseUrl: string | undefined;
  /** Where that URL came from, for messages: "--database-url", "lifeboat.config", "DATABASE_URL". */
  databaseUrlSource?: string;
}

export interface PreparedCommand {
  /** false: not a migration (e.g. `prisma generate`): run it as it is, no snapshot. */
  guarded: boolean;
  /** The database the tool will migrate, as the tool resolves it. */
  databaseUrl: string | undefined;
  /** Where the URL came from, for messages: "prisma.config.ts", "DATABASE_URL in .env". */
  databaseUrlSource: string;
  /** Present when guarded. */
  adapter?: MigrationAdapter;
  run: MigrationRun;
}
