import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeStatements } from '../packages/core/src/plan/analyze.js';
import { type AtRisk, atRiskSet, revertibleInPlace } from '../packages/core/src/plan/at-risk.js';
import { readCatalog } from '../packages/core/src/plan/catalog.js';
import { parseMigration } from '../packages/core/src/plan/parse.js';
import type { StatementEffects } from '../packages/core/src/plan/types.js';
import { dataDigest, databaseNames, databases, dropStoreClones, json, lifeboat, query, repoRoot, schemaDump } from './support/db.js';

const SCHEMA = `
create type mood as enum ('happy', 'sad');
create table users (id serial primary key, email text not null unique, name text, mood mood default 'happy');
comment on table users is 'people';
comment on column users.email is 'where to write';
grant select on users to public;
create table orders (id bigserial primary key, user_id int not null references users(id) on delete cascade, total numeric(10,2), note text);
create index orders_user on orders (user_id);
create table tags (id int generated always as identity primary key, label text check (label <> ''));
create view user_orders as select u.email, count(o.id) as orders from users u left join orders o on o.user_id = u.id group by u.email;
create table big (id bigint primary key, payload text not null);
create function big_guard() returns trigger language plpgsql as $$ begin new.payload := trim(new.payload); return new; end $$;
create trigger big_guard before insert on big for each row execute function big_guard();
insert into users (email, name, mood) select 'user' || i || '@example.com', 'name ' || (i % 7), case when i % 3 = 0 then 'sad'::mood else 'happy' end from generate_series(1, 300) i;
insert into orders (user_id, total, note) select 1 + i % 300, i * 1.25, 'order ' || i from generate_series(1, 1500) i;
insert into tags (label) select 'tag ' || i from generate_series(1, 20) i;
insert into big select i, repeat(md5(i::text), 8) from generate_series(1, 40000) i;
analyze;
`;

const BOTH = ['public.orders', 'public.users'];

/**
 * One case per kind of statement: what the migration runs (then a forced failure), the
 * at-risk set the plan's analysis gives it (plan/analyze.ts closed by plan/at-risk.ts), and,
 * where a case exercises another path of the in-place rollback, the set the deploy is given
 * instead (renames on a table outside the set are named back, not reloaded).
 */
const CASES: Array<{ kind: string; statements: string[]; analysis: string[]; atRisk?: string[] }> = [
  { kind: 'add column', statements: ['alter table orders add column shipped boolean default false'], analysis: [] },
  { kind: 'drop column', statements: ['alter table users drop column name'], analysis: BOTH },
  { kind: 'alter column type', statements: ['alter table orders alter column total type integer'], analysis: ['public.orders'] },
  { kind: 'rename column', statements: ['alter table tags rename column label to title'], analysis: ['public.tags'], atRisk: [] },
  { kind: 'drop table', statements: ['drop table orders cascade'], analysis: ['public.orders'] },
  { kind: 'rename table', statements: ['alter table tags rename to labels'], analysis: ['public.tags'], atRisk: [] },
  {
    kind: 'failing create unique index concurrently',
    statements: ['alter table users add column nickname text', 'create unique index concurrently users_name_key on users (name)'],
    analysis: [],
  },
  { kind: 'add foreign key', statements: ['alter table tags add column owner_id int', 'alter table tags add constraint tags_owner_fk foreign key (owner_id) references users (id)'], analysis: [] },
  { kind: 'update', statements: ['update users set email = upper(email)'], analysis: BOTH },
  { kind: 'delete', statements: ['delete from users where id % 2 = 0'], analysis: BOTH },
  { kind: 'truncate cascade', statements: ['truncate users cascade'], analysis: BOTH },
  { kind: 'enum change', statements: ["alter type mood add value 'meh'", "update users set mood = 'meh' where id < 10"], analysis: BOTH },
  {
    kind: 'new function and trigger',
    statements: [
      "create function stamp() returns trigger language plpgsql as $$ begin new.note := 'stamped'; return new; end $$",
      'create trigger tags_stamp before update on tags for each row execute function stamp()',
      'update orders set total = total + 1 where id < 100',
    ],
    analysis: ['public.orders'],
  },
  {
    kind: 'replace a function a trigger uses',
    statements: ['create or replace function big_guard() returns trigger language plpgsql as $$ begin new.payload := upper(new.payload); return new; end $$'],
    analysis: [],
  },
];

/** The plan's verdict on a migration against the live database: its at-risk set and whether it reverts in place. */
async function planOf(url: string, statements: string[]): Promise<{ atRisk: AtRisk; inPlace: true | string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const catalog = await readCatalog(client);
    const parsed = await parseMigration('0003_case', statements.map((sql) => `${sql};`).join('\n'));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const effects = analyzeStatements(parsed.statements, catalog, { runs: () => 'autocommit' }).map((a) => a.effects);
    const atRisk = atRiskSet(
      effects,
      catalog,
      parsed.statements.map((st) => `${st.migration} statement ${st.index}`),
    );
    return { atRisk, inPlace: revertibleInPlace(parsed.statements, effects, catalog, atRisk) };
  } finally {
    await client.end();
  }
}

describe('scoped snapshots and the in-place rollback (one database, one case per kind of statement)', () => {
  const dbs = databases();
  let url = '';
  let name = '';
  let dir = '';
  let original: { schema: string; data: Record<string, string> };
  let bigFile = '';

  const bigFilenode = async () => (await query<{ f: string }>(url, "select pg_relation_filenode('big')::text as f"))[0]!.f;
  const deploy = async (statements: string[], scope: unknown, env: Record<string, string> = {}) => {
    const result = await execa('node', [join(repoRoot, 'test/support/scoped-deploy.mjs'), JSON.stringify({ url, cwd: dir, statements, scope })], {
      cwd: dir,
      reject: false,
      env: { ...env, LIFEBOAT_FAILPOINT_DIR: dir },
    });
    expect(result.stdout, result.stderr).not.toBe('');
    return { report: JSON.parse(result.stdout), stderr: result.stderr };
  };

  beforeAll(async () => {
    const db = await dbs.create('scoped');
    url = db.url;
    name = db.name;
    dir = join(repoRoot, 'test/.tmp', `scoped-${db.name}`);
    await mkdir(dir, { recursive: true });
    await query(url, SCHEMA);
    original = { schema: await schemaDump(url), data: await dataDigest(url) };
    bigFile = await bigFilenode();
  });
  afterAll(async () => {
    await dropStoreClones(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('$kind: a scoped snapshot, a forced failure, rolled back in place to the identical database', async ({ statements, analysis, atRisk: given }) => {
    const plan = await planOf(url, statements);
    expect(plan).toEqual({ atRisk: { tables: analysis }, inPlace: true });
    const atRisk = given ?? analysis;
    const { report, stderr } = await deploy([...statements, 'select 1/0 as forced_failure'], { atRisk: { tables: atRisk }, inPlace: true });
    expect(report.snapshot.strategy, stderr).toBe('scoped');
    expect(report.snapshot.strategyReason).toContain(atRisk.length === 0 ? 'the schema alone' : atRisk.join(', '));
    expect(report.outcome, `${stderr}\n${JSON.stringify(report.recovery)}`).toBe('migration-failed-rolled-back');
    expect(report.restore.strategy).toBe('scoped');
    expect(report.restore.inPlace.reloaded).toEqual(atRisk);
    expect(await schemaDump(url)).toBe(original.schema);
    expect(await dataDigest(url)).toEqual(original.data);
    // The big untouched table was never copied, and no staging or replaced database was made.
    expect(await bigFilenode()).toBe(bigFile);
    expect(await databaseNames(`${name}\\_\\_%`)).toEqual([]);
    const manifest = JSON.parse(await readFile(join(dir, '.lifeboat/snapshots', report.snapshot.id, 'manifest.json'), 'utf8'));
    expect(manifest.scope.tables).toEqual(atRisk);
    const big = manifest.tables.find((t: { name: string }) => t.name === 'big');
    expect(big.dataExcluded === true || big.exact === false).toBe(true);
  });

  it('a migration the analysis cannot bound (a DO block) takes a full snapshot and says why', async () => {
    const statements = ['do $$ begin perform 1; end $$'];
    const plan = await planOf(url, statements);
    expect(plan.atRisk).toEqual({ unbounded: '0003_case statement 1: a DO block runs code Lifeboat cannot follow' });
    const { report } = await deploy(statements, plan);
    expect(report.outcome).toBe('applied');
    expect(report.snapshot.strategy).not.toBe('scoped');
    expect(report.snapshot.strategyReason).toContain('a full snapshot because the data at risk cannot be bounded: 0003_case statement 1: a DO block');
  });

  it('a scoped snapshot is listed as scoped, and restore refuses it', async () => {
    const list = json(await lifeboat(['list', '--json', '--store', join(dir, '.lifeboat')], { cwd: dir, url }));
    const scoped = list.snapshots.find((s: { strategy: string }) => s.strategy === 'scoped');
    expect(scoped.scope.tables).toEqual(expect.any(Array));
    const restore = await lifeboat(['restore', scoped.id, '--yes', '--store', join(dir, '.lifeboat')], { cwd: dir, url });
    expect(restore.exitCode).toBe(16);
    expect(restore.stderr).toContain('is scoped');
  });

  it('a verification that fails inside the transaction rolls it all back: the database stays as the migration left it, and recover retries', async () => {
    const paused = (point: string) => join(dir, `${point}.paused`);
    const waitFor = async (file: string) => {
      while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    for (const file of await readdir(dir)) if (file.endsWith('.paused') || file.endsWith('.resume')) await rm(join(dir, file));
    const running = deploy(
      ['update users set name = upper(name)', 'alter table tags add column z int', 'select 1/0'],
      { atRisk: { tables: BOTH }, inPlace: true },
      {
        LIFEBOAT_FAILPOINT: 'deploy:after-checks=pause,inplace:before-verify=pause',
      },
    );
    await waitFor(paused('deploy:after-checks'));
    const migrated = { schema: await schemaDump(url), data: await dataDigest(url) };
    expect(migrated.schema).not.toBe(original.schema);
    await writeFile(join(dir, 'deploy:after-checks.resume'), '');
    await waitFor(paused('inplace:before-verify'));
    // Another session changes the schema while the rollback's transaction is open: its verification must see it.
    await query(url, 'create table intruder (id int)');
    await writeFile(join(dir, 'inplace:before-verify.resume'), '');
    const { report } = await running;
    expect(report.outcome).toBe('rollback-failed');
    expect(report.exitCode).toBe(22);
    expect(report.recovery.error).toContain('ROLLBACK');
    expect(report.recovery.error).toContain('verification');
    await query(url, 'drop table intruder');
    expect(await schemaDump(url)).toBe(migrated.schema);
    expect(await dataDigest(url)).toEqual(migrated.data);

    const recovered = await lifeboat(['recover', '--yes', '--store', join(dir, '.lifeboat')], { cwd: dir, url });
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    expect(await schemaDump(url)).toBe(original.schema);
    expect(await dataDigest(url)).toEqual(original.data);
    expect(await bigFilenode()).toBe(bigFile);
  });

  it('the at-risk set: closed over writing foreign keys, unbounded by a trigger, empty for additions; and what cannot revert in place', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const catalog = await readCatalog(client);
      const effects = (atRisk: StatementEffects['atRisk']): StatementEffects => ({ locks: [], rewrites: [], scans: [], transactional: true, atRisk, creates: [] });
      expect(atRiskSet([effects({ tables: ['public.users'] })], catalog)).toEqual({ tables: BOTH });
      expect(atRiskSet([effects({ tables: ['public.orders'] })], catalog)).toEqual({ tables: ['public.orders'] });
      expect(atRiskSet([effects({ tables: [] })], catalog)).toEqual({ tables: [] });
      expect(atRiskSet([effects({ tables: [] }), effects({ unbounded: 'a DO block' })], catalog, ['0003_backfill statement 1', '0003_backfill statement 2'])).toEqual({
        unbounded: '0003_backfill statement 2: a DO block',
      });
      await client.query("create function touch() returns trigger language plpgsql as $$ begin insert into tags (label) values ('x'); return new; end $$");
      await client.query('create trigger users_touch after update on users for each row execute function touch()');
      try {
        expect(atRiskSet([effects({ tables: ['public.orders'] })], await readCatalog(client))).toEqual({ tables: ['public.orders'] });
        expect(atRiskSet([effects({ tables: ['public.users'] })], await readCatalog(client))).toEqual({ unbounded: 'trigger users_touch on public.users (at risk) may write to other tables' });
      } finally {
        await client.query('drop trigger users_touch on users; drop function touch()');
      }
      const verdict = async (sql: string, tables: string[]) => {
        const parsed = await parseMigration('0004_m', sql);
        if (!parsed.ok) throw new Error(parsed.error.message);
        return revertibleInPlace(
          parsed.statements,
          parsed.statements.map(() => effects({ tables })),
          catalog,
          { tables },
        );
      };
      expect(await verdict("alter table orders add column x int; update users set name = 'x'", BOTH)).toBe(true);
      expect(await verdict("alter type mood rename value 'sad' to 'blue'", BOTH)).toMatch(/RENAME VALUE/);
      expect(await verdict("alter type mood add value 'meh'", [])).toMatch(/public.users/);
      expect(await verdict("insert into tags (label) values ('x')", [])).toMatch(/public.tags, outside the at-risk set/);
      expect(await verdict('alter table big alter column payload drop not null', [])).toMatch(/AT_DropNotNull/);
      expect(await verdict('grant select on big to public', [])).toMatch(/GrantStmt/);
    } finally {
      await client.end();
    }
  });

  it('a trigger the migration creates on a table it writes makes the set unbounded: a full snapshot, rolled back by the full restore', async () => {
    const statements = [
      "create function audit() returns trigger language plpgsql as $$ begin insert into tags (label) values ('audit'); return new; end $$",
      'create trigger orders_audit after update on orders for each row execute function audit()',
      'update orders set total = total + 1 where id < 10',
    ];
    const plan = await planOf(url, statements);
    expect(plan.atRisk).toEqual({ unbounded: expect.stringContaining('a trigger or rule the plan created on public.orders') });
    const { report } = await deploy([...statements, 'select 1/0'], plan);
    expect(report.snapshot.strategy).not.toBe('scoped');
    expect(report.snapshot.strategyReason).toContain('a full snapshot because the data at risk cannot be bounded');
    expect(report.outcome).toBe('migration-failed-rolled-back');
    expect(await schemaDump(url)).toBe(original.schema);
    expect(await dataDigest(url)).toEqual(original.data);
  });
});
