import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LifeboatError } from '../errors.js';
import type { CliAdapter } from '../guard/adapter.js';

/** The tools `lifeboat <tool> …` wraps, and the adapter package that knows each. */
export const ADAPTER_PACKAGES: Record<string, string> = {
  prisma: '@lifeboat/prisma',
  knex: '@lifeboat/knex',
  'drizzle-kit': '@lifeboat/drizzle',
};

/** The adapter package from the user's project (where their ORM is), else beside Lifeboat. */
export async function loadCliAdapter(tool: string, cwd: string): Promise<CliAdapter> {
  const name = ADAPTER_PACKAGES[tool]!;
  let module: { cliAdapter?: CliAdapter };
  try {
    const path = createRequire(join(cwd, 'package.json')).resolve(name);
    module = (await import(pathToFileURL(path).href)) as { cliAdapter?: CliAdapter };
  } catch {
    try {
      module = (await import(name)) as { cliAdapter?: CliAdapter };
    } catch {
      throw new LifeboatError('TOOL_NOT_FOUND', `\`lifeboat ${tool}\` needs the adapter package ${name}, which is not installed.`, {
        hint: `Install it next to your ${tool}: npm i -D ${name}`,
      });
    }
  }
  if (!module.cliAdapter) throw new LifeboatError('INTERNAL', `${name} does not export cliAdapter.`);
  return module.cliAdapter;
}
