import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { type CliResult, dropStoreClones, repoRoot } from './db.js';

/** The Prisma project every copy starts from (its files say why each odd setting is there). */
export const prismaFixtureDir = join(repoRoot, 'test/fixtures/prisma');

/**
 * Where the copies go: inside the repo (git ignores every `.tmp/`), not in the OS temp folder.
 * The copy's prisma.config.ts imports `prisma/config`, `@prisma/adapter-pg` and `pg`, and Node
 * resolves those by walking up from the copy's folder to the repo's node_modules. So does
 * `npx prisma` (the nearest node_modules/.bin is the repo's), which is how `lifeboat prisma …`
 * run in the copy finds the CLI. A copy under /tmp would need a node_modules symlink and a
 * package.json, and then `npx prisma` would go to the registry for the latest Prisma.
 */
export const prismaProjectsRoot = join(repoRoot, 'test/.tmp');

const requireFromRoot = createRequire(join(repoRoot, 'package.json'));

/** The root devDependency's CLI entry (`prisma/build/index.js`), run with this Node. */
export const prismaCliPath: string = (() => {
  const manifest = requireFromRoot.resolve('prisma/package.json');
  const { bin } = requireFromRoot(manifest) as { bin: { prisma: string } };
  return join(dirname(manifest), bin.prisma);
})();

export interface PrismaProject {
  /** The project folder (prisma.config.ts, prisma/schema.prisma, prisma/migrations/). */
  dir: string;
  /** Write prisma/migrations/<name>/migration.sql. */
  addMigration(name: string, sql: string): Promise<void>;
  /** `prisma <args>` in `dir` with DATABASE_URL set; never throws on a non-zero exit. */
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** Delete the folder. */
  remove(): Promise<void>;
}

export interface PrismaProjectOptions {
  databaseUrl: string;
  migrations: Array<{ name: string; sql: string }>;
  /**
   * false (default): each migration.sql goes to PostgreSQL whole, as Prisma 6's native schema
   * engine sends it (one implicit transaction). true: statement by statement, split on every ";",
   * which is what @prisma/adapter-pg 6.19 does on its own.
   */
  splitScripts?: boolean;
}

/** A fresh copy of the fixture Prisma project, with these migrations in it. */
export async function makePrismaProject(options: PrismaProjectOptions): Promise<PrismaProject> {
  await mkdir(prismaProjectsRoot, { recursive: true });
  const dir = await mkdtemp(join(prismaProjectsRoot, 'prisma-'));
  await cp(prismaFixtureDir, dir, { recursive: true });
  const fixtureOptions = JSON.parse(await readFile(join(dir, 'fixture.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'fixture.json'), `${JSON.stringify({ ...fixtureOptions, splitScripts: options.splitScripts ?? false })}\n`);

  const migrationsDir = join(dir, 'prisma/migrations');
  await mkdir(migrationsDir, { recursive: true });
  await writeFile(join(migrationsDir, 'migration_lock.toml'), 'provider = "postgresql"\n');

  const project: PrismaProject = {
    dir,
    async addMigration(name, sql) {
      await mkdir(join(migrationsDir, name), { recursive: true });
      await writeFile(join(migrationsDir, name, 'migration.sql'), sql);
    },
    async run(args, env = {}) {
      const result = await execa(process.execPath, [prismaCliPath, ...args], {
        cwd: dir,
        env: {
          DATABASE_URL: options.databaseUrl,
          // No telemetry ping and no update check: both would only try the network.
          CHECKPOINT_DISABLE: '1',
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
          ...env,
        },
        reject: false,
        stdin: 'ignore',
      });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    async remove() {
      await dropStoreClones(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
  for (const { name, sql } of options.migrations) await project.addMigration(name, sql);
  return project;
}
