import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LifeboatError } from '@lifeboat/core';
import { findProjectTool, flagValue, type ProjectTool, projectPackage } from '@lifeboat/core/adapter';
import { loadPrismaConfig, type PrismaConfigFile } from './prisma-config.js';

/** Where a Prisma project keeps what Lifeboat needs, found the way the Prisma CLI finds it. */
export interface PrismaProject {
  cwd: string;
  config: PrismaConfigFile | undefined;
  /** The schema file holding the `datasource` block. */
  schemaFile: string;
  migrationsDir: string;
}

const CONFIG_NAMES = ['prisma.config.ts', 'prisma.config.mts', 'prisma.config.cts', 'prisma.config.js', 'prisma.config.mjs', 'prisma.config.cjs', '.config/prisma.ts'];

/** The project's own `prisma` CLI (node_modules/prisma/build/index.js). */
export function findPrismaCli(cwd: string): ProjectTool {
  return findProjectTool(cwd, { name: 'prisma', install: 'npm i -D prisma' });
}

export async function locateProject(cwd: string, args: string[]): Promise<PrismaProject> {
  const configFlag = flagValue(args, '--config');
  const configPath = configFlag ? resolve(cwd, configFlag) : CONFIG_NAMES.map((name) => join(cwd, name)).find((path) => existsSync(path));
  const config = configPath ? await loadPrismaConfig(configPath, cwd, projectPackage(cwd, 'prisma')) : undefined;
  const base = config ? dirname(config.file) : cwd;

  const schemaFlag = flagValue(args, '--schema');
  const candidates = schemaFlag
    ? [resolve(cwd, schemaFlag)]
    : config?.schema
      ? [resolve(base, config.schema)]
      : [packageJsonSchema(cwd), join(cwd, 'prisma', 'schema.prisma'), join(cwd, 'schema.prisma'), join(cwd, 'prisma', 'schema')].filter((p): p is string => p !== undefined);
  const schemaPath = candidates.find((path) => existsSync(path));
  if (!schemaPath) {
    throw new LifeboatError('TOOL_NOT_FOUND', `No Prisma schema found (looked for ${candidates.join(', ')}).`, {
      hint: 'Run Lifeboat from the project folder, or pass --schema after "prisma migrate deploy" as you would to Prisma.',
    });
  }
  const schemaFile = statSync(schemaPath).isDirectory() ? datasourceFileIn(schemaPath) : schemaPath;
  const migrationsDir = config?.migrationsPath ? resolve(base, config.migrationsPath) : join(dirname(schemaFile), 'migrations');
  return { cwd, config, schemaFile, migrationsDir };
}

/** The Prisma project in `cwd` as `prisma` finds it with no arguments; undefined when there is no config file and no schema there. */
export async function projectIn(cwd: string): Promise<PrismaProject | undefined> {
  const config = CONFIG_NAMES.some((name) => existsSync(join(cwd, name)));
  const schema = [packageJsonSchema(cwd), join(cwd, 'prisma', 'schema.prisma'), join(cwd, 'schema.prisma'), join(cwd, 'prisma', 'schema')].some((p) => p !== undefined && existsSync(p));
  return config || schema ? locateProject(cwd, []) : undefined;
}

function packageJsonSchema(cwd: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { prisma?: { schema?: string } };
    return pkg.prisma?.schema ? (isAbsolute(pkg.prisma.schema) ? pkg.prisma.schema : join(cwd, pkg.prisma.schema)) : undefined;
  } catch {
    return undefined;
  }
}

/** A multi-file schema folder: the .prisma file with the datasource block. */
function datasourceFileIn(dir: string): string {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== 'migrations') walk(join(d, entry.name));
      else if (entry.name.endsWith('.prisma')) files.push(join(d, entry.name));
    }
  };
  walk(dir);
  const found = files.find((f) => /^\s*datasource\s+\w+\s*\{/m.test(readFileSync(f, 'utf8')));
  if (!found) throw new LifeboatError('TOOL_NOT_FOUND', `No datasource block in the Prisma schema folder ${dir}.`);
  return found;
}

/** Migration folders (those holding a migration.sql), in the order Prisma applies them. */
export function migrationFolders(migrationsDir: string): string[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(migrationsDir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort();
}
