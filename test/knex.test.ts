import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import knexFactory, { type Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { display } from '@lifeboat/core/adapter';
import { guarded } from '@lifeboat/knex';
import { cliPath, dataDigest, databases, json, query, schemaDump } from './support/db.js';
import { type KnexProject, makeKnexProject } from './support/knex-project.js';

const INIT = `  await knex.schema.createTable('customers', (t) => { t.increments('id'); t.text('name').notNullable(); });
  await knex.schema.createTable('orders', (t) => { t.increments('id'); t.integer('customer_id').notNullable().references('customers.id'); t.decimal('total', 10, 2); });
  await knex.raw("insert into customers (name) select 'customer ' || i from generate_series(1, 40) i");
  await knex.raw('insert into orders (customer_id, total) select 1 + i % 40, i from generate_series(1, 200) i');`;

/**
 * A migration that fails on the live data only (a division by zero where orders has rows): the
 * schema-only rehearsal, on empty tables, lets it through, so the deploy runs it and rolls back.
 */
const FAILS_ON_ROWS = "  await knex.raw('select 1 / (1 - sign((select count(*) from orders)))::int');";

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
      await project.addMigration('20240103000000_fails', `  await knex.raw('update orders set total = 0');\n${FAILS_ON_ROWS}`);
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
      // The overhead is the whole command's, from the process's start (Node, the CLI, the knexfile), not the pipeline's inside it.
      const { timings } = json(result);
      expect(timings.commandMs).toBeGreaterThan(timings.totalMs);
    });

    it('a non-transactional migration that leaves an INVALID index: caught and rolled back', async () => {
      const { project, state, db } = await setup();
      const before = await state();
      await project.addMigration(
        '20240102000000_unique_names',
        "  await knex.raw(\"insert into customers (name) values ('twin'), ('twin')\");\n  await knex.raw('create unique index concurrently customers_name_unique on customers (name)');",
        { transaction: false },
      );
      // Without the plan: its rehearsal would refuse this migration before it runs (the twins make the unique index fail there too); the point here is the rollback.
      const result = await project.lifeboat(['migrate:latest'], ['--no-plan']);
      expect(result.exitCode, result.stderr).toBe(20);
      const report = json(result);
      expect(report.checks.find((c: { name: string }) => c.name === 'invalid-indexes').problems).toEqual(['index public.customers_name_unique is INVALID (pg_index.indisvalid = false)']);
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
        const error = await guarded(knex, { cwd: project.dir, onNotice: () => {} })
          .migrate.latest()
          .catch((e: unknown) => e);
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
        await project.addMigration('20240103000000_fails', FAILS_ON_ROWS);
        const error = await guarded(knex, { cwd: project.dir, onNotice: () => {} })
          .migrate.latest()
          .catch((e: unknown) => e);
        // knex ran the batch in one transaction: restored (20), or nothing to restore (31) when nothing committed on the server meanwhile.
        expect(['DEPLOY_FAILED_ROLLED_BACK', 'DEPLOY_FAILED_UNCHANGED']).toContain((error as { code: string }).code);
        expect(String((error as Error).message)).toMatch(/division by zero/);
        expect(await state()).toEqual(before);
      } finally {
        await knex.destroy();
      }
    });
  });

  describe('the database the deploy used, found again from the project folder', () => {
    const NOTES = `  await knex.schema.createTable('notes', (t) => { t.increments('id'); t.text('body'); });
  await knex('notes').insert([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);`;
    const SESSIONS = `  await knex.schema.createTable('sessions', (t) => { t.increments('id'); t.text('token'); });
  await knex.schema.alterTable('customers', (t) => t.text('tier'));`;

    it("the README's quick start with the database only in the knexfile (no DATABASE_URL, no --database-url): deploy, classify, rollback --yes, drill, status and runbook all find it", async () => {
      const db = await dbs.create('knex_quick');
      const project = await makeKnexProject(undefined);
      projects.push(project);
      await writeFile(join(project.dir, 'knexfile.js'), `export default { development: { client: 'pg', connection: ${JSON.stringify(db.url)}, migrations: { directory: './migrations' } } };\n`);
      await project.addMigration('20240101000000_init', INIT);
      expect((await project.lifeboat(['migrate:latest'])).exitCode).toBe(0);
      await project.addMigration('20240102000000_sessions', SESSIONS);
      const deployed = await project.lifeboat(['migrate:latest']);
      expect(deployed.exitCode, deployed.stderr).toBe(0);
      expect(deployed.stderr).toMatch(/lifeboat: database from the "development" connection in \S+\/knexfile\.js\n/);

      // classify: a config to paste as it is; knex's own tables get no class (knex_migrations_lock is no lock table of the app's).
      const classified = await project.run(['classify', '--json']);
      expect(classified.exitCode, classified.stderr).toBe(0);
      const { proposals, snippet } = json(classified);
      expect(proposals.map((p: { table: string }) => p.table).sort()).toEqual(['public.customers', 'public.orders', 'public.sessions']);
      expect(proposals.find((p: { table: string }) => p.table === 'public.sessions')).toMatchObject({ class: 'ephemeral' });
      expect(snippet).toMatch(/^import \{ defineConfig \} from '@lifeboat\/core';$/m);
      await writeFile(join(project.dir, 'lifeboat.config.ts'), `${snippet}\n`); // every command below loads it

      const rolledBack = await project.run(['rollback', '--yes', '--json']);
      expect(rolledBack.exitCode, rolledBack.stderr).toBe(0);
      expect(json(rolledBack).restorePoint).toBe(json(deployed).snapshot.id);
      expect(await query(db.url, "select to_regclass('sessions')::text as t")).toEqual([{ t: null }]);
      expect(await query(db.url, 'select name from knex_migrations')).toEqual([{ name: '20240101000000_init.cjs' }]);

      const drill = await project.run(['drill', '--json']);
      expect(drill.exitCode, drill.stderr).toBe(0);
      expect(json(drill)).toMatchObject({ ok: true });

      const status = json(await project.run(['status', '--json']));
      expect(status).toMatchObject({ database: db.name, retention: { keep: 10, keepOnServer: 3 } });
      // The copies on the server, with their sizes: the database the rollback replaced, and the clone snapshots.
      const copies = status.onServer.copies as Array<{ name: string; kind: string; bytes: number }>;
      expect(copies.filter((c) => c.kind === 'replaced database').map((c) => c.name)).toEqual([json(rolledBack).restore.replaced]);
      expect(copies.every((c) => c.bytes > 0)).toBe(true);
      expect(status.onServer.bytes).toBe(copies.reduce((sum, c) => sum + c.bytes, 0));
      const text = await project.run(['status']);
      expect(text.stdout).toMatch(new RegExp(`On the server: +${copies.length} full copies of ${db.name}, `));
      expect(text.stdout).toMatch(/at most 3 full copies per database on the server/);
      expect(text.stdout).toMatch(new RegExp(`${copies.length} full copies on the server now: ${copies.length - 3} over`));

      expect((await project.run(['runbook'])).exitCode).toBe(0);
      const runbook = await readFile(join(project.dir, 'RECOVERY.md'), 'utf8');
      expect(runbook).toMatch(new RegExp(`^# Recovery runbook: ${db.name}$`, 'm'));
      expect(runbook).toMatch(/Lifeboat finds the database \(.*\) in the "development" connection in \S+\/knexfile\.js, as the deploys do\./);
    });

    it('a CommonJS knexfile reading DATABASE_URL, deployed with --database-url naming another database: knex migrates that one', async () => {
      const chosen = await dbs.create('knex_cjs');
      const fromEnv = await dbs.create('knex_cjs_env');
      const project = await makeKnexProject(fromEnv.url);
      projects.push(project);
      await writeFile(join(project.dir, 'package.json'), '{}\n'); // CommonJS, as most knex projects are
      await writeFile(join(project.dir, 'knexfile.js'), "module.exports = { development: { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: './migrations' } } };\n");
      await project.addMigration('20240101000000_init', INIT);
      const result = await project.lifeboat(['migrate:latest'], ['--database-url', chosen.url]);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/lifeboat: database from --database-url, given to knex as DATABASE_URL\n/);
      expect(await query(chosen.url, 'select name from knex_migrations')).toEqual([{ name: '20240101000000_init.cjs' }]);
      expect(await query(fromEnv.url, "select to_regclass('knex_migrations')::text as t")).toEqual([{ t: null }]);
    });

    it('migrate:down and migrate:rollback leave a restore point and roll nothing back; lifeboat rollback brings back what down() dropped; retention bounds the copies on the server', async () => {
      const { db, project } = await setup();
      await project.addMigration('20240102000000_notes', NOTES, { down: "  await knex.schema.dropTable('notes');" });
      expect((await project.lifeboat(['migrate:latest'])).exitCode).toBe(0);
      for (const subcommand of ['migrate:down', 'migrate:rollback']) {
        const result = await project.lifeboat([subcommand]);
        expect(result.exitCode, result.stderr).toBe(0);
        const report = json(result);
        expect(report).toMatchObject({ outcome: 'destructive-applied', unapplied: ['20240102000000_notes.cjs'] });
        expect(report.restore).toBeUndefined();
        expect(report.checks.find((c: { name: string }) => c.name === 'data-preservation').problems).toContain('table public.notes (3 rows) was dropped');
        expect(await query(db.url, "select to_regclass('notes')::text as t")).toEqual([{ t: null }]);

        const back = await project.run(['rollback', '--yes', '--json']);
        expect(back.exitCode, back.stderr).toBe(0);
        expect(json(back).restorePoint).toBe(report.snapshot.id);
        expect(await query(db.url, 'select body from notes order by id')).toEqual([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
      }

      // Subcommands that change nothing pass through quietly; one Lifeboat does not know says it is not guarded.
      const status = await project.lifeboat(['migrate:status']);
      expect(status.exitCode).toBe(0);
      expect(status.stderr).not.toMatch(/lifeboat:/);
      const unlock = await project.lifeboat(['migrate:unlock']);
      expect(unlock.exitCode).toBe(0);
      expect(unlock.stderr).toMatch(/^lifeboat: `knex migrate:unlock` is not guarded \(Lifeboat does not know what it changes\): no snapshot, running it as it is$/m);

      // Six clone snapshots and two replaced databases: the default retention keeps three copies on the server.
      const copies = async () => json(await project.run(['status', '--json'])).onServer.copies.length as number;
      expect(await copies()).toBeGreaterThan(3);
      const pruned = await project.run(['prune', '--yes', '--json']);
      expect(pruned.exitCode, pruned.stderr).toBe(0);
      expect(json(pruned).replacedDatabases.length).toBeGreaterThan(0);
      expect(await copies()).toBeLessThanOrEqual(3);
    });

    it("guarded(knex, { databaseUrl }) naming another database than the instance's is refused before anything runs", async () => {
      const db = await dbs.create('knex_hook');
      const other = await dbs.create('knex_hook_other');
      const knex = knexFactory({ client: 'pg', connection: db.url });
      try {
        const error = await guarded(knex, { databaseUrl: other.url, onNotice: () => {} })
          .migrate.latest()
          .catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'URL_INVALID' });
        expect((error as Error).message).toBe(
          `the databaseUrl given to guarded() names ${display(other.url)}, but the Knex instance's connection names ${display(db.url)}: knex would migrate that one, not the one Lifeboat protects.`,
        );
        expect(await query(db.url, "select to_regclass('knex_migrations')::text as t")).toEqual([{ t: null }]);
      } finally {
        await knex.destroy();
      }
    });
  });
});
