import type { DecryptionKeys } from '../crypto/age.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { verifySnapshot, type VerifyResult } from '../snapshot/verify.js';
import { appendJournal } from '../store/journal.js';
import type { Store } from '../store/store.js';
import { fetchSnapshot } from './fetch.js';
import { INDEX_FILE, listRemote, readIndex, type RemoteSnapshot, snapshotPrefix } from './layout.js';
import type { Remote } from './remote.js';

/**
 * Check copies on the remote. Without `deep`: every object is there with the size, ETag
 * and checksums the server gave when it was stored (objects.json), asked of the server
 * without downloading anything and without the key. With `deep`: each snapshot is
 * downloaded, decrypted and checked as `fetch` does (stored and plain sha256s), then
 * verified as a local one is, every byte of the archive read back by pg_restore.
 * Each result goes into the local journal (`verify-remote`).
 */
export async function verifyRemote(options: {
  remote: Remote;
  store: Store;
  ids: string[] | undefined;
  deep: boolean;
  keys: DecryptionKeys | undefined;
  target?: DatabaseTarget | undefined;
}): Promise<VerifyResult[]> {
  const { remote, store } = options;
  await remote.check();
  const listing = await listRemote(remote);
  const chosen = options.ids === undefined ? listing.snapshots : options.ids.map((id) => pick(listing.snapshots, id, remote));
  const results: VerifyResult[] = [];
  for (const snapshot of chosen) {
    const result = options.deep ? await deepCheck(options, snapshot) : await shallowCheck(remote, snapshot);
    result.ok = result.problems.length === 0;
    results.push(result);
    await appendJournal(store, { event: 'verify-remote', snapshot: snapshot.id, remote: remote.location.display, deep: options.deep, ok: result.ok, problems: result.problems }).catch(() => {});
  }
  return results;
}

function pick(snapshots: RemoteSnapshot[], ref: string, remote: Remote): RemoteSnapshot {
  const found =
    ref === 'latest'
      ? snapshots.at(-1)
      : (snapshots.find((s) => s.id === ref) ?? (snapshots.filter((s) => s.id.startsWith(ref)).length === 1 ? snapshots.find((s) => s.id.startsWith(ref)) : undefined));
  if (found) return found;
  throw new LifeboatError('SNAPSHOT_NOT_FOUND', `No snapshot "${ref}" on ${remote.location.display}.`, { hint: 'Run `lifeboat list --remote` to see what the remote holds.' });
}

async function shallowCheck(remote: Remote, snapshot: RemoteSnapshot): Promise<VerifyResult> {
  const result: VerifyResult = { id: snapshot.id, ok: true, checks: [], problems: [] };
  const index = await readIndex(remote, snapshot.id).catch((error: unknown) => {
    if (error instanceof LifeboatError && error.code === 'SNAPSHOT_CORRUPT') {
      result.problems.push(error.message);
      return undefined;
    }
    throw error;
  });
  if (!index) return result;
  for (const object of index.objects) {
    const now = await remote.head(`${snapshotPrefix(snapshot.id)}${object.key}`);
    if (!now) {
      result.problems.push(`${object.key} is missing`);
      continue;
    }
    if (now.bytes !== object.bytes) result.problems.push(`${object.key} is ${now.bytes} bytes, ${object.bytes} were stored`);
    if (object.etag && now.etag && now.etag !== object.etag) result.problems.push(`${object.key}: the server's ETag changed since it was stored`);
    for (const [name, value] of Object.entries(object.checksums ?? {})) {
      const current = now.checksums?.[name];
      if (current !== undefined && current !== value) result.problems.push(`${object.key}: the server's ${name} changed since it was stored`);
    }
    // A folder has no server: its files were read back and hashed.
    if (now.checksums?.sha256 !== undefined && now.checksums.sha256 !== object.sha256) result.problems.push(`${object.key} does not match the sha256 of what was stored`);
  }
  const said = index.objects.some((o) => o.etag || o.checksums)
    ? 'size, ETag and checksums the server reports'
    : remote.location.kind === 'file'
      ? 'size and sha256 (read back from the folder)'
      : 'size';
  result.checks.push(`${index.objects.length} object(s) and ${INDEX_FILE}: ${said}, as stored (nothing downloaded)`);
  if (!(await remote.head(`${snapshotPrefix(snapshot.id)}${snapshot.manifestKey}`))) result.problems.push(`${snapshot.manifestKey} is missing`);
  return result;
}

async function deepCheck(options: { remote: Remote; store: Store; keys: DecryptionKeys | undefined; target?: DatabaseTarget | undefined }, snapshot: RemoteSnapshot): Promise<VerifyResult> {
  const result: VerifyResult = { id: snapshot.id, ok: true, checks: [], problems: [] };
  let fetched: Awaited<ReturnType<typeof fetchSnapshot>>;
  try {
    fetched = await fetchSnapshot({ remote: options.remote, ref: snapshot.id, into: options.store, keys: options.keys });
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'SNAPSHOT_CORRUPT') {
      result.problems.push(error.message);
      return result;
    }
    throw error;
  }
  try {
    result.checks.push(`downloaded${snapshot.encrypted ? ' and decrypted' : ''}: the stored bytes match objects.json, every file matches the manifest's sha256`);
    const local = await verifySnapshot(fetched.store, fetched.manifest, options.target);
    result.checks.push(...local.checks);
    result.problems.push(...local.problems);
  } finally {
    await fetched.dispose();
  }
  return result;
}
