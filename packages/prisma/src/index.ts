export { cliAdapter } from './cli.js';
export { guardedMigrate, type GuardedMigrateOptions } from './guarded-migrate.js';
export { prismaMigrations } from './adapter.js';
export { migrationsSchema, prismaToolDatabase, type PrismaToolDatabase, readDatasource, resolveDatabase, type ResolvedDatabase } from './datasource.js';
export { locateProject, projectIn, type PrismaProject } from './project.js';
