/**
 * Load a user's JS or TS module (lifeboat.config.ts, a knexfile, drizzle.config.ts)
 * without a build step, the way their own tools do: the default export, else the module.
 */
export async function importFile(file: string): Promise<unknown> {
  // Loaded on first use: most commands never read a TypeScript file, and jiti costs start-up time.
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: true });
  return jiti.import(file, { default: true });
}
