import type pg from 'pg';
import { type CheckResult, judged } from './result.js';

export interface SqlCheck {
  name: string;
  sql: string;
  /** Rows the query must return; default 0. */
  expectRows?: number;
}

/** A user's SQL check, run read-only: it must return no rows (or exactly `expectRows`). */
export async function runSqlCheck(client: pg.Client, check: SqlCheck): Promise<CheckResult> {
  const expected = check.expectRows ?? 0;
  const name = `sql:${check.name}`;
  await client.query('begin read only');
  try {
    const { rows } = await client.query(check.sql);
    const sample = rows
      .slice(0, 3)
      .map((r) => JSON.stringify(r))
      .join(', ');
    const summary = `${rows.length} row(s), expected ${expected}`;
    return judged(name, summary, rows.length === expected ? [] : [`${check.name} returned ${rows.length} row(s), expected ${expected}${sample ? `: ${sample}` : ''}`]);
  } catch (error) {
    return judged(name, 'the query failed', [`${check.name} failed: ${(error as Error).message}`]);
  } finally {
    await client.query('rollback').catch(() => {});
  }
}
