import type { Settings } from '../config/resolve.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import type { ProgressFn } from '../progress.js';
import { appendJournal } from '../store/journal.js';
import type { Manifest } from '../store/manifest.js';
import type { Store } from '../store/store.js';
import { pushSnapshot } from './push.js';
import { openRemote } from './remote.js';

/** What the automatic push did, for the command's report and --json. */
export interface AutoPush {
  ok: boolean;
  snapshot: string;
  remote: string;
  bytes?: number;
  durationMs?: number;
  error?: { code: string; message: string; hint: string | null };
}

/**
 * `remote.push: 'always'`: push the snapshot just taken. It never throws: the snapshot is
 * the restore point and it is local, so a push that fails (the remote down, the
 * credentials refused) is said, recorded in the journal (status shows the missing copy),
 * and left for `lifeboat push` to retry; the command goes on as if no remote were set.
 */
export async function pushIfConfigured(input: {
  settings: Settings;
  store: Store;
  manifest: Manifest;
  target: DatabaseTarget | undefined;
  onNotice: (message: string) => void;
  onProgress?: ProgressFn;
  signal?: AbortSignal | undefined;
}): Promise<AutoPush | undefined> {
  const { settings, manifest } = input;
  if (!settings.remote || settings.remote.push !== 'always') return undefined;
  let display = settings.remote.url;
  try {
    const remote = await openRemote(settings.remote);
    display = remote.location.display;
    try {
      const result = await pushSnapshot({
        store: input.store,
        manifest,
        remote,
        encryption: settings.encryption,
        target: input.target,
        compression: settings.dump.compression,
        ...(input.onProgress ? { onProgress: input.onProgress } : {}),
        signal: input.signal,
      });
      input.onNotice(`pushed snapshot ${manifest.id} to ${result.remote}${result.encryption === 'none' ? '' : ' (encrypted)'} in ${(result.durationMs / 1000).toFixed(1)} s`);
      return { ok: true, snapshot: manifest.id, remote: result.remote, bytes: result.bytes, durationMs: result.durationMs };
    } finally {
      remote.close();
    }
  } catch (error) {
    const failure = error instanceof LifeboatError ? error : new LifeboatError('REMOTE_FAILED', error instanceof Error ? error.message : String(error));
    // pushSnapshot records its own failures; a remote that could not even be opened (a bad URL) is recorded here.
    if (failure.code === 'CONFIG_INVALID') {
      await appendJournal(input.store, {
        event: 'push',
        snapshot: manifest.id,
        database: manifest.database.name,
        createdAt: manifest.createdAt,
        remote: display,
        ok: false,
        code: failure.code,
        error: failure.message,
      }).catch(() => {});
    }
    input.onNotice(`warning: snapshot ${manifest.id} was NOT pushed off-site: ${failure.message} It is kept here; \`lifeboat push ${manifest.id}\` retries.`);
    return { ok: false, snapshot: manifest.id, remote: display, error: { code: failure.code, message: failure.message, hint: failure.hint ?? null } };
  }
}
