import type { TestProject } from 'vitest/node';
import { startEmbedded } from '../../dev/embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL on the test server (its `postgres` database). */
    adminUrl: string;
  }
}

/**
 * One PostgreSQL server for the whole run: an embedded PostgreSQL 15 by default,
 * or the server of TEST_DATABASE_URL. Each test file makes its own databases on it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide('adminUrl', external);
    return async () => {};
  }
  const server = await startEmbedded();
  project.provide('adminUrl', server.url());
  return server.stop;
}
