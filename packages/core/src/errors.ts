import { redact } from './secrets.js';

/**
 * Every error a user can hit, with its exit code. The README's exit-code table is
 * checked against this list by a test, so add a row there when you add one here.
 */
export const ERROR_CODES = {
  INTERNAL: { exit: 1, meaning: 'unexpected error (a bug): rerun with --debug and report it' },
  USAGE: { exit: 2, meaning: 'bad command-line arguments' },
  CONFIRMATION_REQUIRED: { exit: 3, meaning: 'a destructive command was not confirmed (no TTY and no --yes, or the prompt was declined)' },
  URL_INVALID: { exit: 4, meaning: 'the database URL is missing or malformed' },
  DB_UNREACHABLE: { exit: 5, meaning: 'the PostgreSQL server cannot be reached' },
  DB_AUTH_FAILED: { exit: 6, meaning: 'the server rejected the user or password' },
  DB_NOT_FOUND: { exit: 7, meaning: 'the database does not exist on the server' },
  DB_PERMISSION: { exit: 8, meaning: 'the role lacks a privilege the operation needs (CREATEDB, ownership)' },
  PG_TOOL_MISSING: { exit: 9, meaning: 'pg_dump / pg_restore not found' },
  PG_TOOL_TOO_OLD: { exit: 10, meaning: 'pg_dump / pg_restore older than the server' },
  STORE_NOT_WRITABLE: { exit: 11, meaning: 'the snapshot store folder cannot be written' },
  SNAPSHOT_NOT_FOUND: { exit: 12, meaning: 'no finished snapshot with that id' },
  SNAPSHOT_CORRUPT: { exit: 13, meaning: 'a snapshot failed verification (checksum, archive or clone mismatch)' },
  SNAPSHOT_FAILED: { exit: 14, meaning: 'taking the snapshot failed; nothing was kept' },
  DATABASE_BUSY: { exit: 15, meaning: 'other sessions are connected and the operation needs the database alone' },
  RESTORE_FAILED: { exit: 16, meaning: 'the restore failed; the live database was not touched' },
  TARGET_EXISTS: { exit: 17, meaning: 'the database named by --to already exists' },
  CONFIG_INVALID: { exit: 18, meaning: 'the config file cannot be loaded or has a bad key or value' },
  TOOL_NOT_FOUND: { exit: 19, meaning: 'the migrate tool (prisma, knex, drizzle-kit) or its adapter is not installed' },
  DEPLOY_FAILED_ROLLED_BACK: { exit: 20, meaning: 'the migration failed; the database was restored to the snapshot taken before it' },
  CHECKS_FAILED_ROLLED_BACK: { exit: 21, meaning: 'the migration ran but integrity checks failed; the database was restored' },
  ROLLBACK_FAILED: { exit: 22, meaning: 'a deploy failed and restoring the snapshot failed too: follow the printed recovery steps' },
  DEPLOY_FAILED_KEPT: { exit: 23, meaning: 'the migration or checks failed and, as configured (--no-rollback / onFailure: keep), the database was left as it is' },
  CHECKS_FAILED: { exit: 25, meaning: '`lifeboat check` found problems' },
  DRILL_FAILED: { exit: 26, meaning: 'a restore drill failed (the live database was not touched)' },
  OBJECTIVE_MISSED: { exit: 27, meaning: '`lifeboat status`: a recovery objective (RPO, RTO or off-site) does not hold' },
  INTERRUPTED: { exit: 130, meaning: 'interrupted by SIGINT (130) or SIGTERM (143) before anything changed, or after a rollback' },
  LOCK_TIMEOUT: { exit: 24, meaning: 'another command that changes the same database held its lock for longer than the timeout' },
  STORE_FULL: { exit: 28, meaning: 'the disk holding the snapshot store is full: nothing half-written was kept, the database was not touched' },
  RECOVERY_NEEDED: { exit: 29, meaning: 'an earlier operation on this database was interrupted (crash, kill -9): run `lifeboat recover`' },
  REAPPLY_CONFLICTS: { exit: 30, meaning: '`lifeboat reapply` left rows it would not overwrite: they are listed' },
  DEPLOY_FAILED_UNCHANGED: { exit: 31, meaning: 'the migrate tool failed before it changed anything; no restore was needed' },
  REMOTE_UNREACHABLE: { exit: 32, meaning: 'the remote store (S3 endpoint, file:// folder) cannot be reached, even after retries' },
  REMOTE_NOT_FOUND: { exit: 33, meaning: 'the remote store does not exist: no such bucket, or the file:// folder is missing (a drive not mounted)' },
  REMOTE_AUTH: { exit: 34, meaning: 'the remote store refused the credentials (or found none), or they lack a permission' },
  DECRYPT_FAILED: { exit: 35, meaning: 'an encrypted snapshot cannot be decrypted: the identity or passphrase is not the one it was encrypted to, or the object is damaged' },
  KEY_MISSING: { exit: 36, meaning: 'the snapshot is encrypted and no identity or passphrase was given to decrypt it' },
  REMOTE_FAILED: { exit: 37, meaning: 'the remote store failed the request for another reason (a server error after retries, a bad answer)' },
  PLAN_BLOCKED: { exit: 38, meaning: 'the plan found a blocking finding (a migration certain to fail on the live data, or a rule at severity error): nothing was changed' },
  REHEARSAL_FAILED: { exit: 39, meaning: 'the pending migrations failed in a rehearsal (schema-only before a deploy, or `lifeboat rehearse`): the live database was not touched' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error meant for the user: one line of what went wrong, one of what to do. */
export class LifeboatError extends Error {
  override readonly name = 'LifeboatError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redact(options.hint);
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

export function isLifeboatError(error: unknown): error is LifeboatError {
  return error instanceof LifeboatError;
}

/** The first line of an arbitrary error, secrets removed: for wrapping tool output. */
export function firstLine(text: string): string {
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? '';
  return redact(line);
}
