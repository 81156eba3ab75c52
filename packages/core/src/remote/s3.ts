import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { debug } from '../debug.js';
import { LifeboatError } from '../errors.js';
import { registerSecret } from '../secrets.js';
import type { Remote, RemoteObject } from './interface.js';
import type { RemoteLocation } from './url.js';

/** Parts of 5 MiB (S3's least), four in flight: about 20 MiB of buffers whatever the size (more parts only past 45 GB). */
const PART_BYTES = 5 * 1024 * 1024;
const QUEUE = 4;
/** S3 allows 10,000 parts; stay clear of it for objects bigger than the estimate said. */
const MAX_PARTS = 9_000;

/**
 * S3 and S3-compatible services through the AWS SDK (`@aws-sdk/client-s3`, multipart
 * uploads by `@aws-sdk/lib-storage`), loaded only when a remote is used. Credentials come
 * from the SDK's default chain (environment, shared profile, SSO, the instance or task role):
 * Lifeboat never reads or prints them. Each request carries the SDK's checksum (CRC32 on
 * uploads), which the server verifies; transient failures are retried by the SDK
 * (standard mode, 5 attempts).
 */
export async function s3Remote(location: Extract<RemoteLocation, { kind: 's3' }>): Promise<Remote> {
  // The SDK warns on every Node < 22 that its releases after January 2027 will need Node 22: Lifeboat pins its version.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID']) registerSecret(process.env[name]);
  const sdk = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const client: S3Client = new sdk.S3Client({
    region: location.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(location.endpoint ? { endpoint: location.endpoint } : {}),
    forcePathStyle: location.forcePathStyle,
    maxAttempts: 5,
  });
  const { bucket } = location;
  const fullKey = (key: string) => (location.prefix ? `${location.prefix}/${key}` : key);
  const fail = (error: unknown, what: string) => s3Error(error, location.display, what);

  return {
    location,
    async check() {
      debug(`s3: head bucket ${bucket} (check)`);
      await client.send(new sdk.HeadBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
        throw fail(error, 'open the bucket');
      });
    },
    async put(key, body, options = {}) {
      const partSize = Math.max(PART_BYTES, Math.ceil((options.expectedBytes ?? 0) / MAX_PARTS));
      debug(`s3: upload ${fullKey(key)} (parts of ${partSize} bytes, ${QUEUE} at a time)`);
      const upload = new Upload({ client, params: { Bucket: bucket, Key: fullKey(key), Body: body }, partSize, queueSize: QUEUE, leavePartsOnError: false });
      const abort = () => void upload.abort().catch(() => {});
      options.signal?.addEventListener('abort', abort, { once: true });
      try {
        const done = await upload.done();
        return { ...(done.ETag ? { etag: done.ETag } : {}), ...checksumsOf(done as unknown as Record<string, unknown>) };
      } catch (error) {
        body.destroy();
        throw fail(error, `upload ${key}`);
      } finally {
        options.signal?.removeEventListener('abort', abort);
      }
    },
    async get(key) {
      debug(`s3: download ${fullKey(key)}`);
      const result = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: fullKey(key) })).catch((error: unknown) => {
        throw fail(error, `download ${key}`);
      });
      return result.Body as Readable;
    },
    async head(key) {
      try {
        const result = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: fullKey(key), ChecksumMode: 'ENABLED' }));
        return { bytes: result.ContentLength ?? 0, ...(result.ETag ? { etag: result.ETag } : {}), ...checksumsOf(result as unknown as Record<string, unknown>) };
      } catch (error) {
        if ((error as { name?: string }).name === 'NotFound' && (await bucketExists())) return undefined;
        throw fail(error, `look at ${key}`);
      }
    },
    async list(prefix) {
      const out: RemoteObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: fullKey(prefix), ...(token ? { ContinuationToken: token } : {}) })).catch((error: unknown) => {
          throw fail(error, 'list the bucket');
        });
        for (const item of page.Contents ?? []) {
          if (!item.Key) continue;
          out.push({ key: location.prefix ? item.Key.slice(location.prefix.length + 1) : item.Key, bytes: item.Size ?? 0, lastModified: item.LastModified?.toISOString() });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async remove(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        debug(`s3: delete ${batch.length} object(s)`);
        const result = await client.send(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((key) => ({ Key: fullKey(key) })), Quiet: true } })).catch((error: unknown) => {
          throw fail(error, 'delete objects');
        });
        const failed = result.Errors?.[0];
        if (failed) throw fail(Object.assign(new Error(failed.Message ?? 'delete failed'), { name: failed.Code ?? 'DeleteFailed' }), `delete ${failed.Key ?? 'objects'}`);
      }
    },
    close() {
      client.destroy();
    },
  };

  /** HeadObject's 404 has no body: tell a missing object from a missing bucket. */
  async function bucketExists(): Promise<boolean> {
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
      return true;
    } catch {
      return false;
    }
  }
}

function checksumsOf(result: Record<string, unknown>): { checksums?: Record<string, string> } {
  const checksums: Record<string, string> = {};
  for (const name of ['ChecksumCRC32', 'ChecksumCRC32C', 'ChecksumCRC64NVME', 'ChecksumSHA1', 'ChecksumSHA256']) {
    if (typeof result[name] === 'string') checksums[name.slice('Checksum'.length).toLowerCase()] = result[name];
  }
  return Object.keys(checksums).length > 0 ? { checksums } : {};
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'TimeoutError', 'RequestTimeout']);
const AUTH = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'Forbidden',
  'CredentialsProviderError',
  'AllAccessDisabled',
  'AccountProblem',
]);

/** The SDK's error as one line and an exit code; the SDK's own message says which request failed, never the credentials. */
export function s3Error(error: unknown, display: string, what: string): unknown {
  if (error instanceof LifeboatError) return error;
  const err = error as { name?: string; code?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  // A HEAD request's error has no body: the SDK names it Unknown; the status says more.
  const name = err.Code ?? (err.name === 'Unknown' && err.$metadata?.httpStatusCode ? `HTTP ${err.$metadata.httpStatusCode}` : (err.name ?? ''));
  const code = err.code ?? '';
  const status = err.$metadata?.httpStatusCode;
  const message = (err.message ?? String(error)).split('\n')[0]!;
  if (UNREACHABLE.has(code) || UNREACHABLE.has(name) || (status === undefined && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|socket hang up|timed? ?out/i.test(message))) {
    return new LifeboatError('REMOTE_UNREACHABLE', `Cannot reach the remote ${display} (${code || name || message}), after retries: could not ${what}.`, {
      hint: 'Check the endpoint (remote.endpoint / ?endpoint=), the network and the service status, then run the command again.',
      cause: error,
    });
  }
  if (name === 'NoSuchBucket' || (name === 'NotFound' && /bucket/i.test(what))) {
    return new LifeboatError('REMOTE_NOT_FOUND', `The bucket of ${display} does not exist.`, {
      hint: 'Create the bucket (Lifeboat never creates one), or fix remote.url, remote.endpoint and remote.region.',
      cause: error,
    });
  }
  if (name === 'NoSuchKey' || name === 'NotFound') {
    return new LifeboatError('REMOTE_NOT_FOUND', `The remote ${display} has no such object: could not ${what}.`, {
      hint: 'Run `lifeboat list --remote` to see what the remote holds.',
      cause: error,
    });
  }
  if (AUTH.has(name) || status === 401 || status === 403 || /credential/i.test(message)) {
    const none = name === 'CredentialsProviderError' || /could not load credentials/i.test(message);
    return new LifeboatError(
      'REMOTE_AUTH',
      none ? `No credentials for the remote ${display}: the AWS SDK found none.` : `The remote ${display} refused the credentials (${name || status}): could not ${what}.`,
      {
        hint: none
          ? 'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where a role provides them; never in lifeboat.config.'
          : 'Check the access key (AWS_ACCESS_KEY_ID / AWS_PROFILE) and that it may list, read, write and delete under this prefix.',
        cause: error,
      },
    );
  }
  return new LifeboatError('REMOTE_FAILED', `The remote ${display} failed: could not ${what} (${name || status || 'error'}: ${message}).`, {
    hint: 'Nothing half-pushed is ever listed; run the command again, or check the service status.',
    cause: error,
  });
}
