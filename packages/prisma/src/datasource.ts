import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseEnv } from 'node:util';
import { LifeboatError } from '@lifeboat/core';
import { anotherDatabaseError, type ChosenDatabase, sameDatabase, type ToolDatabase } from '@lifeboat/core/adapter';
import type { PrismaProject } from './project.js';

/** A `url` or `directUrl` in the schema: a literal, or `env("NAME")`. */
type SchemaValue = { env: string } | { literal: string };

export interface ResolvedDatabase {
  /** The database prisma will work on, chosen by Lifeboat's rule. */
  database: ChosenDatabase;
  /** Environment for the prisma process, so that it works on the database Lifeboat protects. */
  env: Record<string, string>;
}

/** What Prisma's config and schema name, and how prisma can be pointed elsewhere. */
export interface PrismaToolDatabase extends ToolDatabase {
  /** The variables the schema's datasource reads (`env("…")`): setting them points prisma at another database. */
  variables: string[];
  /** Values read from a .env file, which prisma reads too. */
  fromFile: Record<string, string>;
}

/** The datasource block's `url` and `directUrl` (Prisma 6 keeps them in the schema). */
export function readDatasource(schemaText: string): { url?: SchemaValue; directUrl?: SchemaValue } {
  const text = schemaText.replace(/\/\/.*$/gm, '');
  const block = /datasource\s+\w+\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
  const value = (key: string): SchemaValue | undefined => {
    const match = new RegExp(`^\\s*${key}\\s*=\\s*(?:env\\(\\s*"([^"]+)"\\s*\\)|"([^"]*)")`, 'm').exec(block);
    if (!match) return undefined;
    return match[1] !== undefined ? { env: match[1] } : { literal: match[2]! };
  };
  const url = value('url');
  const directUrl = value('directUrl');
  return { ...(url ? { url } : {}), ...(directUrl ? { directUrl } : {}) };
}

/**
 * What the project names, resolved as Prisma does: the config file's datasource (Prisma
 * 7, or 6 with engine "classic"), else the schema's `directUrl` or `url`, reading
 * `env(...)` from the environment, then from `.env` (Prisma 6 loads .env only when there
 * is no prisma.config file).
 */
export function prismaToolDatabase(project: PrismaProject, processEnv: NodeJS.ProcessEnv): PrismaToolDatabase {
  const answer = (url: string | undefined, source: string, more: Partial<PrismaToolDatabase> = {}): PrismaToolDatabase => ({
    tool: 'prisma',
    url,
    source,
    bookkeeping: [`${migrationsSchema(url ?? '')}._prisma_migrations`],
    variables: [],
    fromFile: {},
    ...more,
  });
  const config = project.config;
  if (config && (config.url || config.directUrl)) {
    return answer(config.directUrl ?? config.url, `${config.directUrl ? 'datasource.directUrl' : 'datasource.url'} in ${config.file}`);
  }
  const datasource = readDatasource(readFileSync(project.schemaFile, 'utf8'));
  const chosen = datasource.directUrl ?? datasource.url;
  const key = datasource.directUrl ? 'directUrl' : 'url';
  if (!chosen) return answer(undefined, `no url in ${project.schemaFile}`);
  if ('literal' in chosen) return answer(chosen.literal, `datasource ${key} in ${project.schemaFile}`);
  // env("NAME"): every variable the datasource names gets the URL Lifeboat protects.
  const variables = [datasource.directUrl, datasource.url].flatMap((v) => (v && 'env' in v ? [v.env] : []));
  const read = `read by datasource ${key} in ${project.schemaFile}`;
  if (processEnv[chosen.env]) return answer(processEnv[chosen.env], `${chosen.env} (${read})`, { variables });
  if (!config) {
    for (const file of dotenvFiles(project)) {
      const values = parseEnv(readFileSync(file, 'utf8'));
      const value = values[chosen.env];
      if (value) return answer(value, `${chosen.env} in ${file} (${read})`, { variables, fromFile: { [chosen.env]: value } });
    }
  }
  return answer(undefined, `${chosen.env} (${read}, not set)`, { variables });
}

/**
 * The database prisma will work on, by Lifeboat's rule (`choose`) over what the project
 * names. When the rule chose another source (--database-url, lifeboat.config, DATABASE_URL
 * for a schema whose variable is not set), prisma is pointed at it through the variables
 * the datasource reads; where it cannot be (a URL fixed in a file), it is refused rather
 * than migrate one database and snapshot another.
 */
export function resolveDatabase(project: PrismaProject, processEnv: NodeJS.ProcessEnv, choose: (tool: ToolDatabase) => ChosenDatabase | undefined): ResolvedDatabase {
  const tool = prismaToolDatabase(project, processEnv);
  const database = choose(tool);
  if (!database) {
    throw new LifeboatError('URL_INVALID', `No database: ${tool.source}, and none was given.`, {
      hint: 'Set the variable the datasource reads (DATABASE_URL), or pass --database-url before "prisma".',
    });
  }
  if (database.origin === 'tool') return { database, env: tool.fromFile };
  if (tool.variables.length > 0) {
    const passed = tool.variables.filter((n) => !(database.origin === 'environment' && n === 'DATABASE_URL'));
    return {
      database: { ...database, source: passed.length > 0 ? `${database.source}, also given to prisma as ${passed.join(' and ')}` : database.source },
      env: Object.fromEntries(tool.variables.map((n) => [n, database.url])),
    };
  }
  // A schema with no url (prisma reads none): the chosen database is the only one there is.
  if (tool.url === undefined || sameDatabase(tool.url, database.url)) return { database, env: {} };
  throw anotherDatabaseError(database, tool, `Make them agree (a datasource url read from env("DATABASE_URL"), and DATABASE_URL set), or drop ${database.source}.`);
}

/** The .env files Prisma 6 reads: the project's, then the one beside the schema. */
function dotenvFiles(project: PrismaProject): string[] {
  return [...new Set([join(project.cwd, '.env'), join(dirname(project.schemaFile), '.env')])].filter((f) => existsSync(f));
}

/** The schema `prisma migrate` keeps `_prisma_migrations` in: the URL's `?schema=`, else public. */
export function migrationsSchema(url: string): string {
  try {
    return new URL(url).searchParams.get('schema') || 'public';
  } catch {
    return 'public';
  }
}
