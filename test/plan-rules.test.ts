import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeStatements, RULES } from '../packages/core/src/plan/analyze.js';
import { type Catalog, readCatalog } from '../packages/core/src/plan/catalog.js';
import { type ParsedStatement, parseMigration } from '../packages/core/src/plan/parse.js';
import { databases, query, repoRoot } from './support/db.js';

/**
 * The rule catalogue, table-driven: one migration per rule in test/fixtures/plan-rules/cases
 * (named for the rule it exercises; a first line `-- expect: a, b` names every rule it must
 * raise), planned against one real database set up by setup.sql; and a safe set of
 * migrations (safe/) that must raise no finding at all.
 */
const fixtures = join(repoRoot, 'test/fixtures/plan-rules');

async function parsed(migration: string, sql: string): Promise<ParsedStatement[]> {
  const result = await parseMigration(migration, sql);
  if (!result.ok) throw new Error(`${migration}: ${result.error.message}`);
  return result.statements;
}

async function expectedRules(file: string, sql: string): Promise<string[]> {
  const first = sql.split('\n')[0] ?? '';
  return first.startsWith('-- expect:')
    ? first
        .slice('-- expect:'.length)
        .split(',')
        .map((r) => r.trim())
    : [basename(file, '.sql')];
}

describe('plan rules (analyzeStatements against a live catalog)', () => {
  const dbs = databases();
  let catalog: Catalog;

  beforeAll(async () => {
    const db = await dbs.create('planrules');
    await query(db.url, await readFile(join(fixtures, 'setup.sql'), 'utf8'));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      catalog = await readCatalog(client);
    } finally {
      await client.end();
    }
  });

  it('every rule of the catalogue has a case, a doc page and a row in the index', async () => {
    const cases = (await readdir(join(fixtures, 'cases'))).map((f) => basename(f, '.sql'));
    const index = await readFile(join(repoRoot, 'docs/rules/README.md'), 'utf8');
    for (const rule of RULES) {
      expect(cases, rule.name).toContain(rule.name);
      await expect(readFile(join(repoRoot, rule.doc), 'utf8'), rule.doc).resolves.toContain(`# ${rule.name}`);
      // The index says the default severity the catalogue has.
      expect(index, rule.name).toContain(`| [${rule.name}](${rule.name}.md) | \`${rule.severity}\` |`);
    }
    // By default only what is certain to fail blocks; data destroyed on purpose is the data-preservation check's to refuse.
    expect(RULES.filter((r) => r.severity === 'error').map((r) => r.name)).toEqual(['ban-drop-database', 'ban-concurrent-index-in-transaction']);
  });

  it('each case raises its rule, and no error-severity finding it does not expect', async () => {
    const files = (await readdir(join(fixtures, 'cases'))).sort();
    const seen = new Set<string>();
    for (const file of files) {
      const sql = await readFile(join(fixtures, 'cases', file), 'utf8');
      const expected = await expectedRules(file, sql);
      const analyzed = analyzeStatements(await parsed(basename(file, '.sql'), sql), catalog);
      const findings = analyzed.flatMap((a) => a.findings);
      const rules = findings.map((f) => f.rule);
      for (const rule of expected) expect(rules, `${file}: ${JSON.stringify(findings, null, 1)}`).toContain(rule);
      const unexpectedErrors = findings.filter((f) => f.severity === 'error' && !expected.includes(f.rule));
      expect(unexpectedErrors, file).toEqual([]);
      for (const f of findings) {
        expect(f.severity, f.rule).toBe(RULES.find((r) => r.name === f.rule)?.severity);
        seen.add(f.rule);
      }
    }
    expect([...seen].sort()).toEqual(RULES.map((r) => r.name).sort());
  });

  it('findings carry the live figures of their table', async () => {
    const [analyzed] = analyzeStatements(await parsed('m', 'alter table big alter column payload type int;'), catalog);
    const rewrite = analyzed?.findings.find((f) => f.rule === 'changing-column-type');
    expect(rewrite?.message).toMatch(/^ALTER COLUMN payload TYPE integer \(from bigint\) rewrites public\.big \(≈1\.0M rows, \d+\.\d MB\) under ACCESS EXCLUSIVE$/);
    expect(rewrite?.table).toBe('public.big');
    expect(analyzed?.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['narrowing-column-type', 'long-lock-on-big-table']));
    expect(analyzed?.tables).toEqual(['public.big']);
  });

  it('the safe migration set raises no finding', async () => {
    const files = (await readdir(join(fixtures, 'safe'))).sort();
    const statements: ParsedStatement[] = [];
    for (const file of files) statements.push(...(await parsed(basename(file, '.sql'), await readFile(join(fixtures, 'safe', file), 'utf8'))));
    const analyzed = analyzeStatements(statements, catalog);
    const findings = analyzed.flatMap((a, i) => a.findings.map((f) => `${statements[i]?.migration}#${statements[i]?.index} ${f.rule}: ${f.message}`));
    expect(findings).toEqual([]);
  });

  const effects: Array<[string, string, Partial<Record<'atRisk' | 'rewrites' | 'scans' | 'transactional' | 'locks', unknown>>]> = [
    ['UPDATE with a WHERE', 'update orders set note = null where id = 1;', { atRisk: { tables: ['public.orders'] }, locks: [{ table: 'public.orders', mode: 'ROW EXCLUSIVE' }] }],
    ['plain INSERT adds rows only', "insert into audit_log (message) values ('a');", { atRisk: { tables: [] } }],
    ['INSERT … ON CONFLICT DO UPDATE', "insert into tags (name) values ('t1') on conflict (name) do update set name = excluded.name;", { atRisk: { tables: ['public.tags'] } }],
    ['TRUNCATE … CASCADE over the foreign keys', 'truncate customers cascade;', { atRisk: { tables: ['public.customers', 'public.order_lines', 'public.orders'] } }],
    ['DELETE in a CTE', 'with gone as (delete from audit_log where id < 10 returning id) select count(*) from gone;', { atRisk: { tables: ['public.audit_log'] } }],
    ['a DO block', 'do $$ begin delete from tags; end $$;', { atRisk: { unbounded: 'a DO block runs code Lifeboat cannot follow' } }],
    ['SELECT of a user function', 'select order_count();', { atRisk: { unbounded: 'order_count() is a function Lifeboat cannot follow' } }],
    ['SELECT of a harmless builtin', "select setval('audit_log_id_seq', 5);", { atRisk: { tables: [] } }],
    ['DROP COLUMN', 'alter table customers drop column nickname;', { atRisk: { tables: ['public.customers'] }, locks: [{ table: 'public.customers', mode: 'ACCESS EXCLUSIVE' }] }],
    ['varchar → text relabels', 'alter table orders alter column code type text;', { rewrites: [], atRisk: { tables: ['public.orders'] } }],
    ['varchar(40) → varchar(10) rewrites', 'alter table orders alter column code type varchar(10);', { rewrites: ['public.orders'] }],
    [
      'retyping a referenced key re-validates the foreign keys over it',
      'alter table orders alter column id type integer;',
      {
        rewrites: ['public.orders'],
        scans: ['public.order_lines'],
        locks: [
          { table: 'public.orders', mode: 'ACCESS EXCLUSIVE' },
          { table: 'public.order_lines', mode: 'SHARE ROW EXCLUSIVE' },
        ],
      },
    ],
    ['ADD COLUMN with a volatile default rewrites', 'alter table orders add column r float8 default random();', { rewrites: ['public.orders'], atRisk: { tables: [] } }],
    ['ADD COLUMN with a constant default', 'alter table orders add column flag boolean not null default false;', { rewrites: [], scans: [] }],
    [
      'CREATE INDEX CONCURRENTLY',
      'create index concurrently if not exists orders_note_idx on orders (note);',
      { transactional: false, scans: ['public.orders'], locks: [{ table: 'public.orders', mode: 'SHARE UPDATE EXCLUSIVE' }] },
    ],
    [
      'ADD FOREIGN KEY locks both tables',
      'alter table order_lines add foreign key (order_id) references orders (id);',
      {
        scans: ['public.order_lines'],
        locks: [
          { table: 'public.order_lines', mode: 'SHARE ROW EXCLUSIVE' },
          { table: 'public.orders', mode: 'SHARE ROW EXCLUSIVE' },
        ],
      },
    ],
    ['RENAME VALUE of an enum changes the rows that hold it', "alter type order_status rename value 'new' to 'fresh';", { atRisk: { tables: ['public.orders'] } }],
    ['DROP TYPE … CASCADE drops the columns of that type', 'drop type order_status cascade;', { atRisk: { tables: ['public.orders'] } }],
    ['DROP SCHEMA', 'drop schema archive cascade;', { atRisk: { tables: ['archive.old_orders'] } }],
    ['ALTER TYPE … ADD VALUE on 12+', "alter type order_status add value 'x';", { transactional: true, atRisk: { tables: [] } }],
    ['VACUUM FULL', 'vacuum full audit_log;', { transactional: false, rewrites: ['public.audit_log'], atRisk: { tables: [] } }],
    ['CREATE AGGREGATE changes no table', 'create aggregate my_sum (int) (sfunc = int4pl, stype = int);', { atRisk: { tables: [] } }],
    ['an unclassified statement', 'drop owned by current_user;', { atRisk: { unbounded: 'Lifeboat does not classify DropOwnedStmt statements' } }],
  ];

  it.each(effects)('effects: %s', async (_label, sql, expected) => {
    const [analyzed] = analyzeStatements(await parsed('m', sql), catalog);
    expect(analyzed?.effects).toMatchObject(expected);
  });

  it('how the tool runs a migration decides the transaction rules', async () => {
    const rules = (a: ReturnType<typeof analyzeStatements>) => a.flatMap((x) => x.findings.map((f) => f.rule));
    const alone = await parsed('m', 'create index concurrently if not exists orders_note_idx on orders (note);');
    expect(rules(analyzeStatements(alone, catalog))).not.toContain('ban-concurrent-index-in-transaction');
    expect(rules(analyzeStatements(alone, catalog, { runs: () => 'wrapped' }))).toContain('ban-concurrent-index-in-transaction');
    const two = await parsed('m', 'alter table customers add column a text;\ncreate index concurrently if not exists customers_a_idx on customers (a);');
    expect(rules(analyzeStatements(two, catalog, { runs: () => 'script' }))).toContain('ban-concurrent-index-in-transaction');
    expect(rules(analyzeStatements(two, catalog, { runs: () => 'autocommit' }))).not.toContain('ban-concurrent-index-in-transaction');
    const tx = await parsed('m', 'begin;\nalter table customers add column b text;\ncommit;');
    expect(rules(analyzeStatements(tx, catalog, { runs: () => 'wrapped' }))).toContain('transaction-nesting');
    expect(rules(analyzeStatements(tx, catalog, { runs: () => 'autocommit' }))).not.toContain('transaction-nesting');
  });

  it('a table created, renamed or retyped earlier in the plan is followed', async () => {
    const analyzed = analyzeStatements(
      await parsed(
        'm',
        `create table scratch (id bigint primary key, note text);
         update scratch set note = 'x';
         alter table audit_log rename to audit_entries;
         update audit_entries set message = null where id = 1;
         create trigger orders_touch before update on orders for each row execute function touch();
         update orders set note = 'y' where id = 2;`,
      ),
      catalog,
    );
    expect(analyzed.map((a) => a.effects.atRisk)).toEqual([
      { tables: [] },
      { tables: [] },
      { tables: ['public.audit_log'] },
      { tables: ['public.audit_log'] },
      { tables: [] },
      { unbounded: 'a trigger or rule the plan created on public.orders runs code Lifeboat cannot follow' },
    ]);
    expect(analyzed[0]?.effects.creates).toEqual([
      { kind: 'table', name: 'public.scratch' },
      { kind: 'index', name: 'public.scratch_pkey' },
    ]);
    // No data finding on the new table; the renamed one is still the live audit_log.
    expect(analyzed[1]?.findings).toEqual([]);
    expect(analyzed[3]?.tables).toEqual(['public.audit_log']);
  });
});
