import { type DecryptionKeys, loadKeys } from '../crypto/age.js';
import { type Remote, openRemote } from '../remote/remote.js';
import { chooseRemote, requireRemote } from '../remote/url.js';
import type { CommandContext } from './context.js';

/**
 * `--remote [url]`: work with the remote store, the config's or the one named. A value
 * that is not a URL was meant as the command's argument (`verify --remote latest`), and
 * is handed back as such.
 */
export function splitRemoteFlag(flag: string | boolean | undefined, argument: string | undefined): { remote: string | true | undefined; argument: string | undefined } {
  if (typeof flag === 'string' && !flag.includes('://')) return { remote: true, argument: argument ?? flag };
  return { remote: flag === false ? undefined : flag, argument };
}

/** The remote the command works with (opened: the SDK is loaded here) and the keys to decrypt with, if any. */
export async function commandRemote(ctx: CommandContext, flag: string | true | undefined): Promise<{ remote: Remote; keys: () => Promise<DecryptionKeys | undefined> }> {
  const settings = requireRemote(chooseRemote(ctx.settings.remote, flag));
  const remote = await openRemote(settings);
  let keys: Promise<DecryptionKeys | undefined> | undefined;
  return { remote, keys: () => (keys ??= loadKeys(ctx.settings.encryption)) };
}

export const REMOTE_OPTION = ['--remote [url]', "work with the remote store: the config's `remote`, or this s3://bucket/prefix or file:///path"] as const;
