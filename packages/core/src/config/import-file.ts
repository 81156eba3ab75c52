import { createJiti } from 'jiti';

/**
 * Load a user's JS or TS module (lifeboat.config.ts, a knexfile, drizzle.config.ts)
 * without a build step, the way their own tools do: the default export, else the module.
 */
export async function importFile(file: string): Promise<unknown> {
  const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: true });
  return jiti.import(file, { default: true });
}
