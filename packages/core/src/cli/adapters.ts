import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ToolDatabase } from '../config/database.js';
import { LifeboatError } from '../errors.js';
import type { CliAdapter } from '../guard/adapter.js';

/** The tools `lifeboat <tool> …` wraps, and the adapter package that knows each. */
export const ADAPTER_PACKAGES: Record<string, string> = {
  prisma: '@lifeboat/prisma',
  knex: '@lifeboat/knex',
  'drizzle-kit': '@lifeboat/drizzle',
};

type AdapterModule = { cliAdapter?: CliAdapter };

/** The adapter package as the user's project resolves it (where their ORM is), else beside Lifeboat; undefined when neither has it. */
async function importAdapter(name: string, cwd: string): Promise<AdapterModule | undefined> {
  try {
    const path = createRequire(join(cwd, 'package.json')).resolve(name);
    return (await import(pathToFileURL(path).href)) as AdapterModule;
  } catch {
    try {
      return (await import(name)) as AdapterModule;
    } catch {
      return undefined;
    }
  }
}

export async function loadCliAdapter(tool: string, cwd: string): Promise<CliAdapter> {
  const name = ADAPTER_PACKAGES[tool]!;
  const module = await importAdapter(name, cwd);
  if (!module) {
    throw new LifeboatError('TOOL_NOT_FOUND', `\`lifeboat ${tool}\` needs the adapter package ${name}, which is not installed.`, {
      hint: `Install it next to your ${tool}: npm i -D ${name}`,
    });
  }
  if (!module.cliAdapter) throw new LifeboatError('INTERNAL', `${name} does not export cliAdapter.`);
  return module.cliAdapter;
}

/**
 * What the configurations of the project's migrate tools name, asked of each installed
 * adapter package (a package that is not installed has nothing to say); a tool with no
 * configuration in `cwd` is left out.
 */
export async function toolDatabases(cwd: string, env: NodeJS.ProcessEnv): Promise<ToolDatabase[]> {
  const found: ToolDatabase[] = [];
  for (const name of Object.values(ADAPTER_PACKAGES)) {
    const adapter = (await importAdapter(name, cwd))?.cliAdapter;
    const database = await adapter?.configuredDatabase({ cwd, env });
    if (database) found.push(database);
  }
  return found;
}
