import { fileURLToPath } from 'node:url';
import { LifeboatError } from '../errors.js';
import type { RetentionPolicy } from '../retention/policy.js';

/** The remote as configured (`remote` in lifeboat.config), its URL possibly replaced by `--remote URL`. */
export interface RemoteSettings {
  url: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  push: 'always' | 'manual';
  retention: RetentionPolicy;
}

/** Where a remote is, parsed once. Keys below it are relative to `prefix`. */
export type RemoteLocation =
  | { kind: 's3'; bucket: string; prefix: string; endpoint: string | undefined; region: string | undefined; forcePathStyle: boolean; display: string }
  | { kind: 'file'; root: string; display: string };

const USAGE_HINT = 'Use s3://bucket/prefix (with remote.endpoint for an S3-compatible service) or file:///absolute/path.';

/**
 * `s3://bucket/prefix` or `file:///path`. An S3 URL may carry `?endpoint=…&region=…&pathStyle=true`
 * (so `--remote` alone can name an S3-compatible service); the config's keys fill in the rest.
 * Credentials are never part of it: a URL with a user or password is refused.
 */
export function parseRemote(settings: Pick<RemoteSettings, 'url' | 'endpoint' | 'region' | 'forcePathStyle'>): RemoteLocation {
  let url: URL;
  try {
    url = new URL(settings.url.trim());
  } catch {
    throw new LifeboatError('CONFIG_INVALID', `The remote "${settings.url}" is not a URL.`, { hint: USAGE_HINT });
  }
  if (url.username || url.password) {
    throw new LifeboatError('CONFIG_INVALID', 'The remote URL carries credentials; Lifeboat takes them only from the standard places.', {
      hint: 'Remove them from the URL: for S3, use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the machine role.',
    });
  }
  if (url.protocol === 'file:') {
    if (url.host !== '' && url.host !== 'localhost') {
      throw new LifeboatError('CONFIG_INVALID', `The remote ${settings.url} names a host; a file:// remote is a local path.`, { hint: 'Use file:///absolute/path (three slashes).' });
    }
    const root = fileURLToPath(url).replace(/\/+$/, '') || '/';
    return { kind: 'file', root, display: `file://${root}` };
  }
  if (url.protocol !== 's3:') {
    throw new LifeboatError('CONFIG_INVALID', `The remote ${settings.url} uses "${url.protocol}", which Lifeboat does not know.`, { hint: USAGE_HINT });
  }
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new LifeboatError('CONFIG_INVALID', `"${bucket}" in ${settings.url} is not a valid bucket name.`, { hint: USAGE_HINT });
  }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  const endpoint = url.searchParams.get('endpoint') ?? settings.endpoint;
  const region = url.searchParams.get('region') ?? settings.region;
  const pathStyle = url.searchParams.get('pathStyle');
  const forcePathStyle = pathStyle !== null ? pathStyle === 'true' : (settings.forcePathStyle ?? false);
  const display = `s3://${bucket}${prefix ? `/${prefix}` : ''}${endpoint ? ` (${new URL(endpoint).host})` : ''}`;
  return { kind: 's3', bucket, prefix, endpoint, region, forcePathStyle, display };
}

/** The remote to use: `--remote URL` over the config's URL (keeping its endpoint and options), else the config's. */
export function chooseRemote(configured: RemoteSettings | undefined, flag: string | true | undefined): RemoteSettings | undefined {
  if (typeof flag === 'string') return { ...(configured ?? { push: 'manual', retention: {} }), url: flag };
  return configured;
}

export function requireRemote(configured: RemoteSettings | undefined): RemoteSettings {
  if (configured) return configured;
  throw new LifeboatError('USAGE', 'No remote store: the config has no `remote` and no --remote URL was given.', {
    hint: "Add remote: { url: 's3://bucket/prefix' } (or file:///path) to lifeboat.config, or pass --remote URL.",
  });
}
