import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { LifeboatError } from '../errors.js';

export type PgToolName = 'pg_dump' | 'pg_restore' | 'psql';

export interface PgTool {
  name: PgToolName;
  path: string;
  /** e.g. "15.20" */
  version: string;
  major: number;
}

/** Folders where package managers put versioned client tools, for a given major. */
function versionedDirs(major: number): string[] {
  return [
    `/usr/lib/postgresql/${major}/bin`,
    `/usr/pgsql-${major}/bin`,
    `/opt/homebrew/opt/postgresql@${major}/bin`,
    `/usr/local/opt/postgresql@${major}/bin`,
    `/Applications/Postgres.app/Contents/Versions/${major}/bin`,
  ];
}

const versionCache = new Map<string, Promise<PgTool | undefined>>();

async function probe(name: PgToolName, path: string): Promise<PgTool | undefined> {
  try {
    await access(path, constants.X_OK);
  } catch {
    return undefined;
  }
  const { execa } = await import('execa');
  const result = await execa(path, ['--version'], { reject: false, timeout: 10_000 });
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(result.stdout);
  if (result.exitCode !== 0 || !match) return undefined;
  const major = Number(match[1]);
  return { name, path, version: match[2] === undefined ? match[1]! : `${match[1]}.${match[2]}`, major };
}

function cachedProbe(name: PgToolName, path: string): Promise<PgTool | undefined> {
  let found = versionCache.get(path);
  if (!found) {
    found = probe(name, path);
    versionCache.set(path, found);
  }
  return found;
}

/**
 * Find a pg_dump / pg_restore / psql (an in-place rollback's one transaction) that can work with a server of `serverMajor`:
 * LIFEBOAT_PG_BIN_DIR if set (and only there), else the PATH, else the usual
 * versioned install folders. The client must be at least as new as the server.
 */
export async function findPgTool(name: PgToolName, serverMajor: number, serverVersion: string): Promise<PgTool> {
  const explicitDir = process.env.LIFEBOAT_PG_BIN_DIR;
  const candidates: string[] = [];
  if (explicitDir) {
    candidates.push(join(explicitDir, name));
  } else {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, name));
    for (let major = serverMajor + 3; major >= serverMajor; major--) {
      for (const dir of versionedDirs(major)) candidates.push(join(dir, name));
    }
  }
  const found: PgTool[] = [];
  for (const path of candidates) {
    const tool = await cachedProbe(name, path);
    if (!tool) continue;
    if (tool.major >= serverMajor) return tool;
    found.push(tool);
  }
  const install = installHint(serverMajor);
  const where = explicitDir ? ` in LIFEBOAT_PG_BIN_DIR (${explicitDir})` : '';
  if (found.length > 0) {
    const old = found[0]!;
    throw new LifeboatError(
      'PG_TOOL_TOO_OLD',
      `${name} ${old.version}${where} (${old.path}) is older than the server (PostgreSQL ${serverVersion}); ${name} must be version ${serverMajor} or newer.`,
      { hint: `${install}, or set LIFEBOAT_PG_BIN_DIR to their bin folder; --strategy clone needs no client tools.` },
    );
  }
  throw new LifeboatError('PG_TOOL_MISSING', `${name} was not found${where || ' on the PATH'}.`, {
    hint: `${install}, or set LIFEBOAT_PG_BIN_DIR to their bin folder; --strategy clone needs no client tools.`,
  });
}

function installHint(major: number): string {
  if (process.platform === 'darwin') return `Install the PostgreSQL ${major} client tools (brew install postgresql@${major})`;
  if (process.platform === 'win32') return `Install the PostgreSQL ${major} command line tools`;
  return `Install the PostgreSQL ${major} client tools (Debian/Ubuntu: apt install postgresql-client-${major}; RHEL: dnf install postgresql${major})`;
}
