import { readFile } from 'node:fs/promises';

/**
 * Load a user's JS or TS module (lifeboat.config.ts, a knexfile, drizzle.config.ts)
 * without a build step, the way their own tools do: the default export, else the module.
 *
 * Every call runs the file afresh, CommonJS and ESM alike: a config is read again with
 * other environment variables (DATABASE_URL pointed at the database Lifeboat protects),
 * and Node's own loaders would hand back the module they cached the first time. So the
 * source goes through jiti's transform and runs as a new module each time.
 */
export async function importFile(file: string): Promise<unknown> {
  const source = await readFile(file, 'utf8');
  if (file.endsWith('.json')) return JSON.parse(source) as unknown;
  // Loaded on first use: most commands never read a config file, and jiti costs start-up time.
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: true });
  const module = (await jiti.evalModule(source, { filename: file, id: file, async: true, forceTranspile: true })) as { default?: unknown } | undefined;
  return module?.default ?? module;
}
