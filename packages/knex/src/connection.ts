import { LifeboatError } from '@lifeboat/core';

/** A knex `connection` setting: a URL, or node-postgres' object form. */
export type KnexConnection =
  | string
  | {
      connectionString?: string;
      host?: string;
      port?: number | string;
      user?: string;
      password?: string;
      database?: string;
      ssl?: unknown;
    };

/** The connection as a postgres:// URL, which is what Lifeboat works with. */
export function connectionUrl(connection: unknown, where: string): string {
  if (typeof connection === 'string') return connection;
  if (connection && typeof connection === 'object') {
    const c = connection as Exclude<KnexConnection, string>;
    if (c.connectionString) return c.connectionString;
    if (c.database) {
      const auth = c.user ? `${encodeURIComponent(c.user)}${c.password ? `:${encodeURIComponent(c.password)}` : ''}@` : '';
      const host = c.host ?? 'localhost';
      const hostPart = host.startsWith('/') ? `localhost` : host.includes(':') ? `[${host}]` : host;
      const params = new URLSearchParams();
      if (host.startsWith('/')) params.set('host', host);
      if (c.ssl === true || (typeof c.ssl === 'object' && c.ssl !== null)) params.set('sslmode', 'require');
      const query = params.size > 0 ? `?${params}` : '';
      return `postgres://${auth}${hostPart}:${c.port ?? 5432}/${encodeURIComponent(c.database)}${query}`;
    }
  }
  throw new LifeboatError('URL_INVALID', `The knex connection in ${where} names no database Lifeboat can read.`, {
    hint: "Use a connection string or an object with host, user, password and database; or pass --database-url before 'knex'.",
  });
}
