import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RehearsalStep, rehearse } from '@lifeboat/core/adapter';
import type pg from 'pg';

/** drizzle-orm's separator between the statements of a migration file (readMigrationFiles). */
const BREAKPOINT = '--> statement-breakpoint';

/**
 * drizzle-kit 0.31 exits with code 1 and prints nothing when a migration fails (its task
 * renderer swallows the error). The cause is found by doing what drizzle-orm's migrator
 * did, on the database as it was before: every pending migration's file split on the
 * breakpoints, each piece run in order in one transaction, which here is always rolled
 * back and cannot commit (core's `rehearse`).
 */
export function replayFailure(folder: string): (client: pg.Client, pending: string[]) => Promise<string | undefined> {
  return async (client, pending) => {
    if (pending.length === 0) return undefined;
    const steps: RehearsalStep[] = pending.flatMap((tag) =>
      readFileSync(join(folder, `${tag}.sql`), 'utf8')
        .split(BREAKPOINT)
        .map((sql, i) => ({ label: `${tag}, statement ${i + 1}`, sql }))
        // drizzle sends an empty piece too, which does nothing.
        .filter((step) => step.sql.trim() !== ''),
    );
    const result = await rehearse(client, steps);
    const how = 'replaying the pending migrations as drizzle runs them, in a transaction that was rolled back';
    if (result.ok) return `not in the migrations' SQL: ${how} raised no error (look at the connection, or drizzle's migrations table)`;
    if (result.blocked) return `not found: ${how} stopped at ${result.step.label}, which cannot be replayed that way (${result.message})`;
    return `${result.message}, at ${result.step.label}: ${oneLine(result.step.sql)} (found by ${how})`;
  };
}

function oneLine(sql: string): string {
  const line = sql.replace(/\s+/g, ' ').trim();
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}
