import { parseDatabaseUrl } from './target.js';

/** A connection as parts: knex's and drizzle-kit's settings, node-postgres' and postgres.js' options. */
export interface ConnectionParts {
  host?: string | undefined;
  port?: number | string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
  /** false, true, 'require' | 'allow' | 'prefer' | 'verify-full', or TLS options. */
  ssl?: unknown;
}

/**
 * The `sslmode` that connects the way knex, drizzle-kit, node-postgres and postgres.js do with
 * this `ssl` setting: require / allow / prefer (and `rejectUnauthorized: false`) encrypt
 * without checking the certificate, true and verify-full check it.
 */
export function sslMode(ssl: unknown): string | undefined {
  if (ssl === undefined || ssl === null || ssl === false || ssl === 'disable') return undefined;
  if (ssl === 'require' || ssl === 'allow' || ssl === 'prefer' || ssl === 'no-verify') return 'no-verify';
  if (typeof ssl === 'object' && (ssl as { rejectUnauthorized?: unknown }).rejectUnauthorized === false) return 'no-verify';
  return 'verify-full';
}

/** The parts as a postgres:// URL (a socket folder as `?host=`). */
export function partsUrl(parts: ConnectionParts): string {
  const host = parts.host ?? 'localhost';
  const socket = host.startsWith('/');
  const auth = parts.user ? `${encodeURIComponent(parts.user)}${parts.password ? `:${encodeURIComponent(parts.password)}` : ''}@` : '';
  const params = new URLSearchParams();
  if (socket) params.set('host', host);
  const mode = sslMode(parts.ssl);
  if (mode) params.set('sslmode', mode);
  const hostPart = socket ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const query = params.size > 0 ? `?${params}` : '';
  return `postgres://${auth}${hostPart}:${parts.port ?? 5432}/${encodeURIComponent(parts.database ?? '')}${query}`;
}

/**
 * Both URLs name the same database, the one rule for it: the same host, port, database and
 * user once each URL is resolved (default port 5432, default user $PGUSER, else postgres).
 * Query parameters (sslmode, schema) and passwords do not make another database.
 */
export function sameDatabase(a: string, b: string): boolean {
  const x = parseDatabaseUrl(a);
  const y = parseDatabaseUrl(b);
  return x.host.toLowerCase() === y.host.toLowerCase() && x.port === y.port && x.database === y.database && x.user === y.user;
}

/** For messages: the URL without its password. */
export function display(url: string): string {
  try {
    return parseDatabaseUrl(url).display;
  } catch {
    return 'a malformed URL';
  }
}
