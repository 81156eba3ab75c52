import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseEnv } from 'node:util';
import { LifeboatError } from '@lifeboat/core';
import type { PrismaProject } from './project.js';

/** A `url` or `directUrl` in the schema: a literal, or `env("NAME")`. */
type SchemaValue = { env: string } | { literal: string };

export interface ResolvedDatabase {
  /** The URL `prisma migrate deploy` will use. */
  url: string | undefined;
  /** Where it came from, for messages. */
  source: string;
  /** Environment for the prisma process, so that it migrates the database Lifeboat protects. */
  env: Record<string, string>;
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
 * The database `prisma migrate deploy` will migrate, resolved as Prisma does: the
 * config file's datasource (Prisma 7, or 6 with engine "classic"), else the schema's
 * `directUrl` or `url`, reading `env(...)` from the environment, then from `.env`
 * (Prisma 6 loads .env only when there is no prisma.config file).
 *
 * `override` (Lifeboat's --database-url / config / DATABASE_URL) wins, and the prisma
 * process is pointed at it too; where that is impossible (a literal URL in a file),
 * a different override is refused rather than migrate one database and snapshot another.
 */
export function resolveDatabase(project: PrismaProject, override: string | undefined, processEnv: NodeJS.ProcessEnv, overrideSource = 'the URL given to Lifeboat'): ResolvedDatabase {
  const config = project.config;
  if (config && (config.url || config.directUrl)) {
    const url = config.directUrl ?? config.url!;
    const source = `${config.directUrl ? 'datasource.directUrl' : 'datasource.url'} in ${config.file}`;
    if (override && override !== url) {
      throw new LifeboatError('URL_INVALID', `The database given to Lifeboat is not the one ${source} names; prisma would migrate the other one.`, {
        hint: 'Make them agree (for example datasource.url = env("DATABASE_URL") and set DATABASE_URL), or drop --database-url.',
      });
    }
    return { url, source, env: {} };
  }

  const datasource = readDatasource(readFileSync(project.schemaFile, 'utf8'));
  const chosen = datasource.directUrl ?? datasource.url;
  const key = datasource.directUrl ? 'directUrl' : 'url';
  if (!chosen) return { url: override, source: `no url in ${project.schemaFile}`, env: {} };
  if ('literal' in chosen) {
    if (override && override !== chosen.literal) {
      throw new LifeboatError('URL_INVALID', `The schema's datasource ${key} is a fixed URL, not the database given to Lifeboat; prisma would migrate the other one.`, {
        hint: `Use ${key} = env("DATABASE_URL") in ${project.schemaFile}, or drop --database-url.`,
      });
    }
    return { url: chosen.literal, source: `datasource ${key} in ${project.schemaFile}`, env: {} };
  }
  // env("NAME"): every variable the datasource names gets the URL Lifeboat protects.
  const names = [datasource.directUrl, datasource.url].flatMap((v) => (v && 'env' in v ? [v.env] : []));
  if (override) {
    const passed = names.filter((n) => n !== overrideSource);
    return {
      url: override,
      source: passed.length > 0 ? `${overrideSource}, also given to prisma as ${passed.join(' and ')}` : overrideSource,
      env: Object.fromEntries(names.map((n) => [n, override])),
    };
  }
  if (processEnv[chosen.env]) return { url: processEnv[chosen.env], source: `${chosen.env} (environment)`, env: {} };
  if (!config) {
    for (const file of dotenvFiles(project)) {
      const values = parseEnv(readFileSync(file, 'utf8'));
      if (values[chosen.env]) return { url: values[chosen.env], source: `${chosen.env} in ${file}`, env: { [chosen.env]: values[chosen.env]! } };
    }
  }
  return { url: undefined, source: `${chosen.env} is not set`, env: {} };
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
