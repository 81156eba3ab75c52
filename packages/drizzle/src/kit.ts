import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LifeboatError } from '@lifeboat/core';

/**
 * The project's own drizzle-kit CLI entry (bin.cjs), to run with this Node. Its package.json
 * is not in its `exports`, so this resolves the package's entry and walks up to its folder.
 */
export function findDrizzleKit(cwd: string): string {
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
  return join(root, typeof pkg.bin === 'string' ? pkg.bin : (pkg.bin?.['drizzle-kit'] ?? 'bin.cjs'));
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
