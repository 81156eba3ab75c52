import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decryptStream, loadKeys, requireKeys } from '../crypto/age.js';
import { LifeboatError } from '../errors.js';
import { hashing } from '../remote/hashing.js';
import { asStoreFull, isNoSpace, mkdirPrivate, removeFoldersOfGoneProcesses } from '../store/files.js';
import type { Manifest } from '../store/manifest.js';
import { snapshotDir, type Store } from '../store/store.js';

/** A snapshot's archive in clear, for pg_restore, and removing it. */
export interface DecryptedArchive {
  /** The folder holding the plain files, by their manifest `plain.path`. */
  dir: string;
  dispose(): Promise<void>;
}

/**
 * Decrypt a snapshot encrypted at rest into a private folder of the store
 * (`<store>/decrypted/<pid>-<random>/`, 0700, files 0600), checking every file against
 * the manifest's plain sha256 on the way. pg_restore then reads a seekable file (a
 * parallel restore needs one), and the caller disposes of it in a `finally`; a crash
 * leaves it until the next decryption in this store removes it. The key is checked
 * first: a missing or wrong one fails here, before anything is made on the server.
 */
export async function decryptArchive(store: Store, manifest: Manifest): Promise<DecryptedArchive> {
  const keys = requireKeys(await loadKeys(store.encryption), `Snapshot ${manifest.id}`);
  const root = join(store.root, 'decrypted');
  await removeFoldersOfGoneProcesses(root);
  const dir = join(root, `${process.pid}-${randomBytes(3).toString('hex')}`);
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    await mkdirPrivate(dir);
    for (const file of manifest.files) {
      if (!file.plain) continue;
      const plain = hashing();
      const path = join(dir, file.plain.path);
      const source = createReadStream(join(snapshotDir(store, manifest.id), file.path));
      const body = await decryptStream(keys, source, `${file.path} of snapshot ${manifest.id}`);
      await pipeline(body, plain.stream, createWriteStream(path, { mode: 0o600 })).catch(async (error: unknown) => {
        throw isNoSpace(error) ? await asStoreFull(error, path) : error;
      });
      if (plain.bytes() !== file.plain.bytes || plain.digest() !== file.plain.sha256) {
        throw new LifeboatError('SNAPSHOT_CORRUPT', `Snapshot ${manifest.id}: ${file.path} decrypts to bytes that do not match the manifest's sha256 of ${file.plain.path}.`, {
          hint: 'Do not restore it; pick another snapshot with `lifeboat list`. Nothing was changed.',
        });
      }
    }
    return { dir, dispose };
  } catch (error) {
    await dispose().catch(() => {});
    throw error;
  }
}
