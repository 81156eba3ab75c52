import { buffer } from 'node:stream/consumers';
import { AGE_SUFFIX, type DecryptionKeys, decryptText, requireKeys } from '../crypto/age.js';
import { LifeboatError } from '../errors.js';
import { manifestChecksum, MANIFEST_FILE } from '../store/manifest-checksum.js';
import { type Manifest, manifestSchema } from '../store/manifest.js';
import type { Remote } from './remote.js';

/*
 * The remote mirrors the local store: `<prefix>/snapshots/<id>/` holds the data files
 * (`data.dump`, or `data/…` for a directory archive; `.age` appended when encrypted), then
 * `objects.json`, then the manifest (`manifest.json[.age]`), uploaded last. A snapshot
 * exists on the remote when its manifest does: a push cut short leaves a folder without
 * one, which is never listed as a snapshot and which the next push overwrites.
 */

export const INDEX_FILE = 'objects.json';
export const REMOTE_FORMAT = 'lifeboat.remote/v1';

export function snapshotPrefix(id: string): string {
  return `snapshots/${id}/`;
}

/**
 * `objects.json`: what was stored and what the server said about it, in clear (names,
 * sizes, checksums of the stored bytes; nothing of the data), so `verify --remote` can
 * check a copy without the key and without downloading it.
 */
export interface RemoteIndex {
  format: typeof REMOTE_FORMAT;
  id: string;
  createdAt: string;
  pushedAt: string;
  encryption: 'none' | 'age-recipients' | 'age-passphrase';
  manifestKey: string;
  objects: Array<{
    /** The object's key below the snapshot's folder, e.g. data.dump.age. */
    key: string;
    /** The manifest's file it holds, e.g. data.dump. */
    file: string;
    /** Bytes and sha256 as stored (after encryption). */
    bytes: number;
    sha256: string;
    etag?: string;
    checksums?: Record<string, string>;
  }>;
}

export interface RemoteSnapshot {
  id: string;
  /** From the id (the snapshot's start, to the second), so a listing needs no key. */
  createdAt: string;
  bytes: number;
  encrypted: boolean;
  manifestKey: string;
}

export interface RemoteListing {
  snapshots: RemoteSnapshot[];
  /** Folders without a manifest: a push that did not finish (or one under way elsewhere). */
  incomplete: Array<{ id: string; bytes: number; lastModified: string | undefined; keys: string[] }>;
}

const ID = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[0-9a-f]+$/;

export function createdAtOf(id: string): string | undefined {
  const m = ID.exec(id);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : undefined;
}

/** Every snapshot on the remote, oldest first, and the unfinished pushes. */
export async function listRemote(remote: Remote): Promise<RemoteListing & { keysById: Map<string, string[]> }> {
  const objects = await remote.list('snapshots/');
  const byId = new Map<string, typeof objects>();
  for (const object of objects) {
    const [, id] = object.key.split('/');
    if (!id || !ID.test(id)) continue;
    byId.set(id, [...(byId.get(id) ?? []), object]);
  }
  const listing: RemoteListing & { keysById: Map<string, string[]> } = { snapshots: [], incomplete: [], keysById: new Map() };
  for (const [id, own] of [...byId].sort(([a], [b]) => a.localeCompare(b))) {
    const names = own.map((o) => o.key.slice(snapshotPrefix(id).length));
    listing.keysById.set(
      id,
      own.map((o) => o.key),
    );
    const bytes = own.reduce((sum, o) => sum + o.bytes, 0);
    const manifestKey = names.find((n) => n === MANIFEST_FILE || n === `${MANIFEST_FILE}${AGE_SUFFIX}`);
    if (!manifestKey) {
      const newest = own
        .map((o) => o.lastModified ?? '')
        .sort()
        .at(-1);
      listing.incomplete.push({ id, bytes, lastModified: newest || undefined, keys: own.map((o) => o.key) });
      continue;
    }
    listing.snapshots.push({ id, createdAt: createdAtOf(id)!, bytes, encrypted: manifestKey.endsWith(AGE_SUFFIX), manifestKey });
  }
  return listing;
}

/** `latest`, an exact id, or a unique prefix of one. */
export function findRemoteSnapshot(listing: RemoteListing, ref: string, display: string): RemoteSnapshot {
  const { snapshots } = listing;
  const hint = 'Run `lifeboat list --remote` to see what the remote holds.';
  if (ref === 'latest') {
    const newest = snapshots.at(-1);
    if (newest) return newest;
    throw new LifeboatError('SNAPSHOT_NOT_FOUND', `The remote ${display} holds no finished snapshot.`, { hint: 'Push one with `lifeboat push`.' });
  }
  const exact = snapshots.find((s) => s.id === ref);
  if (exact) return exact;
  if (listing.incomplete.some((s) => s.id === ref)) {
    throw new LifeboatError('SNAPSHOT_NOT_FOUND', `Snapshot ${ref} on ${display} was never finished (no manifest: its push was cut short).`, {
      hint: `Push it again from the machine that has it (\`lifeboat push ${ref}\`), or pick another.`,
    });
  }
  const matches = snapshots.filter((s) => s.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new LifeboatError('USAGE', `"${ref}" matches ${matches.length} snapshots on the remote: ${matches.map((m) => m.id).join(', ')}.`, { hint: 'Give more of the id.' });
  throw new LifeboatError('SNAPSHOT_NOT_FOUND', `No snapshot "${ref}" on ${display}.`, { hint });
}

export async function readIndex(remote: Remote, id: string): Promise<RemoteIndex> {
  const text = (await buffer(await remote.get(`${snapshotPrefix(id)}${INDEX_FILE}`))).toString('utf8');
  try {
    const index = JSON.parse(text) as RemoteIndex;
    if (index.format !== REMOTE_FORMAT || !Array.isArray(index.objects)) throw new Error('unknown format');
    return index;
  } catch (error) {
    throw new LifeboatError('SNAPSHOT_CORRUPT', `${INDEX_FILE} of snapshot ${id} on ${remote.location.display} cannot be read (${error instanceof Error ? error.message : String(error)}).`, {
      hint: 'Push the snapshot again, or pick another one.',
    });
  }
}

/**
 * The remote manifest: downloaded, decrypted when it is encrypted (the key is needed
 * first, so a missing or wrong key stops here, before anything is created), and checked
 * against its own checksum. Returns it with its text as stored.
 */
export async function readRemoteManifest(remote: Remote, snapshot: RemoteSnapshot, keys: DecryptionKeys | undefined): Promise<{ manifest: Manifest; text: string }> {
  const what = `snapshot ${snapshot.id} on ${remote.location.display}`;
  const raw = await buffer(await remote.get(`${snapshotPrefix(snapshot.id)}${snapshot.manifestKey}`));
  const text = snapshot.encrypted ? await decryptText(requireKeys(keys, `Snapshot ${snapshot.id} on ${remote.location.display}`), raw, what) : raw.toString('utf8');
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new LifeboatError('SNAPSHOT_CORRUPT', `The manifest of ${what} is not valid JSON.`, { hint: 'Pick another snapshot (`lifeboat list --remote`).' });
  }
  if (typeof value.checksum === 'string' && value.checksum !== manifestChecksum(value)) {
    throw new LifeboatError('SNAPSHOT_CORRUPT', `The manifest of ${what} does not match its own checksum: it was changed after it was pushed.`, {
      hint: 'Do not restore it; pick another snapshot (`lifeboat list --remote`).',
    });
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success || parsed.data.id !== snapshot.id) {
    throw new LifeboatError('SNAPSHOT_CORRUPT', `The manifest of ${what} is not a Lifeboat manifest for it.`, { hint: 'Pick another snapshot (`lifeboat list --remote`).' });
  }
  return { manifest: parsed.data, text };
}
