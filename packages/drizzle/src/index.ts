export { cliAdapter } from './cli.js';
export { guardedMigrate, type GuardableDatabase, type GuardedMigrateOptions } from './guarded-migrate.js';
export { drizzleMigrations, type DrizzleMigrationsOptions } from './adapter.js';
export { configFile, defaultConfigFile, loadDrizzleConfig, type DrizzleConfig } from './config.js';
export { drizzleToolDatabase, resolveDatabase, type ConfigLoader, type ResolvedDatabase } from './database.js';
export { replayFailure } from './replay.js';
export { findDrizzleKit } from './kit.js';
