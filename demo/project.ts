/**
 * The shop app (demo/shop/, a Knex project) as a working copy in demo/.tmp/shop-XXXX/:
 * inside the repo, so Node resolves knex, pg and @lifeboat/core from the repo's
 * node_modules as it would from a user's project. Migrations from demo/shop/upcoming/
 * are added one at a time, as a developer would write them.
 */
import { cp, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeployReport } from '@lifeboat/core';
import { execa } from 'execa';

const demoDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = dirname(demoDir);
export const cliPath = join(repoRoot, 'packages/core/dist/cli.js');
const shopDir = join(demoDir, 'shop');
const upcomingDir = join(shopDir, 'upcoming');
const tmpDir = join(demoDir, '.tmp');

export interface ShopProject {
  /** The working copy, absolute. */
  dir: string;
  /** The working copy, relative to the repo (for output). */
  path: string;
  /** Lifeboat's store: .lifeboat/ beside lifeboat.config.js. */
  store: string;
  /** Copy demo/shop/upcoming/<file> into migrations/. */
  addMigration(file: string): Promise<void>;
  /** The migration's lines that contain `text`, trimmed. */
  linesOf(file: string, text: string): Promise<string[]>;
  /** Replace `from` by `to` in the one line of migrations/<file> that contains `where`; returns that line before and after. */
  editMigration(file: string, where: string, from: string, to: string): Promise<{ before: string; after: string }>;
  /** The project's own knex CLI, as the app ran it before Lifeboat. */
  knex(args: string[]): Promise<void>;
  /** `lifeboat --json knex <args>` with the real CLI: the deploy's report, whatever its exit code. */
  lifeboatKnex(args: string[]): Promise<DeployReport>;
  remove(): Promise<void>;
}

export async function copyShop(databaseUrl: string): Promise<ShopProject> {
  await mkdir(tmpDir, { recursive: true });
  const dir = await mkdtemp(join(tmpDir, 'shop-'));
  await cp(shopDir, dir, { recursive: true, filter: (source) => source !== upcomingDir });
  // knex's CLI would run the knexfile's NODE_ENV environment; vitest sets NODE_ENV=test.
  const env = { DATABASE_URL: databaseUrl, NODE_ENV: 'development' };
  const migration = (file: string) => join(dir, 'migrations', file);
  return {
    dir,
    path: relative(repoRoot, dir),
    store: join(dir, '.lifeboat'),
    async addMigration(file) {
      await cp(join(upcomingDir, file), migration(file));
    },
    async linesOf(file, text) {
      return (await readFile(migration(file), 'utf8'))
        .split('\n')
        .filter((line) => line.includes(text))
        .map((line) => line.trim());
    },
    async editMigration(file, where, from, to) {
      const lines = (await readFile(migration(file), 'utf8')).split('\n');
      const at = lines.findIndex((line) => line.includes(where) && line.includes(from));
      if (at < 0 || lines.findIndex((line, i) => i > at && line.includes(where)) >= 0) {
        throw new Error(`expected exactly one line with ${where} and ${from} in ${file}`);
      }
      const before = lines[at]!;
      lines[at] = before.replace(from, to);
      await writeFile(migration(file), lines.join('\n'));
      return { before: before.trim(), after: lines[at]!.trim() };
    },
    async knex(args) {
      const result = await execa('knex', args, { cwd: dir, preferLocal: true, env, reject: false, stdin: 'ignore' });
      if (result.exitCode !== 0) {
        const why = String(result.stderr).trim().split('\n')[0] || `exit code ${result.exitCode}`;
        throw new Error(`knex ${args.join(' ')} failed: ${why}`);
      }
    },
    async lifeboatKnex(args) {
      const result = await execa(process.execPath, [cliPath, '--json', 'knex', ...args], { cwd: dir, env, reject: false, stdin: 'ignore' });
      let doc: Record<string, unknown> | undefined;
      try {
        doc = JSON.parse(String(result.stdout)) as Record<string, unknown>;
      } catch {
        doc = undefined;
      }
      if (!doc || typeof doc.outcome !== 'string') {
        const error = doc?.error as { code?: string; message?: string } | undefined;
        const why = error?.message ?? (String(result.stderr).trim().split('\n').at(-1) || `exit code ${result.exitCode}`);
        throw new Error(`lifeboat knex ${args.join(' ')} failed${error?.code ? ` (${error.code})` : ''}: ${why}`);
      }
      return doc as unknown as DeployReport;
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
      await rmdir(tmpDir).catch(() => {}); // only when no other run's copy is in it
    },
  };
}
