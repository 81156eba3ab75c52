export { cliAdapter } from './cli.js';
export { guarded, type GuardedKnexOptions } from './hook.js';
export { knexMigrations, type ListMigrations } from './adapter.js';
export { connectionUrl } from './connection.js';
