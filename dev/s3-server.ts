import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// s3rver ships no types; its constructor and run/close are all that is used.
// @ts-expect-error untyped CommonJS module
import S3rver from 's3rver';

/** An S3-compatible server (s3rver) on a free port of 127.0.0.1, its objects in a temp folder. */
export interface LocalS3 {
  endpoint: string;
  /** The bucket it was started with. */
  bucket: string;
  /** s3rver accepts this access key id (with any secret) and refuses every other. */
  accessKeyId: string;
  stop: () => Promise<void>;
}

export async function startLocalS3(bucket = 'lifeboat-test'): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 'lifeboat-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = (await server.run()) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: 'S3RVER',
    stop: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
