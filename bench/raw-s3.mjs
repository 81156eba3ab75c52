/**
 * The baseline of the remote cases: the AWS SDK used directly, as `aws s3 cp` would be,
 * with the SDK's defaults. `node bench/raw-s3.mjs upload|download ENDPOINT BUCKET KEY FILE`
 * (credentials from the environment, as for Lifeboat). A plain .mjs run by node, so
 * both sides pay the same process start.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The SDK is a dependency of @lifeboat/core: resolve it from there.
const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../packages/core/package.json'));
const { S3Client, GetObjectCommand } = await import(pathToFileURL(require.resolve('@aws-sdk/client-s3')).href);
const { Upload } = await import(pathToFileURL(require.resolve('@aws-sdk/lib-storage')).href);

const [mode, endpoint, bucket, key, file] = process.argv.slice(2);
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
if (mode === 'upload') {
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) } }).done();
} else if (mode === 'download') {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(Body, createWriteStream(file));
} else {
  throw new Error(`unknown mode ${mode}`);
}
client.destroy();
