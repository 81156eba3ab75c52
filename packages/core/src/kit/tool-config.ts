import { importFile } from '../config/import-file.js';
import { LifeboatError } from '../errors.js';

export interface ToolConfigOptions {
  /** The environment the file runs with, as process.env; default: Lifeboat's own. */
  env?: NodeJS.ProcessEnv;
  /** A default export that is a function is called, as knex does with a knexfile's. */
  callExport?: boolean;
  /** For the error: "The knexfile /app/knexfile.js"; default: the file. */
  describe?: string;
  hint?: string;
}

/**
 * A migrate tool's configuration file (a knexfile, drizzle.config.ts), run afresh as the
 * tool runs it: with `env` as process.env for the time it runs (DATABASE_URL pointed at the
 * database Lifeboat protects). Returns its export and that environment as the file left it:
 * a config may load .env files into it (dotenv), which stay out of Lifeboat's own.
 * A file that throws is `CONFIG_INVALID`, with the first line of its error.
 */
export async function loadToolConfig(file: string, options: ToolConfigOptions = {}): Promise<{ exported: unknown; envAfter: NodeJS.ProcessEnv }> {
  const real = process.env;
  const envAfter = { ...(options.env ?? real) };
  process.env = envAfter;
  try {
    let exported = await importFile(file);
    if (options.callExport && typeof exported === 'function') exported = await (exported as () => unknown)();
    return { exported, envAfter };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new LifeboatError('CONFIG_INVALID', `${options.describe ?? file} could not be loaded: ${message}`, { ...(options.hint ? { hint: options.hint } : {}), cause: error });
  } finally {
    process.env = real;
  }
}
