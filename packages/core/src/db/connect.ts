import pg from 'pg';
import { debug } from '../debug.js';
import { LifeboatError } from '../errors.js';
import { type DatabaseTarget, withDatabase } from './target.js';

export type Client = pg.Client;

/** Open a connection, turning driver errors into errors a user can act on. */
export async function connect(target: DatabaseTarget, database = target.database): Promise<pg.Client> {
  const to = database === target.database ? target : withDatabase(target, database);
  const client = new pg.Client({
    connectionString: to.url,
    connectionTimeoutMillis: 10_000,
    application_name: 'lifeboat',
  });
  debug(`connect ${to.display}`);
  // A dropped connection must not crash the process; the next query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw connectionError(error, to);
  }
  return client;
}

/** Run `fn` with a connection that is always closed afterwards. */
export async function withClient<T>(target: DatabaseTarget, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(target, database);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A connection to a database on the same server that is not `avoid`: CREATE DATABASE
 * … TEMPLATE and renames need the target database free of our own sessions too.
 */
export async function connectMaintenance(target: DatabaseTarget, avoid: string = target.database): Promise<pg.Client> {
  const candidates = ['postgres', 'template1'].filter((name) => name !== avoid);
  let lastError: unknown;
  for (const name of candidates) {
    try {
      return await connect(target, name);
    } catch (error) {
      lastError = error;
      if (!(error instanceof LifeboatError) || error.code !== 'DB_NOT_FOUND') throw error;
    }
  }
  throw lastError;
}

function connectionError(error: unknown, target: DatabaseTarget): LifeboatError {
  const err = error as { code?: string; message?: string };
  const where = `${target.host.startsWith('/') ? target.host : `${target.host}:${target.port}`}`;
  const message = err.message ?? String(error);
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'ENOENT':
      return new LifeboatError('DB_UNREACHABLE', `Cannot reach PostgreSQL at ${where} (${err.code}).`, {
        hint: 'Check the host and port in the database URL and that the server is running and accepts connections.',
        cause: error,
      });
    case '28P01':
    case '28000':
      return new LifeboatError('DB_AUTH_FAILED', `PostgreSQL at ${where} rejected user "${target.user}": ${message}.`, {
        hint: 'Check the user and password in the database URL (percent-encode special characters).',
        cause: error,
      });
    case '3D000':
      return new LifeboatError('DB_NOT_FOUND', `Database "${target.database}" does not exist on ${where}.`, {
        hint: 'Check the database name in the URL, or create it first (createdb).',
        cause: error,
      });
    case '42501':
      return new LifeboatError('DB_PERMISSION', `User "${target.user}" may not connect to "${target.database}": ${message}.`, {
        hint: 'Grant CONNECT on the database to this role, or use a role that has it.',
        cause: error,
      });
    default:
      break;
  }
  if (/timeout/i.test(message)) {
    return new LifeboatError('DB_UNREACHABLE', `Timed out connecting to PostgreSQL at ${where}.`, {
      hint: 'Check the host, port and firewall; the server did not answer within 10 seconds.',
      cause: error,
    });
  }
  if (/password must be a string|SASL|no password/i.test(message)) {
    return new LifeboatError('DB_AUTH_FAILED', `PostgreSQL at ${where} asks for a password and the URL has none.`, {
      hint: 'Put the password in the URL, after the user name with a colon, or use PGPASSWORD.',
      cause: error,
    });
  }
  return new LifeboatError('DB_UNREACHABLE', `Cannot connect to PostgreSQL at ${where}: ${message}.`, {
    hint: 'Check the database URL and that the server accepts connections.',
    cause: error,
  });
}
