import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, dataDigest, databaseNames, databases, json, query, schemaDump } from './support/db.js';
import { type KnexProject, makeKnexProject } from './support/knex-project.js';
import { makePrismaProject, type PrismaProject } from './support/prisma-project.js';

const init = {
  name: '20240101000000_init',
  sql: `CREATE TABLE "User" (id serial PRIMARY KEY, email text, name text);
INSERT INTO "User" (email, name) SELECT 'user' || (i % 463) || '@example.com', 'user ' || i FROM generate_series(1, 500) i;
`,
};

/** `lifeboat plan` and the plan a guarded deploy runs first, with the real Prisma CLI. */
describe('know before you deploy (Prisma)', () => {
  const dbs = databases();
  const projects: PrismaProject[] = [];
  afterAll(async () => {
    for (const p of projects) await p.remove();
  });

  async function setup() {
    const db = await dbs.create('plan');
    const project = await makePrismaProject({ databaseUrl: db.url, migrations: [init] });
    projects.push(project);
    const first = await project.run(['migrate', 'deploy']);
    expect(first.exitCode, first.stderr).toBe(0);
    const lifeboat = (args: string[]) =>
      execa(process.execPath, [cliPath, ...args], {
        cwd: project.dir,
        env: { DATABASE_URL: db.url, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
        reject: false,
        stdin: 'ignore',
      }).then((r) => ({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }));
    const state = async () => ({
      schema: await schemaDump(db.url),
      data: await dataDigest(db.url),
      migrations: await query(db.url, 'select migration_name, finished_at, rolled_back_at from _prisma_migrations order by started_at'),
    });
    return { db, project, lifeboat, state };
  }

  it('a UNIQUE index over duplicates: the deploy is refused before any snapshot, naming the count; database and store unchanged', async () => {
    const { project, lifeboat, state } = await setup();
    await project.addMigration('20240102000000_unique_email', 'CREATE UNIQUE INDEX "User_email_key" ON "User"("email");\n');
    const before = await state();
    const store = join(project.dir, '.lifeboat');
    const storeBefore = existsSync(store) ? await readdir(store, { recursive: true }) : [];

    const result = await lifeboat(['--json', 'prisma', 'migrate', 'deploy']);
    expect(result.exitCode, result.stderr).toBe(38);
    const report = json(result);
    expect(report.outcome).toBe('plan-blocked');
    expect(report.snapshot).toBeUndefined();
    expect(report.tool.exitCode).toBe(-1); // the tool never ran
    const finding = report.plan.migrations[0].statements[0].findings.find((f: { rule: string }) => f.rule === 'unique-duplicates');
    // 500 rows over 463 emails: 37 values appear twice.
    expect(finding).toMatchObject({ severity: 'error', precheck: { kind: 'duplicates', count: 37 } });
    expect(finding.message).toMatch(/37 duplicate/);
    expect(JSON.stringify(finding)).not.toMatch(/user\d+@example\.com/); // masked without --show-values

    expect(await state()).toEqual(before);
    expect(existsSync(store) ? await readdir(store, { recursive: true }) : []).toEqual(storeBefore);

    // The same in text, from `lifeboat plan`, with the values when asked for.
    const plan = await lifeboat(['plan', 'prisma', '--show-values']);
    expect(plan.exitCode, plan.stderr).toBe(38);
    expect(plan.stdout).toMatch(/ERROR\s+unique-duplicates: .*37 duplicate/);
    expect(plan.stdout).toMatch(/user\d+@example\.com/);

    // Allowed in the config, the finding is reported and no longer blocks the plan.
    await writeFile(join(project.dir, 'lifeboat.config.json'), JSON.stringify({ plan: { allow: ['unique-duplicates@20240102000000_unique_email'] } }));
    const allowed = await lifeboat(['plan', 'prisma', '--json']);
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect(json(allowed).migrations[0].statements[0].findings.find((f: { rule: string }) => f.rule === 'unique-duplicates')).toMatchObject({ allowed: 'config' });
  });

  it('a safe migration set: no blocking finding, and the deploy goes on with the plan in its report', async () => {
    const { project, lifeboat } = await setup();
    await project.addMigration(
      '20240103000000_profile',
      'ALTER TABLE "User" ADD COLUMN "bio" text;\nCREATE TABLE "Profile" (id serial PRIMARY KEY, "userId" integer NOT NULL REFERENCES "User"(id));\n',
    );
    const plan = await lifeboat(['plan', 'prisma', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const document = json(plan);
    // Only adds: nothing of the app's is at risk, only the rows Prisma records beside each migration.
    expect(document).toMatchObject({ blocking: false, atRisk: { tables: ['public._prisma_migrations'] }, inPlace: true });
    const errors = document.migrations
      .flatMap((m: { statements: Array<{ findings: Array<{ severity: string }> }> }) => m.statements.flatMap((s) => s.findings))
      .filter((f: { severity: string }) => f.severity === 'error');
    expect(errors).toEqual([]);

    const deploy = await lifeboat(['--json', 'prisma', 'migrate', 'deploy']);
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(json(deploy)).toMatchObject({ outcome: 'applied', plan: { blocking: false } });
  });
});

/** The schema-only rehearsal in front of a Knex deploy (its migrations are code: their SQL is what they send). */
describe('know before you deploy (Knex)', () => {
  const dbs = databases();
  const projects: KnexProject[] = [];
  afterAll(async () => {
    for (const p of projects) await p.remove();
  });

  it("a typo in a table name: the rehearsal refuses the deploy before any snapshot, in the server's words; nothing is written", async () => {
    const db = await dbs.create('plank');
    const project = await makeKnexProject(db.url);
    projects.push(project);
    await project.addMigration('20240101000000_init', "  await knex.schema.createTable('customers', (t) => { t.increments('id'); t.text('name'); });");
    const first = await project.lifeboat(['migrate:latest']);
    expect(first.exitCode, first.stderr).toBe(0);
    await project.addMigration('20240102000000_typo', "  await knex.schema.alterTable('custmers', (t) => t.text('email'));");
    const state = async () => ({ schema: await schemaDump(db.url), data: await dataDigest(db.url) });
    const before = await state();
    const snapshotsBefore = json(await project.run(['list', '--json'])).snapshots;

    const result = await project.lifeboat(['migrate:latest']);
    expect(result.exitCode, result.stderr).toBe(39);
    const report = json(result);
    expect(report.outcome).toBe('rehearsal-failed');
    expect(report.snapshot).toBeUndefined();
    expect(report.plan.rehearsal).toMatchObject({ ran: true, ok: false, migration: '20240102000000_typo.cjs' });
    expect(report.plan.rehearsal.error).toMatch(/relation "custmers" does not exist/);

    expect(await state()).toEqual(before);
    expect(json(await project.run(['list', '--json'])).snapshots).toEqual(snapshotsBefore);
    expect(await databaseNames(`${db.name}__lifeboat_rehearsal_%`)).toEqual([]);
  });
});
