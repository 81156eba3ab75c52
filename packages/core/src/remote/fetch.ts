import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type DecryptionKeys, decryptStream, requireKeys } from '../crypto/age.js';
import { LifeboatError } from '../errors.js';
import { noProgress, type ProgressFn } from '../progress.js';
import { mkdirPrivate, removeFoldersOfGoneProcesses } from '../store/files.js';
import type { Manifest } from '../store/manifest.js';
import { beginSnapshot, finishSnapshot, openStore, removeSnapshot, snapshotDir, type Store } from '../store/store.js';
import { findRemoteSnapshot, listRemote, readIndex, readRemoteManifest, type RemoteSnapshot, snapshotPrefix } from './layout.js';
import { hashing } from './hashing.js';
import type { Remote } from './remote.js';

export interface Fetched {
  /** A store of its own holding just this snapshot, as a local one: manifest (with its journal record) and files. */
  store: Store;
  manifest: Manifest;
  remoteSnapshot: RemoteSnapshot;
  bytes: number;
  durationMs: number;
  /** Removes the fetched copy. */
  dispose(): Promise<void>;
}

/**
 * Bring a remote snapshot onto this machine, into a folder of its own below the local
 * store (`<store>/remote-fetch/…`), as a finished local snapshot that the usual restore,
 * verify and drill then use unchanged. The manifest comes first (decrypted: a missing or
 * wrong key fails here, before a byte of data or a database is made); every file is
 * checked twice on the way: the stored bytes against objects.json, the decrypted bytes
 * against the manifest's sha256.
 */
export async function fetchSnapshot(options: { remote: Remote; ref: string; into: Store; keys: DecryptionKeys | undefined; onProgress?: ProgressFn }): Promise<Fetched> {
  const { remote } = options;
  const onProgress = options.onProgress ?? noProgress;
  const started = Date.now();
  onProgress({ phase: 'reading the remote' });
  await remote.check();
  const listing = await listRemote(remote);
  const snapshot = findRemoteSnapshot(listing, options.ref, remote.location.display);
  const { manifest } = await readRemoteManifest(remote, snapshot, options.keys);
  const index = await readIndex(remote, snapshot.id);

  const fetchRoot = join(options.into.root, 'remote-fetch');
  await removeFoldersOfGoneProcesses(fetchRoot);
  const store = openStore(join(fetchRoot, `${process.pid}-${randomBytes(3).toString('hex')}`));
  const dispose = () => rm(store.root, { recursive: true, force: true });
  let bytes = 0;
  try {
    await mkdirPrivate(join(store.root, 'snapshots'));
    await beginSnapshot(store, manifest.id);
    for (const file of manifest.files) {
      const object = index.objects.find((o) => o.file === file.path);
      if (!object) throw corrupt(snapshot, `${file.path} is not in its objects.json`);
      const stored = hashing((n) => {
        bytes += n;
        onProgress({ phase: 'downloading', bytes });
      });
      const source = await remote.get(`${snapshotPrefix(snapshot.id)}${object.key}`);
      source.on('error', (error) => stored.stream.destroy(error));
      const counted = source.pipe(stored.stream);
      const path = join(snapshotDir(store, manifest.id), file.path);
      await mkdirPrivate(dirname(path));
      // Unencrypted, the stored bytes are the plain ones: one hash serves both checks.
      const plain = snapshot.encrypted ? hashing() : stored;
      if (snapshot.encrypted) {
        const body = await decryptStream(requireKeys(options.keys, `Snapshot ${snapshot.id}`), counted, `${object.key} of snapshot ${snapshot.id}`);
        await pipeline(body, plain.stream, createWriteStream(path, { mode: 0o600, flush: true }));
      } else {
        await pipeline(counted, createWriteStream(path, { mode: 0o600, flush: true }));
      }
      if (stored.bytes() !== object.bytes || stored.digest() !== object.sha256) throw corrupt(snapshot, `${object.key} is not the object that was pushed (size or sha256 of the stored bytes)`);
      if (plain.bytes() !== file.bytes || plain.digest() !== file.sha256) throw corrupt(snapshot, `${file.path} does not match the manifest's sha256${snapshot.encrypted ? ' once decrypted' : ''}`);
    }
    const written = await finishSnapshot(store, manifest, { fetchedFrom: remote.location.display });
    return { store, manifest: written, remoteSnapshot: snapshot, bytes, durationMs: Date.now() - started, dispose };
  } catch (error) {
    await removeSnapshot(store, manifest.id).catch(() => {});
    await dispose().catch(() => {});
    throw error;
  }
}

function corrupt(snapshot: RemoteSnapshot, problem: string): LifeboatError {
  return new LifeboatError('SNAPSHOT_CORRUPT', `Snapshot ${snapshot.id} on the remote failed its checks: ${problem}.`, {
    hint: 'Nothing was restored; pick another snapshot (`lifeboat list --remote`) or push this one again.',
  });
}
