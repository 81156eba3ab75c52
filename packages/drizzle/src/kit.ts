import { findProjectTool, type ProjectTool } from '@lifeboat/core/adapter';

/** The project's own drizzle-kit and its CLI entry (bin.cjs), to run with this Node. */
export function findDrizzleKit(cwd: string): ProjectTool {
  return findProjectTool(cwd, { name: 'drizzle-kit', install: 'npm i -D drizzle-kit' });
}
