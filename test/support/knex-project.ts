import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createKnexProject } from '../../dev/knex-project.js';
import { type CliResult, cliPath, repoRoot } from './db.js';

/**
 * A Knex project: a knexfile reading DATABASE_URL and a migrations folder. It lives in
 * test/.tmp/ inside the repo, so that Node resolves knex, pg and @lifeboat/knex from the
 * repo's node_modules as it would from a user's project.
 */
export interface KnexProject {
  dir: string;
  /** Write migrations/<name>.cjs with these up/down bodies (and `config`, for transaction: false). */
  addMigration(name: string, up: string, options?: { transaction?: boolean }): Promise<void>;
  /** `lifeboat [flags] knex <args>` in the project, with --json. */
  lifeboat(args: string[], flags?: string[]): Promise<CliResult>;
  remove(): Promise<void>;
}

export async function makeKnexProject(databaseUrl: string): Promise<KnexProject> {
  const dir = await createKnexProject(join(repoRoot, 'test/.tmp'));
  return {
    dir,
    async addMigration(name, up, options = {}) {
      const config = options.transaction === false ? 'exports.config = { transaction: false };\n' : '';
      await writeFile(join(dir, 'migrations', `${name}.cjs`), `${config}exports.up = async (knex) => {\n${up}\n};\nexports.down = async () => {};\n`);
    },
    async lifeboat(args, flags = []) {
      const result = await execa(process.execPath, [cliPath, ...flags, '--json', 'knex', ...args], {
        cwd: dir,
        // vitest sets NODE_ENV=test; a user's shell runs the knexfile's development environment.
        env: { DATABASE_URL: databaseUrl, NODE_ENV: 'development' },
        reject: false,
        stdin: 'ignore',
      });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
