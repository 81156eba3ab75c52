import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pathToFileURL } from 'node:url';
import { inject } from 'vitest';
import { openRemote } from '../../packages/core/src/remote/remote.js';
import { repoRoot } from './db.js';

/** The secret the tests give the AWS SDK: s3rver checks only the access key id, so any secret works, and this one must never be printed. */
export const TEST_AWS_SECRET = 'lifeboat-TEST-aws-secret-9f3Kq';

/**
 * A remote for one test under the run's S3 endpoint (the s3rver started by the global
 * setup, or LIFEBOAT_TEST_S3_URL): its `remote` config block and the environment the CLI
 * needs for credentials.
 */
export function s3Remote(name: string, overrides: Record<string, unknown> = {}): { config: Record<string, unknown>; env: Record<string, string> } {
  const s3 = inject('s3');
  const prefix = `${name}-${randomBytes(4).toString('hex')}`;
  const local = s3.accessKeyId !== undefined;
  return {
    config: {
      url: `${s3.url}/${prefix}`,
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(local ? { forcePathStyle: true, region: 'us-east-1' } : {}),
      ...overrides,
    },
    env: local ? { AWS_ACCESS_KEY_ID: s3.accessKeyId!, AWS_SECRET_ACCESS_KEY: TEST_AWS_SECRET } : {},
  };
}

export async function writeConfig(dir: string, config: Record<string, unknown>): Promise<void> {
  await writeFile(join(dir, 'lifeboat.config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** Every object of a remote with its content, read through Lifeboat's own remote (the real SDK), credentials from `env`. */
export async function remoteContents(config: Record<string, unknown>, env: Record<string, string>): Promise<Map<string, Buffer>> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const remote = await openRemote(config as { url: string });
  try {
    const out = new Map<string, Buffer>();
    for (const object of await remote.list('')) out.set(object.key, await buffer(await remote.get(object.key)));
    return out;
  } finally {
    remote.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A new age identity and its recipient, from the age-encryption package Lifeboat uses. */
export async function ageKeyPair(): Promise<{ identity: string; recipient: string }> {
  const path = createRequire(join(repoRoot, 'packages/core/package.json')).resolve('age-encryption');
  const age = (await import(pathToFileURL(path).href)) as { generateIdentity(): Promise<string>; identityToRecipient(identity: string): Promise<string> };
  const identity = await age.generateIdentity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}
