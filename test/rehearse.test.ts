import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseDatabase } from '@lifeboat/core/adapter';
import { cliAdapter } from '@lifeboat/knex';
import { parseDatabaseUrl } from '../packages/core/src/db/target.js';
import type { MigrationAdapter } from '../packages/core/src/guard/adapter.js';
import { parseMigration } from '../packages/core/src/plan/parse.js';
import { rehearseSchemaOnly } from '../packages/core/src/plan/rehearsal.js';
import { openStore } from '../packages/core/src/store/store.js';
import { databaseNames, databases, json, query, schemaDump } from './support/db.js';
import { type KnexProject, makeKnexProject } from './support/knex-project.js';

const INIT = `  await knex.schema.createTable('customers', (t) => { t.increments('id'); t.text('name').notNullable(); });
  await knex.schema.createTable('orders', (t) => { t.increments('id'); t.integer('customer_id').notNullable().references('customers.id'); t.decimal('total', 10, 2); });
  await knex.raw("insert into customers (name) select 'customer ' || i from generate_series(1, 40) i");
  await knex.raw('insert into orders (customer_id, total) select 1 + i % 40, i from generate_series(1, 200) i');`;

const CAPTURED = `  await knex.schema.createTable('invoices', (t) => { t.increments('id'); t.integer('order_id').references('orders.id'); t.text('note'); });
  await knex.schema.alterTable('customers', (t) => { t.text('tier').defaultTo('basic'); });
  await knex.raw('update customers set tier = ? where id > ? and name <> ?', ['gold', 10, "o'brien"]);`;

const TYPO = "  await knex.raw('update custmers set name = upper(name)');";

/** One Knex project for the file: migrations are added as the cases go (the last one has a typo). */
describe('rehearsals', () => {
  const dbs = databases();
  let db: { name: string; url: string };
  let project: KnexProject;
  const scratches = () => databaseNames(`${db.name}__lifeboat_rehearsal_%`);
  const live = async () => ({ schema: await schemaDump(db.url), migrations: await query(db.url, 'select name from knex_migrations order by id') });

  beforeAll(async () => {
    db = await dbs.create('rh');
    project = await makeKnexProject(db.url);
    await project.addMigration('20240101000000_init', INIT);
    const first = await project.lifeboat(['migrate:latest']);
    expect(first.exitCode, first.stderr).toBe(0);
  });
  afterAll(async () => {
    await project?.remove();
  });

  /** The prepared `knex migrate:latest` of the project, as `lifeboat knex` prepares it, and a schema-only rehearsal with it. */
  async function schemaOnly() {
    const env = { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'development' };
    const prepared = await cliAdapter.prepare({ args: ['migrate:latest'], cwd: project.dir, env, choose: (tool) => chooseDatabase({ env }, [tool]) });
    if (prepared.mode !== 'migrate') throw new Error(prepared.mode);
    const target = parseDatabaseUrl(prepared.database.url);
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { pending } = await prepared.adapter.status(client).finally(() => client.end());
    return rehearseSchemaOnly({ target, adapter: prepared.adapter, pending, store: openStore(`${project.dir}/.lifeboat`) });
  }

  it('Knex capture: the SQL knex sent for createTable, alterTable and a raw UPDATE with bindings, parseable', async () => {
    await project.addMigration('20240102000000_invoices', CAPTURED);
    const before = await live();
    const result = await schemaOnly();
    if (!result.ran || !result.ok) throw new Error(JSON.stringify(result));
    expect(result.captured?.map((m) => m.migration)).toEqual(['20240102000000_invoices.cjs']);
    const sql = result.captured![0]!.sql;
    expect(sql).toContain('create table "invoices"');
    expect(sql).toContain(`update customers set tier = 'gold' where id > 10 and name <> 'o''brien'`);
    // knex's own bookkeeping (its lock, the knex_migrations row) is not the migration's SQL.
    expect(sql).not.toContain('knex_migrations');
    const parsed = await parseMigration('20240102000000_invoices.cjs', sql);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed));
    expect(parsed.statements.map((s) => s.kind)).toEqual(expect.arrayContaining(['CreateStmt', 'AlterTableStmt', 'UpdateStmt']));
    expect(await live()).toEqual(before);
    expect(await scratches()).toEqual([]);
  });

  it('lifeboat rehearse knex migrate:latest: the newest snapshot restored, the real knex, per-migration durations, checks, exit 0, no scratch left', async () => {
    // The deploy's snapshot is of the database before its migration: a snapshot of it as it is now.
    const snapshot = await project.run(['snapshot', '--json']);
    expect(snapshot.exitCode, snapshot.stderr).toBe(0);
    const before = await live();
    const result = await project.run(['rehearse', '--json', 'knex', 'migrate:latest']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = json(result);
    expect(report).toMatchObject({ ok: true, database: db.name, pending: ['20240102000000_invoices.cjs'], migrated: ['20240102000000_invoices.cjs'] });
    expect(report.migrations).toHaveLength(1);
    expect(report.migrations[0].ms).toBeGreaterThanOrEqual(0);
    if (report.longestLock) expect(report.longestLock).toMatchObject({ migration: '20240102000000_invoices.cjs', table: expect.stringMatching(/^public\./), ms: expect.any(Number) });
    expect(report.checks.map((c: { name: string }) => c.name)).toContain('migrations');
    expect(report.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(result.stderr).toMatch(/Batch 2 run: 1 migrations/); // the real knex CLI, its output on stderr beside --json
    expect(await live()).toEqual(before);
    expect(await scratches()).toEqual([]);
  });

  it("a Knex migration with a typo in a table name: the schema-only rehearsal fails with the server's text, naming the migration", async () => {
    await project.addMigration('20240103000000_typo', TYPO);
    const before = await live();
    const result = await schemaOnly();
    if (!result.ran || result.ok) throw new Error(JSON.stringify(result));
    expect(result.migration).toBe('20240103000000_typo.cjs');
    expect(result.error).toBe('relation "custmers" does not exist');
    // What ran before the failure is captured too, the failing statement last.
    expect(result.captured?.map((m) => m.migration)).toEqual(['20240102000000_invoices.cjs', '20240103000000_typo.cjs']);
    expect(result.captured![1]!.sql).toContain('update custmers');
    expect(await live()).toEqual(before);
    expect(await scratches()).toEqual([]);
  });

  it("SQL files (Prisma, Drizzle) run in the schema-only copy as their tool runs them: the first failure, with the server's DETAIL, names its migration", async () => {
    const target = parseDatabaseUrl(db.url);
    const store = openStore(`${project.dir}/.lifeboat`);
    const before = await live();
    const migrations = [
      { migration: '001_ok', sql: 'alter table customers add column nickname text;\ncreate index on customers (nickname);' },
      { migration: '002_duplicate', sql: "insert into customers (id, name) values (1, 'a'), (1, 'b');" },
    ];
    for (const runs of ['script', 'wrapped'] as const) {
      const adapter: MigrationAdapter = {
        name: 'files',
        status: async () => ({ pending: [], applied: [] }),
        checkBookkeeping: async () => ({ name: 'migrations', ok: true, summary: '', problems: [], allowed: [] }),
        runs,
      };
      const result = await rehearseSchemaOnly({ target, adapter, pending: ['001_ok', '002_duplicate'], migrations, store });
      if (!result.ran || result.ok) throw new Error(JSON.stringify(result));
      expect(result.migration).toBe('002_duplicate');
      expect(result.error).toBe('duplicate key value violates unique constraint "customers_pkey" DETAIL: Key (id)=(1) already exists.');
      expect(result.captured).toBeUndefined();
    }
    expect(await live()).toEqual(before);
    expect(await scratches()).toEqual([]);
  });

  it("lifeboat rehearse --schema-only: exit 39 with the server's text, and a kill -9 leaves a record that recover cleans", async () => {
    const failed = await project.run(['rehearse', '--schema-only', '--json', 'knex', 'migrate:latest']);
    expect(failed.exitCode, failed.stderr).toBe(39);
    expect(json(failed)).toMatchObject({ ok: false, migration: '20240103000000_typo.cjs', error: 'relation "custmers" does not exist' });
    expect(await scratches()).toEqual([]);

    const killed = await project.run(['rehearse', '--schema-only', 'knex', 'migrate:latest'], { LIFEBOAT_FAILPOINT: 'rehearsal:after-create' });
    expect(killed.signal).toBe('SIGKILL');
    expect(await scratches()).toHaveLength(1);
    const recovered = await project.run(['recover', '--yes', '--json']);
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    expect(json(recovered).recovered).toMatchObject([{ operation: 'rehearsal', outcome: 'cleaned-up' }]);
    expect(await scratches()).toEqual([]);
  });

  it('lifeboat rehearse: a migration that fails there exits 39, the live database unchanged, no scratch left', async () => {
    const before = await live();
    const result = await project.run(['rehearse', '--json', 'knex', 'migrate:latest']);
    expect(result.exitCode, result.stderr).toBe(39);
    expect(json(result)).toMatchObject({ ok: false, failed: 'migrate', migrated: [] });
    expect(result.stderr).toContain('relation "custmers" does not exist'); // knex's own report of the failure
    expect(await live()).toEqual(before);
    expect(await scratches()).toEqual([]);
  });
});
