import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LifeboatError } from '@lifeboat/core';

/** What Lifeboat reads from prisma.config.ts. */
export interface PrismaConfigFile {
  file: string;
  schema: string | undefined;
  migrationsPath: string | undefined;
  /** `datasource.url` (Prisma 7, and 6.x with engine "classic"), `directUrl` when set. */
  url: string | undefined;
  directUrl: string | undefined;
}

interface ConfigModule {
  loadConfigFromFile(input: { configFile?: string; configRoot?: string }): Promise<{
    config?: { schema?: string; migrations?: { path?: string }; datasource?: { url?: string; directUrl?: string } };
    error?: { _tag: string; error?: Error };
    resolvedPath: string | null;
  }>;
}

/**
 * Load prisma.config.ts with the project's own @prisma/config (the one beside its
 * prisma, else one the project resolves): the same loader and rules Prisma uses.
 */
export async function loadPrismaConfig(file: string, cwd: string, prismaPackage: string | undefined): Promise<PrismaConfigFile> {
  const module = await importConfigModule(cwd, prismaPackage);
  const result = await module.loadConfigFromFile({ configFile: file, configRoot: cwd });
  if (result.error) {
    const detail = result.error.error?.message.split('\n')[0] ?? result.error._tag;
    throw new LifeboatError('CONFIG_INVALID', `Prisma could not load ${file}: ${detail}`, {
      hint: 'Check that `npx prisma validate` accepts it.',
    });
  }
  const config = result.config ?? {};
  return {
    file: result.resolvedPath ?? file,
    schema: config.schema,
    migrationsPath: config.migrations?.path,
    url: config.datasource?.url,
    directUrl: config.datasource?.directUrl,
  };
}

async function importConfigModule(cwd: string, prismaPackage: string | undefined): Promise<ConfigModule> {
  for (const from of [prismaPackage, join(cwd, 'package.json')].filter((f): f is string => f !== undefined)) {
    try {
      const path = createRequire(from).resolve('@prisma/config');
      return (await import(pathToFileURL(path).href)) as ConfigModule;
    } catch {
      // try the next place
    }
  }
  throw new LifeboatError('TOOL_NOT_FOUND', 'The project has a prisma.config file but @prisma/config cannot be found.', {
    hint: 'Reinstall prisma in the project (npm i -D prisma); @prisma/config comes with it.',
  });
}
