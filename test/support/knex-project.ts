import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createKnexProject } from '../../dev/knex-project.js';
import { type CliResult, cliPath, dropStoreClones, repoRoot } from './db.js';

/**
 * A Knex project: a knexfile reading DATABASE_URL and a migrations folder. It lives in
 * test/.tmp/ inside the repo, so that Node resolves knex, pg and @lifeboat/knex from the
 * repo's node_modules as it would from a user's project.
 */
export interface KnexProject {
  dir: string;
  /** Write migrations/<name>.cjs with these up/down bodies (and `config`, for transaction: false). */
  addMigration(name: string, up: string, options?: { transaction?: boolean; down?: string }): Promise<void>;
  /** `lifeboat [flags] knex <args>` in the project, with --json. */
  lifeboat(args: string[], flags?: string[]): Promise<CliResult>;
  /** `lifeboat <args>` in the project (a recovery command), with the same environment and `extraEnv` (a failpoint). */
  run(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  remove(): Promise<void>;
}

/** `databaseUrl`: DATABASE_URL for every command; undefined runs them without it (the database only in the knexfile). */
export async function makeKnexProject(databaseUrl: string | undefined): Promise<KnexProject> {
  const dir = await createKnexProject(join(repoRoot, 'test/.tmp'));
  // vitest sets NODE_ENV=test; a user's shell runs the knexfile's development environment.
  const env = { DATABASE_URL: databaseUrl, NODE_ENV: 'development' };
  const run = async (args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> => {
    const result = await execa(process.execPath, [cliPath, ...args], { cwd: dir, env: { ...env, ...extraEnv }, reject: false, stdin: 'ignore' });
    return { exitCode: result.exitCode ?? -1, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  return {
    dir,
    async addMigration(name, up, options = {}) {
      const config = options.transaction === false ? 'exports.config = { transaction: false };\n' : '';
      await writeFile(join(dir, 'migrations', `${name}.cjs`), `${config}exports.up = async (knex) => {\n${up}\n};\nexports.down = async (knex) => {\n${options.down ?? ''}\n};\n`);
    },
    lifeboat: (args, flags = []) => run([...flags, '--json', 'knex', ...args]),
    run,
    async remove() {
      await dropStoreClones(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
