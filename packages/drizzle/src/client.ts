import { LifeboatError } from '@lifeboat/core';
import { partsUrl } from '@lifeboat/core/adapter';

/** node-postgres' resolved connection settings (`client.connectionParameters`). */
interface PgParameters {
  host: string;
  port: number;
  user: string;
  password: unknown;
  database: string;
  ssl: unknown;
}

interface PgClient {
  connectionParameters: PgParameters;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

interface PgPool {
  options: object;
  idleCount: number;
  Client: new (options: object) => PgClient;
  connect(): Promise<{ release(destroy?: boolean): void }>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** postgres.js' `sql`: a function with its resolved `options`. */
interface PostgresJs {
  options: { host: string[]; port: number[]; path?: string | false; user: string; pass: unknown; database: string; ssl: unknown };
}

/** What guardedMigrate needs to know about the driver behind a drizzle `db`. */
export interface AppClient {
  driver: 'node-postgres' | 'postgres-js';
  /** Where it connects; without the password when that is a function (both drivers allow one). */
  url: string;
  /** The password is a function: `url` cannot connect. */
  passwordHidden: boolean;
  /** Before the migration: close idle pooled connections, so that the `clone` strategy can run. */
  release(): Promise<void>;
  /**
   * The rollback's rename swap terminates every session on the database. A node-postgres
   * pool removes a terminated idle client and emits 'error', which crashes an app without
   * a pool error listener; an idle client still in the pool when the swap happens fails
   * the next query that draws it. So: listen for those errors for the time of the restore,
   * and close the idle connections before it and after it. postgres.js reconnects by itself.
   */
  beforeRestore(): Promise<void>;
  afterRestore(): Promise<void>;
}

function isPool(client: unknown): client is PgPool {
  return typeof client === 'object' && client !== null && 'idleCount' in client && 'Client' in client && 'options' in client;
}

function isPgClient(client: unknown): client is PgClient {
  return typeof client === 'object' && client !== null && 'connectionParameters' in client;
}

function isPostgresJs(client: unknown): client is PostgresJs {
  return typeof client === 'function' && 'options' in client && Array.isArray((client as PostgresJs).options?.host);
}

/** The driver behind `db.$client`: a node-postgres Pool or Client, or postgres.js. */
export function appClient(client: unknown, notice: (message: string) => void): AppClient {
  if (isPostgresJs(client)) {
    const o = client.options;
    const password = typeof o.pass === 'string' ? o.pass : undefined;
    const host = o.path ? o.path.replace(/\/\.s\.PGSQL\.\d+$/, '') : o.host[0];
    const nothing = async () => {};
    return {
      driver: 'postgres-js',
      url: partsUrl({ host, port: o.port[0], user: o.user, password, database: o.database, ssl: o.ssl }),
      passwordHidden: o.pass !== null && o.pass !== undefined && password === undefined,
      release: nothing,
      beforeRestore: nothing,
      afterRestore: nothing,
    };
  }
  if (isPool(client) || isPgClient(client)) {
    // A Pool's options resolved as its clients resolve them (environment defaults included);
    // a connection string wins over the other options there, and keeps its parameters here.
    const p = isPool(client) ? new client.Client(client.options).connectionParameters : client.connectionParameters;
    const connectionString = isPool(client) ? (client.options as { connectionString?: unknown }).connectionString : undefined;
    const password = typeof p.password === 'string' ? p.password : undefined;
    const ignore = () => {};
    const pool = isPool(client) ? client : undefined;
    const closeIdle = async () => {
      for (let n = pool?.idleCount ?? 0; n > 0 && pool!.idleCount > 0; n--) (await pool!.connect()).release(true);
    };
    return {
      driver: 'node-postgres',
      url: typeof connectionString === 'string' ? connectionString : partsUrl({ host: p.host, port: p.port, user: p.user, password, database: p.database, ssl: p.ssl }),
      passwordHidden: p.password !== null && p.password !== undefined && password === undefined,
      release: closeIdle,
      async beforeRestore() {
        (client as PgClient | PgPool).on('error', ignore);
        await closeIdle();
      },
      async afterRestore() {
        // Let the terminations of the swap reach the client before the listener goes.
        await new Promise((resolve) => setTimeout(resolve, 50));
        await closeIdle();
        (client as PgClient | PgPool).removeListener('error', ignore);
        if (!pool) notice("the rollback closed the drizzle db's pg Client (a Client cannot reconnect): connect a new one, or give drizzle a Pool");
      },
    };
  }
  throw new LifeboatError('USAGE', 'guardedMigrate needs a drizzle db over node-postgres (a pg Pool or Client) or postgres.js.', {
    hint: "Create it with drizzle(pool) from 'drizzle-orm/node-postgres' or drizzle(sql) from 'drizzle-orm/postgres-js'.",
  });
}
