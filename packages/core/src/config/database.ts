import { display, sameDatabase } from '../db/connection-parts.js';
import { LifeboatError } from '../errors.js';

/** Which of the rule's sources named the database. */
export type DatabaseOrigin = 'flag' | 'config' | 'tool' | 'environment';

/** The database a command works on, and where it came from. */
export interface ChosenDatabase {
  url: string;
  origin: DatabaseOrigin;
  /** For messages: "--database-url", "databaseUrl in lifeboat.config.ts", "the \"development\" connection in knexfile.js", "DATABASE_URL". */
  source: string;
}

/** What a migrate tool's own configuration in the project names, read as the tool reads it. */
export interface ToolDatabase {
  /** "knex", "prisma", "drizzle-kit". */
  tool: string;
  /** undefined: the configuration names none (it reads a variable that is not set). */
  url: string | undefined;
  /** For messages: "the \"development\" connection in /app/knexfile.js". */
  source: string;
  /** The tool's own bookkeeping tables (`schema.table`): never data, never proposed as a data class. */
  bookkeeping: string[];
}

/** What Lifeboat itself was given, before any tool is asked. */
export interface DatabaseInputs {
  /** --database-url */
  flag?: string | undefined;
  /** `databaseUrl` in lifeboat.config, and the file it is in. */
  config?: { url: string | undefined; file: string | undefined } | undefined;
  /** The environment, for DATABASE_URL. */
  env: NodeJS.ProcessEnv;
}

const given = (url: string | undefined): url is string => url !== undefined && url.trim() !== '';

/**
 * The one rule that decides the database, for every command, deploy and recovery alike:
 * `--database-url`, then `databaseUrl` in lifeboat.config, then what the migrate tool's
 * own configuration in the project names (the knexfile, drizzle.config.*, Prisma's config
 * and schema), then `DATABASE_URL`. Tools whose configurations name different databases
 * leave it undecided: that is refused rather than guessed.
 */
export function chooseDatabase(inputs: DatabaseInputs, tools: ToolDatabase[]): ChosenDatabase | undefined {
  if (given(inputs.flag)) return { url: inputs.flag, origin: 'flag', source: '--database-url' };
  const config = inputs.config;
  if (config && given(config.url)) return { url: config.url, origin: 'config', source: `databaseUrl in ${config.file ?? 'lifeboat.config'}` };
  const named = tools.filter((t): t is ToolDatabase & { url: string } => given(t.url));
  const first = named[0];
  if (first) {
    const other = named.find((t) => !sameDatabase(t.url, first.url));
    if (other) {
      throw new LifeboatError('URL_INVALID', `The project's migrate tools name different databases: ${first.source} names ${display(first.url)}, ${other.source} names ${display(other.url)}.`, {
        hint: 'Say which one Lifeboat works on: --database-url, or databaseUrl in lifeboat.config.',
      });
    }
    return { url: first.url, origin: 'tool', source: first.source };
  }
  if (given(inputs.env.DATABASE_URL)) return { url: inputs.env.DATABASE_URL, origin: 'environment', source: 'DATABASE_URL' };
  return undefined;
}

/**
 * The same rule when the tools' configurations cost something to read (loading adapter
 * packages and config files): they are asked only when neither `--database-url` nor
 * lifeboat.config names the database.
 */
export async function resolveDatabase(inputs: DatabaseInputs, tools: () => Promise<ToolDatabase[]>): Promise<ChosenDatabase | undefined> {
  const early = chooseDatabase({ ...inputs, env: {} }, []);
  if (early) return early;
  return chooseDatabase(inputs, await tools());
}

/**
 * A tool that would migrate another database than the one Lifeboat protects is refused,
 * naming both (passwords masked).
 */
export function anotherDatabaseError(chosen: ChosenDatabase, tool: { tool: string; url: string | undefined; source: string }, hint?: string): LifeboatError {
  return new LifeboatError(
    'URL_INVALID',
    `${chosen.source} names ${display(chosen.url)}, but ${tool.source} names ${tool.url ? display(tool.url) : 'no database'}: ${tool.tool} would migrate that one, not the one Lifeboat protects.`,
    { hint: hint ?? `Make them agree (let the ${tool.tool} configuration read DATABASE_URL, and set it), or drop ${chosen.source}.` },
  );
}

/** Refuse unless `actual` (what the tool or the app's connection will migrate) is the chosen database. */
export function assertSameDatabase(chosen: ChosenDatabase, actual: { tool: string; url: string; source: string }, hint?: string): void {
  if (!sameDatabase(chosen.url, actual.url)) throw anotherDatabaseError(chosen, actual, hint);
}
