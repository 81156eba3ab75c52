import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, dataDigest, databases, json, lifeboat, pgEnv, query, schemaDump } from './support/db.js';
import { type DrizzleProject, makeDrizzleProject } from './support/drizzle-project.js';
import { type KnexProject, makeKnexProject } from './support/knex-project.js';
import { makePrismaProject, type PrismaProject } from './support/prisma-project.js';

type Check = { name: string; ok: boolean; problems: string[]; allowed: string[]; notes: string[] };
const preservation = (report: { checks: Check[] }) => report.checks.find((c) => c.name === 'data-preservation')!;

/**
 * A rename keeps a table's OID and a column's attnum: data preservation follows them, so a
 * renamed table or column is the same one with its rows and values, not a loss. Through
 * the real Knex, Prisma and drizzle-kit CLIs, and psql under `lifeboat run`.
 */
describe('renames are not data loss', () => {
  const dbs = databases();
  const projects: Array<KnexProject | PrismaProject | DrizzleProject> = [];
  afterAll(async () => {
    for (const p of projects) await p.remove();
  });

  it("Knex renameColumn and renameTable: deployed, the report lists both; a rollback shows the renamed table as one table with the app's writes", async () => {
    const db = await dbs.create('renames');
    const project = await makeKnexProject(db.url);
    projects.push(project);
    await project.addMigration(
      '20240101000000_init',
      `  await knex.schema.createTable('customers', (t) => { t.increments('id'); t.text('name').notNullable(); });
  await knex.schema.createTable('orders', (t) => { t.increments('id'); t.integer('customer_id').notNullable().references('customers.id'); t.decimal('total', 10, 2); });
  await knex.raw("insert into customers (name) select 'customer ' || i from generate_series(1, 40) i");
  await knex.raw('insert into orders (customer_id, total) select 1 + i % 40, i from generate_series(1, 200) i');`,
    );
    expect((await project.lifeboat(['migrate:latest'])).exitCode).toBe(0);
    await project.addMigration(
      '20240102000000_renames',
      "  await knex.schema.alterTable('customers', (t) => t.renameColumn('name', 'full_name'));\n  await knex.schema.renameTable('orders', 'purchases');",
    );
    const result = await project.lifeboat(['migrate:latest']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(preservation(json(result))).toMatchObject({
      ok: true,
      problems: [],
      allowed: [],
      notes: ['renamed column public.customers.name → full_name', 'renamed table public.orders → purchases'],
    });

    // The app writes after the deploy; then the deploy is rolled back.
    await query(db.url, 'insert into purchases (customer_id, total) values (1, 1), (2, 2), (3, 3); update purchases set total = 0 where id = 7');
    const rolled = await execa(process.execPath, [cliPath, 'rollback', '--yes', '--json'], { cwd: project.dir, env: { DATABASE_URL: db.url, NODE_ENV: 'development' }, reject: false });
    expect(rolled.exitCode, String(rolled.stderr)).toBe(0);
    const { discarded } = JSON.parse(String(rolled.stdout));
    // knex_migrations has the deploy's row; the renamed table is one table with the app's writes.
    expect(discarded.tables.map((t: { table: string }) => t.table)).toEqual(['public.knex_migrations', 'public.purchases']);
    expect(discarded).toMatchObject({
      tables: [{}, { table: 'public.purchases', tableThen: 'public.orders', rowsNow: 203, rowsThen: 200, added: 3, removed: 0, changed: 1, compared: 'by primary key' }],
      tablesOnlyNow: [],
      tablesOnlyThen: [],
      renamed: ['renamed column public.customers.name → full_name', 'renamed table public.orders → purchases'],
    });
    expect(await query(db.url, 'select count(*)::int as n from orders')).toEqual([{ n: 200 }]);
  });

  it('a Prisma migration with ALTER TABLE … RENAME COLUMN (a dump snapshot): deployed, the rename listed', async () => {
    const db = await dbs.create('renames');
    const project = await makePrismaProject({
      databaseUrl: db.url,
      migrations: [
        {
          name: '20240101000000_init',
          sql: "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO customers (name) SELECT 'customer ' || i FROM generate_series(1, 50) i;\n",
        },
      ],
    });
    projects.push(project);
    expect((await project.run(['migrate', 'deploy'])).exitCode).toBe(0);
    await project.addMigration('20240102000000_full_name', 'ALTER TABLE "customers" RENAME COLUMN "name" TO "full_name";\n');
    const result = await execa(process.execPath, [cliPath, '--strategy', 'dump', '--json', 'prisma', 'migrate', 'deploy'], {
      cwd: project.dir,
      env: { DATABASE_URL: db.url, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      reject: false,
    });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const report = JSON.parse(String(result.stdout));
    expect(report.snapshot.strategy).toBe('dump');
    expect(preservation(report)).toMatchObject({ ok: true, notes: ['renamed column public.customers.name → full_name'] });
  });

  it('a drizzle-kit migration renaming a table: deployed, the rename in the report and in `lifeboat check`', async () => {
    const db = await dbs.create('renames');
    const project = await makeDrizzleProject({ databaseUrl: db.url });
    projects.push(project);
    expect((await project.run(['migrate'])).exitCode).toBe(0);
    await project.addMigration('purchases', 'ALTER TABLE "orders" RENAME TO "purchases";\n');
    const result = await lifeboat(['drizzle-kit', 'migrate'], { cwd: project.dir, url: db.url });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ok {3}data-preservation: .*\n\s+- renamed table public\.orders → purchases\n/);
    const check = await lifeboat(['check', '--json'], { cwd: project.dir, url: db.url });
    expect(check.exitCode, check.stderr).toBe(0);
    expect(preservation({ checks: json(check).results }).notes).toEqual(['renamed table public.orders → purchases']);
    expect((await lifeboat(['check'], { cwd: project.dir, url: db.url })).stdout).toMatch(/ok {3}data-preservation: .*\n\s+- renamed table public\.orders → purchases\n/);
  });

  describe('lifeboat run -- psql', () => {
    async function setup() {
      const db = await dbs.create('renames');
      await query(
        db.url,
        `
        create table customers (id serial primary key, name text not null);
        create table orders (id serial primary key, customer_id int not null references customers, total numeric(10,2));
        create table events (id int primary key, kind text, payload jsonb);
        insert into customers (name) select 'c' || i from generate_series(1, 100) i;
        insert into orders (customer_id, total) select 1 + i % 100, i from generate_series(1, 500) i;
        insert into events select i, 'k' || i % 7, jsonb_build_object('n', i) from generate_series(1, 300) i;`,
      );
      const project = await mkdtemp(join(tmpdir(), 'lifeboat-renames-'));
      const deploy = async (sql: string) => {
        const file = join(project, `m-${Date.now()}.sql`);
        await writeFile(file, sql);
        return lifeboat(['run', '--json', '--', 'psql', '-q', '-v', 'ON_ERROR_STOP=1', '-f', file], { url: db.url, cwd: project, env: pgEnv(db.url) });
      };
      const state = async () => ({ schema: await schemaDump(db.url), data: await dataDigest(db.url) });
      return { db, project, deploy, state };
    }

    for (const [what, sql, problem, note] of [
      [
        'renames a column, then drops it',
        'alter table customers rename column name to full_name; alter table customers drop column full_name;',
        'column public.customers.name, which held values, was dropped',
        undefined,
      ],
      [
        'renames a table, then empties it',
        'alter table orders rename to purchases; delete from purchases;',
        'table public.orders lost 500 of 500 rows (100%)',
        'renamed table public.orders → purchases',
      ],
      [
        'rebuilds a table under its own name with rows missing',
        'create table events_new (id bigint primary key, kind text, payload jsonb); insert into events_new select * from events where id > 10; drop table events; alter table events_new rename to events;',
        'table public.events lost 10 of 300 rows (3.3%)',
        undefined,
      ],
    ] as const) {
      it(`a migration that ${what}: still a loss, rolled back`, async () => {
        const { deploy, state } = await setup();
        const before = await state();
        const result = await deploy(sql);
        expect(result.exitCode, result.stderr).toBe(21);
        const check = preservation(json(result));
        expect(check.problems).toEqual([problem]);
        expect(check.notes).toEqual(note ? [note] : []);
        expect(await state()).toEqual(before);
      });
    }

    it('a table rebuilt under its own name with every row passes; an allowance may name a renamed table by its new name', async () => {
      const { project, deploy } = await setup();
      const rebuilt = await deploy(
        'create table events_new (id bigint primary key, kind text, payload jsonb); insert into events_new select * from events; drop table events; alter table events_new rename to events;',
      );
      expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
      expect(preservation(json(rebuilt))).toMatchObject({ ok: true, allowed: [], notes: [] });

      await writeFile(join(project, 'lifeboat.config.json'), JSON.stringify({ allow: { rowLoss: ['purchases'], valueLoss: ['customers.full_name'] } }));
      const renamed = await deploy(
        "alter table orders rename to purchases; delete from purchases where id > 450; alter table customers rename column name to full_name; update customers set full_name = '' where id <= 5;",
      );
      expect(renamed.exitCode, renamed.stderr).toBe(0);
      expect(preservation(json(renamed))).toMatchObject({
        ok: true,
        allowed: ['column public.customers.name: 5 of 100 values were emptied or set to NULL (5%)', 'table public.orders lost 50 of 500 rows (10%)'],
        notes: ['renamed column public.customers.name → full_name', 'renamed table public.orders → purchases'],
      });
    });
  });
});
