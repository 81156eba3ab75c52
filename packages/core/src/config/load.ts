import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { importFile } from './import-file.js';
import { configSchema, type LifeboatConfig } from './schema.js';

export const CONFIG_FILES = ['lifeboat.config.ts', 'lifeboat.config.mts', 'lifeboat.config.js', 'lifeboat.config.mjs', 'lifeboat.config.json'];

export interface LoadedConfig {
  config: LifeboatConfig;
  /** The file it came from; undefined when there is none (all defaults). */
  file: string | undefined;
  /** Paths in the config are relative to this folder. */
  dir: string;
}

/**
 * `--config FILE`, else the first lifeboat.config.* in `cwd`. The file runs through
 * jiti (TypeScript without a build step) and is validated: a typo names the key.
 */
export async function loadConfig(cwd: string, explicit?: string): Promise<LoadedConfig> {
  const file = explicit ? resolve(cwd, explicit) : CONFIG_FILES.map((name) => join(cwd, name)).find((path) => existsSync(path));
  if (!file) return { config: {}, file: undefined, dir: cwd };
  if (!existsSync(file)) {
    throw new LifeboatError('CONFIG_INVALID', `The config file ${file} does not exist.`, { hint: 'Check the path given to --config.' });
  }
  let raw: unknown;
  try {
    raw = await importFile(file);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new LifeboatError('CONFIG_INVALID', `The config file ${file} could not be loaded: ${message}`, {
      hint: 'Fix the error in the file; it must export the config as its default export.',
      cause: error,
    });
  }
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new LifeboatError('CONFIG_INVALID', `${file}: ${describeIssue(parsed.error.issues[0]!)}`, {
      hint: 'See the config reference in the README; every key is optional.',
    });
  }
  return { config: parsed.data, file, dir: dirname(file) };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
    return `unknown key ${keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `"${path || '(root)'}": ${issue.message}`;
}
