export { cliAdapter } from './cli.js';
export { guardedMigrate, type GuardedMigrateOptions } from './guarded-migrate.js';
export { prismaMigrations } from './adapter.js';
export { migrationsSchema, readDatasource, resolveDatabase, type ResolvedDatabase } from './datasource.js';
export { locateProject, type PrismaProject } from './project.js';
