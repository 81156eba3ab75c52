import type pg from 'pg';
import type { PlanSettings } from '../config/resolve.js';
import type { DatabaseTarget } from '../db/target.js';
import type { MigrationAdapter, MigrationSql } from '../guard/adapter.js';
import type { Store } from '../store/location.js';
import { type AnalyzedStatement, analyzeStatements } from './analyze.js';
import { atRiskSet, revertibleInPlace } from './at-risk.js';
import { type Catalog, readCatalog } from './catalog.js';
import { type ParsedStatement, parseMigration } from './parse.js';
import { precheckStatement } from './prechecks.js';
import { rehearseSchemaOnly } from './rehearsal.js';
import { LOCK_MODES, type Finding, type MigrationPlan, type Plan, type StatementPlan, type TableName } from './types.js';

export interface PlanOptions {
  target: DatabaseTarget;
  settings: PlanSettings;
  /** The tool's adapter: where the pending SQL comes from (its files, or a capture in a rehearsal). */
  adapter?: MigrationAdapter | undefined;
  /** What the adapter says is pending, oldest first. */
  pending?: string[] | undefined;
  /** The SQL itself, when it is given rather than read from a tool (`lifeboat plan --sql`). */
  sql?: MigrationSql[] | undefined;
  /** The store, for the intent record naming the rehearsal's scratch database. */
  store?: Store | undefined;
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

/** Lines that say why a plan's at-risk set is the whole database, when nothing could be read. */
const NO_SQL = 'the SQL is not known before it runs (`lifeboat run`, or a tool Lifeboat cannot read the migrations of)';

/**
 * `lifeboat plan`: the pending migrations' SQL (the tool's files, or what a schema-only
 * rehearsal captured), parsed with PostgreSQL's parser, each statement analysed against the
 * live catalog, the data-dependent ones pre-checked read-only against the live rows, the
 * config's severities and allowances applied. Reads only: the live database is never written.
 * `client` is a session on the live database.
 */
export async function makePlan(client: pg.Client, options: PlanOptions): Promise<Plan> {
  const started = Date.now();
  const timings = { parseMs: 0, liveMs: 0, prechecksMs: 0, rehearsalMs: 0, totalMs: 0 };
  const plan: Plan = { database: options.target.database, migrations: [], notes: [], blocking: false, atRisk: { tables: [] }, timings };
  const { settings } = options;

  // 1. The SQL: given, read from the files, or captured in a schema-only rehearsal.
  let sources: Array<MigrationSql & { source: MigrationPlan['source'] }> | undefined;
  const pending = options.pending ?? [];
  if (options.sql) {
    sources = options.sql.map((m) => ({ ...m, source: 'file' as const }));
  } else if (options.adapter?.pendingSql && pending.length > 0) {
    sources = (await options.adapter.pendingSql(pending)).map((m) => ({ ...m, source: 'file' as const }));
  }
  const needsCapture = !sources && pending.length > 0 && options.adapter?.captureSql !== undefined;
  const rehearse = settings.rehearse === 'always' || (settings.rehearse === 'auto' && needsCapture);
  if (rehearse && (pending.length > 0 || (options.sql?.length ?? 0) > 0)) {
    const rehearsalStart = Date.now();
    const rehearsal = await rehearseSchemaOnly({
      target: options.target,
      adapter: options.adapter,
      pending,
      store: options.store,
      ...(sources ? { migrations: sources } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    });
    timings.rehearsalMs = Date.now() - rehearsalStart;
    if (rehearsal.ran) {
      plan.rehearsal = rehearsal.ok
        ? { ran: true, ok: true, ms: rehearsal.ms }
        : { ran: true, ok: false, error: rehearsal.error ?? 'failed', ms: rehearsal.ms, ...(rehearsal.migration ? { migration: rehearsal.migration } : {}) };
      if (!rehearsal.ok) plan.blocking = true;
      if (!sources && rehearsal.captured) sources = rehearsal.captured.map((m) => ({ ...m, source: 'captured' as const }));
    } else {
      plan.rehearsal = { ran: false, why: rehearsal.why };
      plan.notes.push(`no schema-only rehearsal: ${rehearsal.why}`);
    }
  } else if (needsCapture) {
    plan.notes.push(`${options.adapter?.name ?? 'the'} migrations are code: their SQL is captured in a schema-only rehearsal, which is off (plan.rehearse: never)`);
  }
  if (!sources) {
    if (pending.length > 0 || !options.adapter) {
      plan.atRisk = { unbounded: NO_SQL };
      plan.notes.push(`not analysed: ${NO_SQL}; a full snapshot is taken`);
    }
    timings.totalMs = Date.now() - started;
    return plan;
  }

  // 2. Parse.
  const parseStart = Date.now();
  const statements: ParsedStatement[] = [];
  // Captured migrations that sent nothing: a migration that writes no SQL, or a capture that saw none; either way not known.
  const uncaptured: string[] = [];
  for (const source of sources) {
    const migration: MigrationPlan = { name: source.migration, source: source.source, statements: [] };
    plan.migrations.push(migration);
    const parsed = await parseMigration(source.migration, source.sql);
    if (parsed.ok && parsed.statements.length === 0 && source.source === 'captured') uncaptured.push(source.migration);
    if (parsed.ok) statements.push(...parsed.statements);
    else {
      migration.parseError = parsed.error;
      plan.blocking = true;
    }
  }
  timings.parseMs = Date.now() - parseStart;

  // 3. The live catalog, and each statement against it.
  const liveStart = Date.now();
  const catalog = await readCatalog(client);
  const runs = options.adapter?.runs;
  const analysed = analyzeStatements(statements, catalog, runs ? { runs: () => runs } : {});
  timings.liveMs = Date.now() - liveStart;

  // 4. Pre-checks against the live rows, in order: a table an earlier statement changed is no longer today's.
  const prechecksStart = Date.now();
  const changedEarlier = new Set<TableName>();
  for (const [i, statement] of statements.entries()) {
    const analysis = analysed[i]!;
    const checked = await precheckStatement(client, statement, catalog, {
      timeoutMs: settings.precheckTimeoutMs,
      showValues: settings.showValues,
      changedEarlier,
    });
    analysis.findings.push(...checked);
    for (const table of changedTables(analysis)) changedEarlier.add(table);
  }
  timings.prechecksMs = Date.now() - prechecksStart;

  // 5. Severities and allowances, and the statements into their migrations.
  for (const [i, statement] of statements.entries()) {
    const analysis = analysed[i]!;
    const findings = judge(analysis.findings, statement, settings);
    if (findings.some((f) => f.severity === 'error' && !f.allowed)) plan.blocking = true;
    const entry: StatementPlan = {
      statement: { migration: statement.migration, index: statement.index, line: statement.line, sql: statement.sql, kind: statement.kind },
      effects: analysis.effects,
      findings,
      tables: liveFigures(catalog, analysis.tables),
    };
    plan.migrations.find((m) => m.name === statement.migration)?.statements.push(entry);
  }
  plan.atRisk = plan.migrations.some((m) => m.parseError)
    ? { unbounded: 'a migration could not be parsed' }
    : withBookkeeping(
        atRiskSet(
          analysed.map((a) => a.effects),
          catalog,
          statements.map((s) => `${s.migration} statement ${s.index}`),
        ),
        options.adapter?.bookkeeping ?? [],
        catalog,
      );
  if (uncaptured.length > 0) {
    plan.atRisk = { unbounded: `no SQL was captured of ${uncaptured.join(', ')} in the rehearsal, so what it does is not known` };
    plan.notes.push(`${plan.atRisk.unbounded}: a full snapshot is taken`);
  }
  plan.inPlace = revertibleInPlace(
    statements,
    analysed.map((a) => a.effects),
    catalog,
    plan.atRisk,
  );
  timings.totalMs = Date.now() - started;
  return plan;
}

/** The tool writes its own tables beside every migration: a bounded set holds those that exist, so a rollback in place takes their rows out too. */
function withBookkeeping(atRisk: Plan['atRisk'], bookkeeping: string[], catalog: Catalog): Plan['atRisk'] {
  if ('unbounded' in atRisk) return atRisk;
  const tables = new Set(atRisk.tables);
  for (const table of bookkeeping) if (catalog.tables.has(table)) tables.add(table);
  return { tables: [...tables] };
}

/** Tables a statement writes or restructures: ROW EXCLUSIVE or stronger. */
function changedTables(analysis: AnalyzedStatement): TableName[] {
  const rowExclusive = LOCK_MODES.indexOf('ROW EXCLUSIVE');
  return analysis.effects.locks.filter((l) => LOCK_MODES.indexOf(l.mode) >= rowExclusive).map((l) => l.table);
}

/**
 * The config's word over each rule's default: `plan.severity` (off drops the finding), then
 * `plan.allow` (a rule, a migration, or rule@migration) and the migration's own
 * `-- lifeboat:allow rule` comments, which keep the finding but never let it block.
 */
function judge(findings: Finding[], statement: ParsedStatement, settings: PlanSettings): Finding[] {
  const judged: Finding[] = [];
  for (const finding of findings) {
    const severity = settings.severity[finding.rule] ?? finding.severity;
    if (severity === 'off') continue;
    const byConfig = settings.allow.some((a) => a === finding.rule || a === statement.migration || a === `${finding.rule}@${statement.migration}`);
    const byComment = statement.allows.includes(finding.rule);
    judged.push({ ...finding, severity, ...(byConfig ? { allowed: 'config' as const } : byComment ? { allowed: 'comment' as const } : {}) });
  }
  return judged;
}

function liveFigures(catalog: Catalog, tables: TableName[]): StatementPlan['tables'] {
  return [...new Set(tables)].flatMap((name) => {
    const table = catalog.tables.get(name);
    return table ? [{ table: name, rows: table.rows, bytes: table.bytes }] : [];
  });
}

/** The findings that block a deploy, for messages: "0002_email statement 1: unique-duplicates". */
export function blockingFindings(plan: Plan): Array<{ migration: string; statement: number; line: number; finding: Finding }> {
  return plan.migrations.flatMap((m) =>
    m.statements.flatMap((s) =>
      s.findings.filter((f) => f.severity === 'error' && !f.allowed).map((finding) => ({ migration: m.name, statement: s.statement.index, line: s.statement.line, finding })),
    ),
  );
}

/**
 * How long each planned migration waited for locks during the run: a wait's statement (as
 * the server saw it: one statement, or a whole script) is the migration's whose statement it
 * holds. Waits that match no planned statement (the tool's own bookkeeping) count for none.
 */
export function attributeLockWaits(plan: Plan, waits: Array<{ statement: string; waitedMs: number }>): void {
  const squeeze = (sql: string) => sql.replace(/\s+/g, ' ').replace(/;\s*$/, '').trim();
  for (const wait of waits) {
    const text = squeeze(wait.statement);
    const migration = plan.migrations.find((m) => m.statements.some((s) => text.includes(squeeze(s.statement.sql))));
    if (migration) migration.lockWaitMs = (migration.lockWaitMs ?? 0) + wait.waitedMs;
  }
}
