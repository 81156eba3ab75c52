import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { type CliResult, dropStoreClones, repoRoot } from './db.js';

/** The drizzle project every copy starts from: schema.ts, drizzle.config.ts, drizzle/ (init and seed). */
export const drizzleFixtureDir = join(repoRoot, 'test/fixtures/drizzle');

/**
 * Inside the repo (git ignores `.tmp/`), so that the copy's drizzle.config.ts finds drizzle-kit,
 * and `lifeboat drizzle-kit …` run in it finds drizzle-kit, drizzle-orm, pg and @lifeboat/drizzle,
 * by walking up to the repo's node_modules. See test/support/prisma-project.ts.
 */
const projectsRoot = join(repoRoot, 'test/.tmp');

/** The root devDependency's CLI entry (drizzle-kit/bin.cjs): its package.json is not exported, its main is beside it. */
export const drizzleKitPath = join(dirname(createRequire(join(repoRoot, 'package.json')).resolve('drizzle-kit')), 'bin.cjs');

interface Journal {
  entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }>;
}

export interface DrizzleProject {
  dir: string;
  /** `out`: drizzle/ in the project. */
  migrationsDir: string;
  /** A migration as drizzle-kit generate writes one: `<idx>_<name>.sql` and a journal entry 1 s after the last. Returns its tag. */
  addMigration(name: string, sql: string): Promise<string>;
  /** Replace the SQL of a migration already in the journal. */
  rewriteMigration(tag: string, sql: string): Promise<void>;
  /** drizzle.config.ts with these keys added (TypeScript source, e.g. "migrations: { table: 'x' },"). */
  writeConfig(extraKeys: string): Promise<void>;
  /** The real `drizzle-kit <args>` in `dir` with DATABASE_URL set; never throws on a non-zero exit. */
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  remove(): Promise<void>;
}

/** A fresh copy of the fixture drizzle project, pointed at `databaseUrl` through DATABASE_URL. */
export async function makeDrizzleProject(options: { databaseUrl: string }): Promise<DrizzleProject> {
  await mkdir(projectsRoot, { recursive: true });
  const dir = await mkdtemp(join(projectsRoot, 'drizzle-'));
  await cp(drizzleFixtureDir, dir, { recursive: true });
  const migrationsDir = join(dir, 'drizzle');
  const journalFile = join(migrationsDir, 'meta/_journal.json');
  const readJournal = async () => JSON.parse(await readFile(journalFile, 'utf8')) as Journal;

  return {
    dir,
    migrationsDir,
    async addMigration(name, sql) {
      const journal = await readJournal();
      const last = journal.entries.at(-1);
      const idx = (last?.idx ?? -1) + 1;
      const tag = `${String(idx).padStart(4, '0')}_${name}`;
      await writeFile(join(migrationsDir, `${tag}.sql`), sql);
      journal.entries.push({ idx, version: '7', when: (last?.when ?? 1_700_000_000_000) + 1000, tag, breakpoints: true });
      await writeFile(journalFile, `${JSON.stringify(journal, null, 2)}\n`);
      return tag;
    },
    async rewriteMigration(tag, sql) {
      await writeFile(join(migrationsDir, `${tag}.sql`), sql);
    },
    async writeConfig(extraKeys) {
      const config = await readFile(join(drizzleFixtureDir, 'drizzle.config.ts'), 'utf8');
      await writeFile(join(dir, 'drizzle.config.ts'), config.replace("out: './drizzle',", `out: './drizzle',\n  ${extraKeys}`));
    },
    async run(args, env = {}) {
      const result = await execa(process.execPath, [drizzleKitPath, ...args], { cwd: dir, env: { DATABASE_URL: options.databaseUrl, ...env }, reject: false, stdin: 'ignore' });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    async remove() {
      await dropStoreClones(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
