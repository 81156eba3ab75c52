import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LifeboatError } from '@lifeboat/core';

/** The project's own drizzle-kit. */
export interface DrizzleKit {
  /** Its CLI entry (bin.cjs), run with this Node. */
  bin: string;
  /** tsx's CommonJS API from drizzle-kit's own dependencies: the loader drizzle-kit reads its config with. */
  tsxApi: string | undefined;
}

/**
 * drizzle-kit as the project resolves it. Its package.json is not in its `exports`, so
 * this resolves the package's entry and walks up to the folder that holds it.
 */
export function findDrizzleKit(cwd: string): DrizzleKit {
  let entry: string;
  try {
    entry = createRequire(join(cwd, 'package.json')).resolve('drizzle-kit');
  } catch {
    throw new LifeboatError('TOOL_NOT_FOUND', `drizzle-kit is not installed in ${cwd}.`, {
      hint: 'Install it in the project (npm i -D drizzle-kit) and run Lifeboat from the project folder.',
    });
  }
  let root = dirname(entry);
  while (!isDrizzleKitRoot(root) && dirname(root) !== root) root = dirname(root);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : (pkg.bin?.['drizzle-kit'] ?? 'bin.cjs');
  let tsxApi: string | undefined;
  try {
    tsxApi = createRequire(join(root, 'package.json')).resolve('tsx/cjs/api');
  } catch {
    tsxApi = undefined;
  }
  return { bin: join(root, bin), tsxApi };
}

function isDrizzleKitRoot(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'drizzle-kit';
  } catch {
    return false;
  }
}
