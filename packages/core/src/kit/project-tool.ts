import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LifeboatError } from '../errors.js';
import type { MigrationRun } from '../guard/adapter.js';
import { commandRun } from '../guard/command-run.js';

/** A migrate tool as the project installed it: its own version, never one Lifeboat brings. */
export interface ProjectTool {
  /** Its package.json (real path). */
  packageJson: string;
  /** Its main module as the project resolves it, when it has one. */
  module: string | undefined;
  /** The CLI entry its package.json's `bin` names, run with this Node. */
  bin: string;
  /** The CLI with these arguments, `env` set over Lifeboat's environment: what a guarded command runs. */
  run(args: string[], options: { cwd: string; env?: Record<string, string> }): MigrationRun;
}

export interface ToolPackage {
  /** The npm package: "knex", "prisma", "drizzle-kit". */
  name: string;
  /** The command in its `bin`; default: the package's name. */
  command?: string;
  /** How a user installs it, for the hint: "npm i -D prisma". */
  install: string;
}

/**
 * The project's own package.json of `name`, as Node resolves it from `cwd`; undefined when
 * the project does not have it. A package whose `exports` leave out package.json
 * (drizzle-kit) is found from its entry, up to the folder whose package.json names it.
 */
export function projectPackage(cwd: string, name: string): string | undefined {
  const require = createRequire(join(cwd, 'package.json'));
  try {
    return require.resolve(`${name}/package.json`);
  } catch {
    // not exported, or not installed: try its entry
  }
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    return undefined;
  }
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    if (manifest(join(dir, 'package.json'))?.name === name) return join(dir, 'package.json');
    if (dirname(dir) === dir) return undefined;
  }
}

/** The project's own migrate tool and its CLI; `TOOL_NOT_FOUND` when the project does not have it. */
export function findProjectTool(cwd: string, tool: ToolPackage): ProjectTool {
  const command = tool.command ?? tool.name;
  const packageJson = projectPackage(cwd, tool.name);
  const bin = packageJson ? manifest(packageJson)?.bin : undefined;
  const entry = typeof bin === 'string' ? bin : bin?.[command];
  if (!packageJson || !entry) {
    throw new LifeboatError('TOOL_NOT_FOUND', `${command} is not installed in ${cwd}.`, {
      hint: `Install it in the project (${tool.install}) and run Lifeboat from the project folder.`,
    });
  }
  const cli = join(dirname(packageJson), entry);
  let module: string | undefined;
  try {
    module = createRequire(join(cwd, 'package.json')).resolve(tool.name);
  } catch {
    module = undefined;
  }
  return {
    packageJson,
    module,
    bin: cli,
    run: (args, { cwd: at, env = {} }) => commandRun(process.execPath, [cli, ...args], { cwd: at, env, describe: `${command} ${args.join(' ')}` }),
  };
}

function manifest(file: string): { name?: string; bin?: string | Record<string, string> } | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: string; bin?: string | Record<string, string> };
  } catch {
    return undefined;
  }
}
