import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Catalog, readCatalog } from '../packages/core/src/plan/catalog.js';
import { parseMigration } from '../packages/core/src/plan/parse.js';
import { maskValue, PRECHECK_RULES, type PrecheckOptions, precheckStatement } from '../packages/core/src/plan/prechecks.js';
import type { Finding } from '../packages/core/src/plan/types.js';
import { type EmbeddedServer, startEmbedded } from '../dev/embedded-postgres.js';
import { databases, query } from './support/db.js';

/**
 * The pre-checks against one real database holding bad data: each rule's finding and
 * count, masked and unmasked examples, the 0-count info on clean data, the warning when
 * an earlier statement changes the table, NOT VALID skipped, and read-only-ness.
 */
describe('plan pre-checks against the live data', () => {
  const dbs = databases();
  let url: string;
  let client: pg.Client;
  let catalog: Catalog;

  beforeAll(async () => {
    url = (await dbs.create('prechecks')).url;
    await query(
      url,
      `
      create table orgs (id int primary key, name text not null);
      insert into orgs values (1, 'one'), (2, 'two');
      create table users (
        id int primary key,
        email text,
        name text,
        deleted_at timestamptz,
        org_id int,
        team_id int,
        score int,
        amount text,
        code varchar(20),
        price numeric,
        created date not null default '2024-01-01'
      );
      insert into users (id, email, name, deleted_at, org_id, team_id, score, amount, code, price) values
        (1, 'alice@example.com', 'Alice', null, 1, 1, 10, '12', 'AB', 1.5),
        (2, 'alice@example.com', 'Alice', null, 1, 1, 3, '7', 'ABCDEFGH', 2),
        (3, 'Alice@Example.com', null, null, 2, 1, -1, 'abc', 'XY', 3),
        (4, 'jo@site.org', 'Jo', null, 7, 1, -5, null, 'LONGERVALUE', 12345.6),
        (5, 'jo@site.org', null, null, 7, 2, null, '42', null, 4),
        (6, null, 'Nul', null, 9, null, 4, '1', 'Q', 5),
        (7, null, 'Nul2', now(), null, 3, 6, '2', 'Q', 6),
        (8, 'bob@corp.net', 'Jo', now(), 2, null, 1, '3', 'Q', 7);
      alter table users add constraint score_not_negative check (score >= 0) not valid;
      create table clean (id int primary key, email text, n int);
      insert into clean select i, 'u' || i || '@x.io', i from generate_series(1, 50) i;
      create table empty_table (id int);
      create type "Mood" as enum ('12', '7');
      create table pk_later (code text);
      create unique index pk_later_code on pk_later (code);
      insert into pk_later values ('a'), (null), ('b');
      create table bookings (id int, room int, during tstzrange);
      insert into bookings values
        (1, 1, '[2024-01-01 10:00, 2024-01-01 12:00)'), (2, 1, '[2024-01-01 11:00, 2024-01-01 13:00)'),
        (3, 2, '[2024-01-01 11:00, 2024-01-01 13:00)'), (4, 1, '[2024-01-01 13:00, 2024-01-01 14:00)');
      analyze;`,
    );
    client = new pg.Client({ connectionString: url });
    await client.connect();
    catalog = await readCatalog(client);
  });

  afterAll(async () => {
    await client?.end();
  });

  const defaults: PrecheckOptions = { timeoutMs: 5000, showValues: false, changedEarlier: new Set() };

  /** Every finding of a migration's statements, each statement checked on its own. */
  async function check(sql: string, options: Partial<PrecheckOptions> = {}): Promise<Finding[]> {
    const parsed = await parseMigration('m', sql);
    if (!parsed.ok) throw new Error(parsed.error.message);
    const findings: Finding[] = [];
    for (const statement of parsed.statements) findings.push(...(await precheckStatement(client, statement, catalog, { ...defaults, ...options })));
    return findings;
  }

  /** One migration per case: the rule, severity, count and (masked) examples it must give. */
  const cases: Array<{ name: string; sql: string; rule: string; severity: string; count?: number; examples?: string[]; message?: RegExp; incomplete?: boolean }> = [
    {
      name: 'UNIQUE index over exact duplicates (NULLs distinct)',
      sql: 'create unique index users_email on users (email);',
      rule: 'unique-duplicates',
      severity: 'error',
      count: 2,
      examples: ['a***@***.com ×2', 'j***@***.org ×2'],
      message: /^public\.users\.email: 2 duplicate values \(4 rows\); e\.g\. a\*\*\*@\*\*\*\.com ×2, j\*\*\*@\*\*\*\.org ×2$/,
    },
    {
      name: 'expression index catches case variants',
      sql: 'create unique index concurrently users_email_lower on users (lower(email));',
      rule: 'unique-duplicates',
      severity: 'error',
      count: 2,
      examples: ['a***@***.com ×3', 'j***@***.org ×2'],
      message: /^public\.users \(lower\(email\)\): 2 duplicate values \(5 rows\)/,
    },
    {
      name: 'partial index counts only its rows',
      sql: 'create unique index on users (name) where deleted_at is null;',
      rule: 'unique-duplicates',
      severity: 'error',
      count: 1,
      examples: ['A*** ×2'],
    },
    {
      name: 'NULLS NOT DISTINCT makes the NULLs duplicates',
      sql: 'create unique index on users (email) nulls not distinct;',
      rule: 'unique-duplicates',
      severity: 'error',
      count: 3,
      examples: ['a***@***.com ×2', 'j***@***.org ×2', 'NULL ×2'],
    },
    {
      name: 'ADD CONSTRAINT UNIQUE over two columns',
      sql: 'alter table users add constraint users_org_team unique (org_id, team_id);',
      rule: 'unique-duplicates',
      severity: 'error',
      count: 1,
      examples: ['(*, *) ×2'],
    },
    {
      name: 'UNIQUE on clean data: info with the rows checked',
      sql: 'alter table clean add constraint clean_email unique (email);',
      rule: 'unique-duplicates',
      severity: 'info',
      count: 0,
      message: /^public\.clean\.email: no duplicate values \(checked 50 rows\)$/,
    },
    {
      name: 'PRIMARY KEY over duplicates and NULLs',
      sql: 'alter table users drop constraint users_pkey, add primary key (email);',
      rule: 'primary-key-violations',
      severity: 'error',
      count: 4,
      message: /2 duplicate values \(4 rows\) and 2 NULL rows/,
    },
    {
      name: 'ADD COLUMN … UNIQUE with a constant default on a table with rows',
      sql: 'alter table users add column flag int default 5 unique;',
      rule: 'unique-duplicates',
      severity: 'error',
      count: 1,
      examples: ['* ×8'],
    },
    {
      name: 'ADD COLUMN … PRIMARY KEY with no default: every row NULL',
      sql: 'alter table clean drop constraint clean_pkey, add column k int primary key;',
      rule: 'primary-key-violations',
      severity: 'error',
      count: 50,
    },
    {
      name: 'SET NOT NULL over NULLs',
      sql: 'alter table users alter column name set not null;',
      rule: 'not-null-nulls',
      severity: 'error',
      count: 2,
      message: /^public\.users\.name: 2 NULL values \(of 8 rows\): SET NOT NULL will fail$/,
    },
    {
      name: 'SET NOT NULL on a full column: info',
      sql: 'alter table users alter column id set not null;',
      rule: 'not-null-nulls',
      severity: 'info',
      count: 0,
    },
    {
      name: 'ADD COLUMN NOT NULL without a default on rows',
      sql: 'alter table users add column age int not null;',
      rule: 'required-column-on-rows',
      severity: 'error',
      count: 8,
    },
    {
      name: 'ADD COLUMN NOT NULL without a default on an empty table',
      sql: 'alter table empty_table add column age int not null;',
      rule: 'required-column-on-rows',
      severity: 'info',
      count: 0,
    },
    {
      name: 'ADD COLUMN NOT NULL with a default',
      sql: 'alter table users add column age int not null default 0;',
      rule: 'required-column-on-rows',
      severity: 'info',
      count: 0,
    },
    {
      name: 'FOREIGN KEY over orphans (MATCH SIMPLE: NULL keys are not orphans)',
      sql: 'alter table users add constraint users_org foreign key (org_id) references orgs (id);',
      rule: 'foreign-key-orphans',
      severity: 'error',
      count: 3,
      examples: ['* ×2', '* ×1'],
      message: /^public\.users \(org_id\) → public\.orgs \(id\): 2 orphan values \(3 rows\)/,
    },
    {
      name: 'FOREIGN KEY to the primary key by default, on clean data',
      sql: 'alter table clean add foreign key (n) references clean;',
      rule: 'foreign-key-orphans',
      severity: 'info',
      count: 0,
    },
    {
      name: 'FOREIGN KEY NOT VALID is not checked',
      sql: 'alter table users add constraint users_org foreign key (org_id) references orgs (id) not valid;',
      rule: 'foreign-key-orphans',
      severity: 'info',
      message: /NOT VALID: existing rows are not checked/,
    },
    {
      name: 'CHECK violated by rows (NULL passes)',
      sql: 'alter table users add constraint positive check (score > 0);',
      rule: 'check-violations',
      severity: 'error',
      count: 2,
      examples: ['score=-*', 'score=-*'],
      message: /^public\.users CHECK \(score > 0\): 2 rows \(of 8\) violate it/,
    },
    {
      name: 'CHECK NOT VALID is not checked',
      sql: 'alter table users add constraint positive check (score > 0) not valid;',
      rule: 'check-violations',
      severity: 'info',
      message: /added NOT VALID/,
    },
    {
      name: 'VALIDATE CONSTRAINT checks the NOT VALID CHECK now',
      sql: 'alter table users validate constraint score_not_negative;',
      rule: 'check-violations',
      severity: 'error',
      count: 2,
    },
    {
      name: 'ALTER TYPE text → int over a value that does not cast (PG15: at least 1, the value from the error)',
      sql: 'alter table users alter column amount type int using amount::int;',
      rule: 'cast-failures',
      severity: 'error',
      count: 1,
      examples: ['a***'],
      message: /^public\.users\.amount: at least 1 value cannot become int \(invalid input\); e\.g\. a\*\*\*$/,
    },
    {
      name: 'ALTER TYPE with a USING that handles the bad value',
      sql: "alter table users alter column amount type int using nullif(amount, 'abc')::int;",
      rule: 'cast-failures',
      severity: 'info',
      count: 0,
    },
    {
      name: 'varchar shortened below existing values ("value too long", an explicit cast would truncate)',
      sql: 'alter table users alter column code type varchar(5);',
      rule: 'cast-failures',
      severity: 'error',
      count: 2,
      examples: ['A***', 'L***'],
      message: /2 values longer than 5 characters/,
    },
    {
      name: 'numeric overflow',
      sql: 'alter table users alter column price type numeric(4, 1);',
      rule: 'cast-failures',
      severity: 'error',
      count: 1,
      message: /at least 1 value cannot become numeric\(4, 1\) \(out of range\)$/,
    },
  ];

  cases.push(
    {
      name: 'PRIMARY KEY USING INDEX: the index column must hold no NULL',
      sql: 'alter table pk_later add primary key using index pk_later_code;',
      rule: 'primary-key-violations',
      severity: 'error',
      count: 1,
      message: /^public\.pk_later \(code\): 1 NULL value \(of 3 rows\): PRIMARY KEY USING INDEX will fail$/,
    },
    {
      name: 'ADD COLUMN with a CHECK its default violates',
      sql: 'alter table users add column level int default 0 check (level > 0);',
      rule: 'check-violations',
      severity: 'error',
      count: 8,
    },
    {
      name: 'a table CHECK over a column the same statement adds: the new value beside each row',
      sql: 'alter table users add column level int default 1, add constraint lv check (level < score);',
      rule: 'check-violations',
      severity: 'error',
      count: 3,
    },
    {
      name: 'ADD COLUMN … REFERENCES with a default no referenced row has',
      sql: 'alter table users add column org2 int default 7 references orgs (id);',
      rule: 'foreign-key-orphans',
      severity: 'error',
      count: 8,
      examples: ['* ×8'],
    },
    {
      name: 'EXCLUDE over overlapping rows',
      sql: 'alter table bookings add constraint no_overlap exclude using gist (room with =, during with &&);',
      rule: 'exclusion-violations',
      severity: 'error',
      count: 1,
      message: /^public\.bookings EXCLUDE \(room WITH =, during WITH &&\): 1 conflicting pair of rows; e\.g\. \(\*, \[\*\*\*\) \/ \(\*, \[\*\*\*\)$/,
    },
    {
      name: 'EXCLUDE on rows that do not conflict',
      sql: 'alter table bookings add constraint no_overlap exclude using gist (id with =);',
      rule: 'exclusion-violations',
      severity: 'info',
      count: 0,
    },
  );

  for (const c of cases) {
    it(c.name, async () => {
      const findings = await check(c.sql);
      const found = findings.filter((f) => f.rule === c.rule);
      expect(found, JSON.stringify(findings)).toHaveLength(1);
      const f = found[0]!;
      expect(f.severity, f.message).toBe(c.severity);
      if (c.count !== undefined) expect(f.precheck?.count, f.message).toBe(c.count);
      if (c.examples) expect(f.precheck?.examples, f.message).toEqual(c.examples);
      if (c.message) expect(f.message).toMatch(c.message);
      if (c.severity === 'error') expect(f.hint).toBeTruthy();
    });
  }

  it('--show-values shows the values, cut to 40 characters', async () => {
    const [f] = await check('create unique index on users (lower(email));', { showValues: true });
    expect(f!.precheck?.examples).toEqual(['alice@example.com ×3', 'jo@site.org ×2']);
    const [cast] = await check('alter table users alter column amount type int;', { showValues: true });
    expect(cast!.precheck?.examples).toEqual(['abc']);
    expect(cast!.message).toContain('invalid input syntax for type integer: "abc"');
    const [label] = await check('alter table users alter column amount type "Mood" using amount::"Mood";', { showValues: true });
    expect(label!.precheck?.examples).toEqual(['abc']);
    const [range] = await check("alter table users alter column amount type int using (amount || '0000000000')::int;", { showValues: true });
    expect(range!.precheck?.examples).toEqual(['120000000000']);
  });

  it('without --show-values no value of the data appears in any finding', async () => {
    const sql = `
      create unique index on users (lower(email));
      alter table users add constraint positive check (score > 0), alter column name set not null;
      alter table users add constraint users_org foreign key (org_id) references orgs (id);
      alter table users alter column amount type int using amount::int;
      alter table users alter column code type varchar(5);`;
    const text = JSON.stringify(await check(sql));
    for (const value of ['alice', 'Alice', 'example.com', 'site.org', 'abc', 'ABCDEFGH', 'LONGERVALUE', '-1', '-5']) expect(text).not.toContain(value);
  });

  it('a table an earlier statement changes: warning, not certain, whatever the count', async () => {
    const findings = await check('create unique index on users (email); alter table clean add unique (email);', { changedEarlier: new Set(['public.users', 'public.clean']) });
    expect(findings.map((f) => [f.rule, f.severity, f.precheck?.count])).toEqual([
      ['unique-duplicates', 'warning', 2],
      ['unique-duplicates', 'warning', 0],
    ]);
    expect(findings[0]!.message).toMatch(/not certain: an earlier statement changes public\.users/);
  });

  it('a type change in the same statement makes the other checks uncertain; tables and columns the plan creates are skipped', async () => {
    const same = await check('alter table users alter column score type bigint, add constraint positive check (score > 0);');
    expect(same.find((f) => f.rule === 'check-violations')?.severity).toBe('warning');
    expect(await check('create table fresh (id int); create unique index on fresh (id);')).toEqual([]);
    const column = await check('alter table users add column nick text; create unique index on users (nick);');
    expect(column.map((f) => [f.rule, f.severity])).toEqual([['unique-duplicates', 'warning']]);
    expect(column[0]!.message).toMatch(/column nick is not in the live table/);
    // Values from a sequence are distinct and never NULL: nothing to check.
    expect(await check('alter table clean drop constraint clean_pkey, add column k serial primary key;')).toEqual([]);
    expect(await check('alter table clean drop constraint clean_pkey, add column k serial not null, add primary key (k);')).toEqual([]);
  });

  it('row counts over one table share one scan', async () => {
    const scans = async () => {
      await client.query('select pg_stat_force_next_flush()');
      await client.query('select 1');
      return Number((await client.query("select seq_scan from pg_stat_user_tables where relname = 'clean'")).rows[0].seq_scan);
    };
    const before = await scans();
    const findings = await check('alter table clean alter column email set not null, alter column n set not null, add constraint positive check (n > 0);');
    expect(findings.map((f) => [f.rule, f.severity, f.precheck?.count])).toEqual([
      ['not-null-nulls', 'info', 0],
      ['not-null-nulls', 'info', 0],
      ['check-violations', 'info', 0],
    ]);
    expect((await scans()) - before).toBe(1);
  });

  it('statements nothing depends on cost no query', async () => {
    expect(await check('create index on users (email); alter table users add column nick text; alter table users add column if not exists name text not null; drop table empty_table;')).toEqual([]);
  });

  it('read-only: an expression that writes cannot run; a locked table is not waited for; a slow check gives up; nothing written, no lock left', async () => {
    const before = await stats();
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await query(url, 'create sequence clean_n_seq');
    const [readOnly] = await check(`alter table clean add constraint seq check (nextval('clean_n_seq') > 0);`);
    expect(readOnly!.severity).toBe('warning');
    expect(readOnly!.message).toMatch(/cannot be evaluated read-only/);
    expect((await query<{ v: string }>(url, 'select last_value::text as v from clean_n_seq'))[0]!.v).toBe('1');

    // Another session holds the table: the check gives up at once instead of queueing.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('begin; lock table clean in access exclusive mode');
      const [locked] = await check('alter table clean alter column n set not null;');
      expect(locked!.severity).toBe('warning');
      expect(locked!.message).toMatch(/locked by another session/);
      expect(locked!.precheck?.incomplete).toBe(true);
    } finally {
      await holder.query('rollback');
      await holder.end();
    }

    // A check that cannot finish in its budget.
    const [slow] = await check('alter table clean add constraint slow check ((select count(*) from generate_series(1, 50000000)) > 0);', { timeoutMs: 100 });
    expect(slow!.severity).toBe('warning');
    expect(slow!.message).toMatch(/did not finish within 100 ms/);
    expect(slow!.precheck?.incomplete).toBe(true);

    await check('create unique index on users (email); alter table users alter column name set not null, add constraint positive check (score > 0);');
    expect(await stats()).toEqual(before);
    const locks = await query(url, "select locktype, relation::regclass::text as rel, mode from pg_locks where pid = $1 and locktype = 'relation'", [pid]);
    expect(locks).toEqual([]);
    const state = await query<{ state: string }>(url, 'select state from pg_stat_activity where pid = $1', [pid]);
    expect(state[0]!.state).toBe('idle');
  });

  /** Rows inserted, updated and deleted in the test's tables, as the statistics count them. */
  async function stats() {
    return query(url, `select pg_stat_clear_snapshot(), relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd from pg_stat_user_tables where relname in ('users', 'orgs', 'clean') order by relname`);
  }

  it('masks keep the shape and hide the content', () => {
    expect(maskValue('alice@example.com')).toBe('a***@***.com');
    expect(maskValue('Jonathan')).toBe('J***');
    expect(maskValue('x')).toBe('*');
    expect(maskValue('')).toBe("''");
    expect(maskValue(null)).toBe('NULL');
    expect(maskValue('-12.50')).toBe('-**.**');
    expect(maskValue('2024-01-05')).toBe('****-**-**');
    expect(maskValue('123e4567-e89b-12d3-a456-426614174000')).toBe('********-****-****-****-************');
    expect(maskValue('a'.repeat(100)).length).toBeLessThanOrEqual(40);
  });

  it('every rule has its doc', async () => {
    const { existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { repoRoot } = await import('./support/db.js');
    for (const rule of PRECHECK_RULES) expect(existsSync(join(repoRoot, rule.doc)), rule.doc).toBe(true);
  });
});

describe('pre-checks on PostgreSQL 16+ (embedded PostgreSQL 17): pg_input_is_valid counts every bad value', () => {
  let server: EmbeddedServer | undefined;
  let client: pg.Client;

  beforeAll(async () => {
    server = await startEmbedded('embedded-postgres-17');
    await query(server.url(), 'create database app');
    await query(
      server.url('app'),
      `create table t (id int primary key, amount text, code varchar(10)); insert into t values (1, '12', 'ABCDEFG'), (2, 'abc', 'AB'), (3, '1e9x', 'XYZ'), (4, null, null), (5, '99999999999', 'Q');`,
    );
    client = new pg.Client({ connectionString: server.url('app') });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });

  it('an exact count over a text column, a lower bound through USING, lengths exact', async () => {
    const catalog = await readCatalog(client);
    const run = async (sql: string, showValues = false) => {
      const parsed = await parseMigration('m', sql);
      if (!parsed.ok) throw new Error(parsed.error.message);
      return precheckStatement(client, parsed.statements[0]!, catalog, { timeoutMs: 5000, showValues, changedEarlier: new Set() });
    };
    const [exact] = await run('alter table t alter column amount type int;', true);
    expect(exact!.severity).toBe('error');
    expect(exact!.precheck).toEqual({ kind: 'cast-failures', count: 3, examples: ['abc', '1e9x', '99999999999'] });
    expect(exact!.message).toMatch(/^public\.t\.amount: 3 values that cannot become int; e\.g\. abc, 1e9x, 99999999999$/);
    const [using] = await run('alter table t alter column amount type int using amount::int;');
    expect(using!.precheck?.count).toBe(1);
    expect(using!.message).toMatch(/at least 1 value/);
    const [length] = await run('alter table t alter column code type varchar(3);');
    expect(length!.precheck).toEqual({ kind: 'cast-failures', count: 1, examples: ['A***'] });
  });
});
