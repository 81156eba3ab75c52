import type { Remote } from './interface.js';
import { parseRemote, type RemoteSettings } from './url.js';

export type { Remote, RemoteObject, StoredFacts } from './interface.js';

/** The remote for these settings; the S3 client (and the AWS SDK) is loaded only here, when one is used. */
export async function openRemote(settings: Pick<RemoteSettings, 'url' | 'endpoint' | 'region' | 'forcePathStyle'>): Promise<Remote> {
  const location = parseRemote(settings);
  if (location.kind === 'file') {
    const { fileRemote } = await import('./file.js');
    return fileRemote(location);
  }
  const { s3Remote } = await import('./s3.js');
  return s3Remote(location);
}
