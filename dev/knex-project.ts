import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A Knex project folder under `root` (inside the repo, so Node resolves knex, pg and
 * @lifeboat/knex from its node_modules as from a user's project): a knexfile reading
 * DATABASE_URL for its development environment, and an empty migrations folder.
 */
export async function createKnexProject(root: string): Promise<string> {
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, 'knex-'));
  await mkdir(join(dir, 'migrations'));
  await writeFile(
    join(dir, 'knexfile.js'), // ESM: the repo's package.json says "type": "module"; knex's CLI never looks for knexfile.cjs
    `export default {\n  development: { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: './migrations' } },\n};\n`,
  );
  return dir;
}
