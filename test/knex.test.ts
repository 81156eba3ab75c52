import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import knexFactory, { type Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { guarded } from '@lifeboat/knex';
import { cliPath, dataDigest, databases, json, query, schemaDump } from './support/db.js';
import { type KnexProject, makeKnexProject } from './support/knex-project.js';

const INIT = `  await knex.schema.createTable('customers', (t) => { t.increments('id'); t.text('name').notNullable(); });
  await knex.schema.createTable('orders', (t) => { t.increments('id'); t.integer('customer_id').notNullable().references('customers.id'); t.decimal('total', 10, 2); });
  await knex.raw("insert into customers (name) select 'customer ' || i from generate_series(1, 40) i");
  await knex.raw('insert into orders (customer_id, total) select 1 + i % 40, i from generate_series(1, 200) i');`;

describe('Knex', () => {
  const dbs = databases();
  const projects: KnexProject[] = [];
  afterAll(async () => {
    for (const p of projects) await p.remove();
  });

  async function setup() {
    const db = await dbs.create('knex');
    const project = await makeKnexProject(db.url);
    projects.push(project);
    await project.addMigration('20240101000000_init', INIT);
    const first = await project.lifeboat(['migrate:latest']);
    expect(first.exitCode, first.stderr).toBe(0);
    const state = async () => ({
      schema: await schemaDump(db.url),
      data: await dataDigest(db.url),
      migrations: await query(db.url, 'select name, batch from knex_migrations order by id'),
    });
    return { db, project, state };
  }

  describe('lifeboat knex migrate:latest (the real knex CLI)', () => {
    it('a good deploy is kept', async () => {
      const { db, project } = await setup();
      await project.addMigration('20240102000000_email', "  await knex.schema.alterTable('customers', (t) => t.text('email'));");
      const result = await project.lifeboat(['migrate:latest']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(json(result)).toMatchObject({ outcome: 'applied', pending: ['20240102000000_email.cjs'], migrated: ['20240102000000_email.cjs'] });
      expect(json(result).checks.find((c: { name: string }) => c.name === 'migrations')).toMatchObject({ ok: true, summary: '2 applied, 0 pending in public.knex_migrations' });
      expect(result.stderr).toMatch(/Batch 2 run: 1 migrations/); // knex's own output, streamed
      expect(await query(db.url, "select 1 from information_schema.columns where table_name = 'customers' and column_name = 'email'")).toHaveLength(1);
    });

    it('a failing migration (after another one of the batch ran): the identical database, knex_migrations included', async () => {
      const { project, state } = await setup();
      const before = await state();
      await project.addMigration('20240102000000_ok', "  await knex.schema.alterTable('customers', (t) => t.text('tier'));");
      await project.addMigration('20240103000000_fails', "  await knex.raw('update orders set total = 0');\n  await knex.raw('select 1 / 0');");
      const result = await project.lifeboat(['migrate:latest']);
      // knex runs the batch, its lock included, in one transaction, which commits nothing when a migration fails: restored (20),
      // or nothing to restore (31) when nothing else committed on the shared test server meanwhile.
      expect([20, 31], result.stderr).toContain(result.exitCode);
      expect(json(result).outcome).toBe(result.exitCode === 20 ? 'migration-failed-rolled-back' : 'migration-failed-unchanged');
      expect(await state()).toEqual(before);
    });

    it('a migration that succeeds but loses rows: rolled back', async () => {
      const { project, state } = await setup();
      const before = await state();
      await project.addMigration('20240102000000_archive', "  await knex('orders').where('total', '>', 50).del();");
      const result = await project.lifeboat(['migrate:latest']);
      expect(result.exitCode, result.stderr).toBe(21);
      expect(json(result).checks.find((c: { name: string }) => c.name === 'data-preservation').problems).toEqual(['table public.orders lost 150 of 200 rows (75%)']);
      expect(await state()).toEqual(before);
    });

    it('nothing pending takes no snapshot', async () => {
      const { project } = await setup();
      const snapshots = async () => JSON.parse(String((await execa(process.execPath, [cliPath, 'list', '--json'], { cwd: project.dir })).stdout)).snapshots;
      const before = await snapshots(); // the setup's first deploy took one
      const result = await project.lifeboat(['migrate:latest']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(json(result).outcome).toBe('nothing-pending');
      expect(await snapshots()).toEqual(before);
    });

    it('a non-transactional migration that leaves an INVALID index: caught and rolled back', async () => {
      const { project, state, db } = await setup();
      const before = await state();
      await project.addMigration(
        '20240102000000_unique_names',
        "  await knex.raw(\"insert into customers (name) values ('twin'), ('twin')\");\n  await knex.raw('create unique index concurrently customers_name_unique on customers (name)');",
        { transaction: false },
      );
      const result = await project.lifeboat(['migrate:latest']);
      expect(result.exitCode, result.stderr).toBe(20);
      const report = json(result);
      expect(report.checks.find((c: { name: string }) => c.name === 'invalid-indexes').problems).toEqual([
        'index public.customers_name_unique is INVALID (pg_index.indisvalid = false)',
      ]);
      expect(await state()).toEqual(before);
      expect(await query(db.url, "select 1 from pg_class where relname = 'customers_name_unique'")).toEqual([]);
    });

    it("knex's own flags work: --knexfile, --env, --migrations-directory; other subcommands pass through", async () => {
      const { db, project } = await setup();
      await mkdir(join(project.dir, 'config'));
      await writeFile(join(project.dir, 'config/knexfile.cjs'), "module.exports = { staging: { client: 'pg', connection: process.env.DATABASE_URL } };\n");
      await project.addMigration('20240102000000_notes', "  await knex.schema.createTable('notes', (t) => t.increments('id'));");
      // --migrations-directory is relative to the knexfile's folder, where the knex CLI runs.
      const result = await project.lifeboat(['migrate:latest', '--knexfile', 'config/knexfile.cjs', '--env', 'staging', '--migrations-directory', '../migrations']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(json(result).migrated).toEqual(['20240102000000_notes.cjs']);
      const status = await project.lifeboat(['migrate:status']);
      expect(status.exitCode).toBe(0);
      expect(status.stderr + status.stdout).toMatch(/No Pending Migration files Found/);
      expect(await query(db.url, "select 1 from pg_tables where tablename = 'notes'")).toHaveLength(1);
    });
  });

  describe('guarded(knex).migrate.latest() (the hook)', () => {
    async function app(url: string, directory: string): Promise<Knex> {
      return knexFactory({ client: 'pg', connection: url, migrations: { directory } });
    }

    it('a good deploy is kept; a failing one throws like knex after rolling back; the app pool works after', async () => {
      const { db, project, state } = await setup();
      const knex = await app(db.url, `${project.dir}/migrations`);
      try {
        await project.addMigration('20240102000000_tier', "  await knex.schema.alterTable('customers', (t) => t.text('tier'));");
        const notes: string[] = [];
        const [batch, log] = (await guarded(knex, { cwd: project.dir, onNotice: (m) => notes.push(m) }).migrate.latest()) as [number, string[]];
        expect([batch, log]).toEqual([2, ['20240102000000_tier.cjs']]);
        expect(notes.join('\n')).toMatch(/strategy: dump \(auto chose dump: \d+ other session/); // the app's own pool is connected

        const before = await state();
        await project.addMigration('20240103000000_wipe', "  await knex('orders').del();");
        const error = await guarded(knex, { cwd: project.dir, onNotice: () => {} }).migrate.latest().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'CHECKS_FAILED_ROLLED_BACK', report: { outcome: 'checks-failed-rolled-back' } });
        expect(await state()).toEqual(before);
        // The pool was closed for the rename swap and reopened: the app keeps working.
        expect(await knex('orders').count({ n: '*' })).toEqual([{ n: '200' }]);

        await rm(join(project.dir, 'migrations/20240103000000_wipe.cjs'));
        expect(await guarded(knex, { cwd: project.dir, onNotice: () => {} }).migrate.latest()).toEqual([2, []]);
      } finally {
        await knex.destroy();
      }
    });

    it('a migration that fails: thrown after the rollback, database identical', async () => {
      const { db, project, state } = await setup();
      const knex = await app(db.url, `${project.dir}/migrations`);
      try {
        const before = await state();
        await project.addMigration('20240102000000_ok', "  await knex.schema.alterTable('customers', (t) => t.text('tier'));");
        await project.addMigration('20240103000000_fails', "  await knex.raw('select 1 / 0');");
        const error = await guarded(knex, { cwd: project.dir, onNotice: () => {} }).migrate.latest().catch((e: unknown) => e);
        // knex ran the batch in one transaction: restored (20), or nothing to restore (31) when nothing committed on the server meanwhile.
        expect(['DEPLOY_FAILED_ROLLED_BACK', 'DEPLOY_FAILED_UNCHANGED']).toContain((error as { code: string }).code);
        expect(String((error as Error).message)).toMatch(/division by zero/);
        expect(await state()).toEqual(before);
      } finally {
        await knex.destroy();
      }
    });
  });
});
