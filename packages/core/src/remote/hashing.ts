import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/** A pass-through that hashes (sha256) and counts what flows, so a stream is checked in the one pass that moves it. */
export function hashing(onBytes?: (n: number) => void): { stream: Transform; bytes: () => number; digest: () => string } {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
  return { stream, bytes: () => bytes, digest: () => (digest ??= hash.digest('hex')) };
}
