import type { TestProject } from 'vitest/node';
import { startEmbedded } from '../../dev/embedded-postgres.js';
import { startLocalS3 } from '../../dev/s3-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL on the test server (its `postgres` database). */
    adminUrl: string;
    /** The S3 endpoint for the off-site tests: an s3rver started for the run, or LIFEBOAT_TEST_S3_URL. */
    s3: { url: string; endpoint: string | undefined; accessKeyId: string | undefined };
  }
}

/**
 * One PostgreSQL server for the whole run: an embedded PostgreSQL 15 by default,
 * or the server of TEST_DATABASE_URL. Each test file makes its own databases on it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A real S3 service (LIFEBOAT_TEST_S3_URL=s3://bucket/prefix, its credentials in the AWS_* variables), else a local one, started once.
  const realS3 = process.env.LIFEBOAT_TEST_S3_URL;
  const localS3 = realS3 ? undefined : await startLocalS3();
  project.provide(
    's3',
    localS3
      ? { url: `s3://${localS3.bucket}`, endpoint: localS3.endpoint, accessKeyId: localS3.accessKeyId }
      : { url: realS3!.replace(/\/+$/, ''), endpoint: process.env.LIFEBOAT_TEST_S3_ENDPOINT, accessKeyId: undefined },
  );
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide('adminUrl', external);
    return async () => {
      await localS3?.stop();
    };
  }
  const server = await startEmbedded();
  project.provide('adminUrl', server.url());
  return async () => {
    await server.stop();
    await localS3?.stop();
  };
}
