import { LifeboatError } from '@lifeboat/core';
import { partsUrl } from '@lifeboat/core/adapter';

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
    if (c.database) return partsUrl(c);
  }
  throw new LifeboatError('URL_INVALID', `The knex connection in ${where} names no database Lifeboat can read.`, {
    hint: "Use a connection string or an object with host, user, password and database; or pass --database-url before 'knex'.",
  });
}
