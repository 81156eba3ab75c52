import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = join(repoRoot, 'packages/core/dist/cli.js');
export const pagilaDir = resolve(repoRoot, '../shared/fixtures/pagila');
export const hasPagila = existsSync(join(pagilaDir, 'schema.sql'));

export function adminUrl(): string {
  return inject('adminUrl');
}

export function urlFor(database: string, base = adminUrl()): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

export async function query<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function databaseNames(pattern: string, base = adminUrl()): Promise<string[]> {
  const rows = await query<{ datname: string }>(base, 'select datname from pg_database where datname like $1 order by 1', [pattern]);
  return rows.map((r) => r.datname);
}

/**
 * Fresh databases for one test file, dropped (with whatever Lifeboat made beside
 * them: clones, replaced and restored copies) when the file is done.
 */
export function databases(base = adminUrl()) {
  const made: string[] = [];
  afterAll(async () => {
    for (const name of made) {
      const related = await databaseNames(`${name}%`, base);
      for (const db of related) await query(base, `drop database if exists "${db}" with (force)`);
    }
  });
  return {
    async create(prefix = 'lb'): Promise<{ name: string; url: string }> {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      await query(base, `create database "${name}"`);
      made.push(name);
      return { name, url: urlFor(name, base) };
    },
    /** Track a database some test made by other means (restore --to). */
    track(name: string) {
      made.push(name);
    },
  };
}

/**
 * Drop the clone snapshot databases a project's store (`<dir>/.lifeboat`) names, and only
 * those: they live beside the test databases under names of their own (lifeboat_snap_*),
 * so dropping the test databases leaves them on the server.
 */
export async function dropStoreClones(dir: string, base = adminUrl()): Promise<void> {
  const snapshots = join(dir, '.lifeboat', 'snapshots');
  const ids = await readdir(snapshots).catch(() => [] as string[]);
  for (const id of ids) {
    const manifest = await readFile(join(snapshots, id, 'manifest.json'), 'utf8').catch(() => undefined);
    const clone = manifest ? (JSON.parse(manifest) as { clone?: { database?: string } }).clone?.database : undefined;
    if (clone) await query(base, `drop database if exists "${clone.replace(/"/g, '""')}" with (force)`);
  }
}

/** libpq environment for psql / pg_dump from a URL. */
export function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return {
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
  };
}

export async function psqlFile(url: string, file: string): Promise<void> {
  await execa('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', file], { env: pgEnv(url), stdout: 'ignore' });
}

export async function loadPagila(url: string): Promise<void> {
  await psqlFile(url, join(pagilaDir, 'schema.sql'));
  await psqlFile(url, join(pagilaDir, 'data.sql'));
}

/** `pg_dump --schema-only`, without the random \restrict key newer pg_dumps add. */
export async function schemaDump(url: string): Promise<string> {
  const { stdout } = await execa('pg_dump', ['--schema-only', '--no-password'], { env: pgEnv(url) });
  return stdout
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .join('\n');
}

/** Every table's rows, each table as an md5 of its rows in a fixed order. */
export async function dataDigest(url: string): Promise<Record<string, string>> {
  const tables = await query<{ name: string }>(
    url,
    `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'm') and c.relispopulated and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' order by 1`,
  );
  const digest: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await query<{ n: string; md5: string | null }>(url, `select count(*) as n, md5(string_agg(t::text, E'\\n' order by t::text)) as md5 from ${name} t`);
    digest[name] = `${row!.n}:${row!.md5 ?? ''}`;
  }
  return digest;
}

export interface CliResult {
  exitCode: number;
  /** The signal that ended it (SIGKILL from a failpoint), if any. */
  signal?: string | undefined;
  stdout: string;
  stderr: string;
}

export async function lifeboat(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; url?: string } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { DATABASE_URL: options.url, ...options.env };
  const result = await execa(process.execPath, [cliPath, ...args], {
    env,
    cwd: options.cwd ?? repoRoot,
    reject: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

// biome-ignore lint/suspicious/noExplicitAny: a test reads the CLI's JSON documents field by field
export function json<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
  }
}
