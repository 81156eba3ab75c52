import { LifeboatError } from '../errors.js';
import { registerSecret } from '../secrets.js';

/**
 * Where a database lives, parsed once from a URL. `url` holds the password and is
 * only ever handed to `pg`; `display` is what we show; `libpqEnv` is how child
 * processes (pg_dump, pg_restore) get the same connection without a password in argv.
 */
export interface DatabaseTarget {
  readonly url: string;
  readonly display: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password: string | undefined;
  /** Query parameters that libpq understands, as PG* environment variables. */
  readonly libpqEnv: Readonly<Record<string, string>>;
}

/** URL query parameters that libpq honours, mapped to its environment variables. */
const LIBPQ_PARAMS: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  gssencmode: 'PGGSSENCMODE',
  channel_binding: 'PGCHANNELBINDING',
};

export function parseDatabaseUrl(raw: string | undefined): DatabaseTarget {
  if (raw === undefined || raw.trim() === '') {
    throw new LifeboatError('URL_INVALID', 'No database URL given.', {
      hint: 'Pass --database-url postgres://user@host:5432/db (the password after the user name, or in PGPASSWORD), or set DATABASE_URL.',
    });
  }
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new LifeboatError('URL_INVALID', 'The database URL is not a valid URL.', {
      hint: 'Use the form postgres://user@host:5432/database, the password after the user name with a colon (percent-encode its special characters).',
    });
  }
  const password = parsed.password === '' ? undefined : safeDecode(parsed.password);
  registerSecret(password);
  registerSecret(parsed.password);

  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new LifeboatError('URL_INVALID', `The database URL uses "${parsed.protocol}", not postgres: or postgresql:.`, {
      hint: 'Lifeboat works with PostgreSQL URLs: postgres://user@host:5432/database.',
    });
  }
  const socketHost = parsed.searchParams.get('host');
  const host = socketHost ?? (parsed.hostname === '' ? 'localhost' : stripBrackets(parsed.hostname));
  const portText = parsed.searchParams.get('port') ?? parsed.port;
  const port = portText === '' ? 5432 : Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new LifeboatError('URL_INVALID', `The database URL has an invalid port "${portText}".`, {
      hint: 'Use a port between 1 and 65535, for example postgres://user@localhost:5432/db.',
    });
  }
  const database = safeDecode(parsed.pathname.replace(/^\//, ''));
  if (database === '') {
    throw new LifeboatError('URL_INVALID', 'The database URL names no database.', {
      hint: 'Add the database name after the host: postgres://user@host:5432/mydb.',
    });
  }
  const user = safeDecode(parsed.username) || parsed.searchParams.get('user') || process.env.PGUSER || 'postgres';

  const libpqEnv: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) {
    const envName = LIBPQ_PARAMS[key];
    if (envName) libpqEnv[envName] = value;
  }
  // node-postgres' "no-verify" is not a libpq mode; libpq's nearest is "require".
  if (libpqEnv.PGSSLMODE === 'no-verify') libpqEnv.PGSSLMODE = 'require';

  const display = formatDisplay(parsed, host, port, user, database);
  return { url: raw.trim(), display, host, port, user, database, password, libpqEnv };
}

/** The same server and credentials, another database. */
export function withDatabase(target: DatabaseTarget, database: string): DatabaseTarget {
  const parsed = new URL(target.url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return {
    ...target,
    url: parsed.toString(),
    database,
    display: formatDisplay(parsed, target.host, target.port, target.user, database),
  };
}

/** Environment for pg_dump / pg_restore: the connection, with no password on the command line. */
export function childEnv(target: DatabaseTarget, database = target.database): Record<string, string> {
  const env: Record<string, string> = {
    ...target.libpqEnv,
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGDATABASE: database,
  };
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  return env;
}

function formatDisplay(parsed: URL, host: string, port: number, user: string, database: string): string {
  const hostPart = host.startsWith('/') ? `[socket ${host}]` : host.includes(':') ? `[${host}]` : host;
  const auth = parsed.password === '' ? user : `${user}:***`;
  return `postgres://${auth}@${hostPart}:${port}/${encodeURIComponent(database)}`;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new LifeboatError('URL_INVALID', 'The database URL has a malformed percent-encoding.', {
      hint: 'Percent-encode special characters in the user and password (for example @ as %40).',
    });
  }
}
