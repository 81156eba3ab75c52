import { matchColumns, matchTables, qualified, sameLineage } from '../db/identity.js';
import type { DatabaseState, TableCount, TableStats } from '../db/introspect.js';
import { type CheckResult, judged } from './result.js';

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * Checks in proportion, for the tables outside the deploy's at-risk set (those the
 * snapshot read by their statistics): none may lose its data's shape, for the plan said
 * the migration leaves their rows and columns alone, and a scoped snapshot holds none of
 * their data. A table dropped, renamed or re-created, a column dropped, renamed or given
 * another type (or collation) is a failed check naming it: the analysis missed something.
 * New columns, indexes, constraints and defaults are no data and pass. Their rows are
 * never counted: the writes they took since the snapshot are read from the statistics and
 * reported as the app's writes, never as a failure.
 */
export function untouchedTables(before: DatabaseState, after: DatabaseState): CheckResult {
  const outside = before.tables.filter((t) => t.stats);
  const matching = matchTables({ identity: before.identity, tables: outside }, after);
  const oidsComparable = sameLineage(before.identity, after.identity);
  const missed = (what: string) => `${what}, outside the deploy's at-risk set: the plan's analysis missed it (a scoped snapshot holds no data of this table)`;
  const problems: string[] = [];
  const notes: string[] = [];
  for (const table of matching.gone) problems.push(missed(`table ${qualified(table)} was dropped`));
  let written = 0;
  for (const pair of matching.pairs) {
    const { before: was, after: now } = pair;
    if (oidsComparable && !pair.sameRelation) {
      problems.push(missed(`table ${qualified(was)} was dropped and re-created`));
      continue;
    }
    if (qualified(was) !== qualified(now)) problems.push(missed(`table ${qualified(was)} was renamed to ${qualified(now)}`));
    const columns = matchColumns(pair);
    for (const i of columns.gone) problems.push(missed(`column ${qualified(was)}.${was.columns![i]} was dropped`));
    for (const { before: i, after: j } of columns.pairs) {
      const [name, nameNow] = [was.columns![i]!, now.columns![j]!];
      if (name !== nameNow) problems.push(missed(`column ${qualified(was)}.${name} was renamed to ${nameNow}`));
      const [type, typeNow] = [was.types?.[i], now.types?.[j]];
      if (type !== undefined && typeNow !== undefined && type !== typeNow) problems.push(missed(`column ${qualified(was)}.${name} changed type from ${type} to ${typeNow}`));
    }
    const writes = describeWrites(was, now);
    if (writes) {
      notes.push(writes.text);
      written += writes.rows;
    }
  }
  const summary =
    `${outside.length} table(s) outside the at-risk set, by their statistics: ` +
    (problems.length > 0 ? `${problems.length} change(s) the plan did not foresee` : 'structure unchanged') +
    (written > 0 ? `; the app wrote about ${fmt(written)} row(s) meanwhile` : '');
  return judged('untouched-tables', summary, problems, [], notes);
}

/** The writes a table took between two readings of its statistics, as the app's (undefined: none, or not comparable). */
function describeWrites(was: TableCount, now: TableCount): { text: string; rows: number } | undefined {
  if (!was.stats || !now.stats) return undefined;
  const delta = (key: keyof TableStats) => now.stats![key] - was.stats![key];
  const [inserted, updated, deleted] = [delta('inserted'), delta('updated'), delta('deleted')];
  if (inserted < 0 || updated < 0 || deleted < 0) return { text: `table ${qualified(was)}: its statistics were reset since the snapshot; its writes are not known`, rows: 0 };
  if (inserted + updated + deleted === 0) return undefined;
  const parts = [inserted > 0 ? `${fmt(inserted)} inserted` : '', updated > 0 ? `${fmt(updated)} updated` : '', deleted > 0 ? `${fmt(deleted)} deleted` : ''].filter(Boolean);
  return { text: `app writes: table ${qualified(was)}: ${parts.join(', ')} row(s) since the snapshot (from its statistics, not compared)`, rows: inserted + updated + deleted };
}
