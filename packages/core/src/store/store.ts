import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LifeboatError } from '../errors.js';
import { failpoint } from '../failpoint.js';
import { identify, isAlive } from '../process/identity.js';
import { fsyncPath, isStoreFull, mkdirPrivate, sizeOf, writeFileAtomic } from './files.js';
import { appendJournal } from './journal.js';
import { type Manifest, manifestSchema } from './manifest.js';
import { MANIFEST_FILE, sealManifest } from './manifest-checksum.js';
import { snapshotDir, snapshotsDir, type Store } from './location.js';

/**
 * The snapshot store: `<root>/snapshots/<id>/` holds a snapshot's data and its
 * `manifest.json`. A folder whose manifest is not written yet (it still has the
 * `.incomplete` marker) does not exist as far as everything but `prune` is concerned.
 * A folder with neither is not Lifeboat's to judge: it is reported and never removed.
 */
export type { Store } from './location.js';
export { openStore, snapshotDir, snapshotsDir } from './location.js';

const INCOMPLETE = '.incomplete';

/** Written before any data, removed after the manifest: who is writing, and what to clean up. */
export interface IncompleteMarker {
  pid: number;
  host: string;
  /** The writer's start time (process/identity.ts), so a reused pid is not taken for it. */
  start?: string;
  startedAt: string;
  /** A clone snapshot's database on the server, to drop if the writer died. */
  cloneDatabase?: string;
}

/** Create the store if needed and prove it can be written, before any work starts. */
export async function ensureWritable(store: Store): Promise<void> {
  try {
    await mkdirPrivate(snapshotsDir(store));
    const probe = join(store.root, `.write-test-${process.pid}`);
    await writeFileAtomic(probe, 'ok');
    await rm(probe, { force: true });
  } catch (error) {
    if (isStoreFull(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new LifeboatError('STORE_NOT_WRITABLE', `The snapshot store ${store.root} cannot be written (${code}).`, {
      hint: 'Fix its permissions or point --store at a writable folder.',
      cause: error,
    });
  }
}

/** Sortable and unique: 20261124-091500-3f9a. */
export function newSnapshotId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export async function beginSnapshot(store: Store, id: string, marker: Omit<IncompleteMarker, 'pid' | 'host' | 'startedAt'> = {}): Promise<void> {
  const dir = snapshotDir(store, id);
  await mkdirPrivate(dir);
  const full: IncompleteMarker = { ...identify(), startedAt: new Date().toISOString(), ...marker };
  try {
    await writeFileAtomic(join(dir, INCOMPLETE), JSON.stringify(full));
  } catch (error) {
    // A folder without the marker would be left alone by prune forever.
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
}

export async function updateMarker(store: Store, id: string, marker: Partial<IncompleteMarker>): Promise<void> {
  const path = join(snapshotDir(store, id), INCOMPLETE);
  const current = JSON.parse(await readFile(path, 'utf8')) as IncompleteMarker;
  await writeFileAtomic(path, JSON.stringify({ ...current, ...marker }));
}

/**
 * The manifest is written last, with its checksum, and the journal records its sha256;
 * only then is the marker removed and the snapshot exists. A writer that dies before
 * leaves a marked folder that prune removes. Returns the manifest as written.
 */
export async function finishSnapshot(store: Store, manifest: Manifest, journalExtra: Record<string, unknown> = {}): Promise<Manifest> {
  const dir = snapshotDir(store, manifest.id);
  const sealed = sealManifest(manifestSchema.parse(manifest));
  await writeFileAtomic(join(dir, MANIFEST_FILE), sealed.text);
  await failpoint('snapshot:before-journal');
  await appendJournal(store, {
    event: 'snapshot',
    snapshot: manifest.id,
    database: manifest.database.name,
    strategy: manifest.strategy,
    reason: manifest.reason,
    durationMs: manifest.durationMs,
    bytes: manifest.sizeBytes,
    manifestSha256: sealed.sha256,
    ...journalExtra,
  });
  await rm(join(dir, INCOMPLETE), { force: true });
  await fsyncPath(dir);
  return sealed.manifest;
}

/**
 * The marker goes back in first: a removal cut short leaves an unfinished folder whose
 * writer is gone (prune finishes it), never a folder without a manifest that looks foreign.
 */
export async function removeSnapshot(store: Store, id: string): Promise<void> {
  const dir = snapshotDir(store, id);
  if (!existsSync(dir)) return;
  await writeFileAtomic(join(dir, INCOMPLETE), JSON.stringify({ ...identify(), startedAt: new Date().toISOString(), removing: true })).catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

export interface StoreListing {
  snapshots: Manifest[];
  /** Folders with no finished manifest: in progress, or left by a writer that died. */
  incomplete: Array<{ id: string; marker: IncompleteMarker | undefined; inProgress: boolean }>;
  /** Folders whose manifest cannot be read: reported, never used. */
  unreadable: Array<{ id: string; problem: string }>;
  /**
   * Folders with neither a manifest nor the marker (a manifest removed by hand, something
   * copied in): not a snapshot Lifeboat can use, but maybe one someone can. Reported with
   * their size, never removed.
   */
  withoutManifest: Array<{ id: string; bytes: number }>;
}

export async function listStore(store: Store): Promise<StoreListing> {
  const listing: StoreListing = { snapshots: [], incomplete: [], unreadable: [], withoutManifest: [] };
  let entries: string[];
  try {
    entries = await readdir(snapshotsDir(store));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return listing;
    throw new LifeboatError('STORE_NOT_WRITABLE', `The snapshot store ${store.root} cannot be read (${(error as NodeJS.ErrnoException).code}).`, {
      hint: 'Fix its permissions or point --store at the right folder.',
      cause: error,
    });
  }
  for (const id of entries.sort()) {
    const dir = snapshotDir(store, id);
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) continue;
    const markerText = await readFile(join(dir, INCOMPLETE), 'utf8').catch(() => undefined);
    const manifestText = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined);
    if (markerText !== undefined) {
      const marker = safeJson(markerText) as IncompleteMarker | undefined;
      listing.incomplete.push({ id, marker, inProgress: marker !== undefined && writerAlive(marker) });
      continue;
    }
    if (manifestText === undefined) {
      listing.withoutManifest.push({ id, bytes: await sizeOf(dir).catch(() => 0) });
      continue;
    }
    const parsed = manifestSchema.safeParse(safeJson(manifestText));
    if (parsed.success) listing.snapshots.push(parsed.data);
    else listing.unreadable.push({ id, problem: parsed.error.issues[0]?.message ?? 'invalid manifest' });
  }
  listing.snapshots.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return listing;
}

/** `latest`, an exact id, or a unique prefix of one. */
export async function findSnapshot(store: Store, ref: string): Promise<Manifest> {
  const { snapshots, unreadable, withoutManifest } = await listStore(store);
  if (ref === 'latest') {
    const newest = snapshots.at(-1);
    if (newest) return newest;
    throw new LifeboatError('SNAPSHOT_NOT_FOUND', `The store ${store.root} has no finished snapshot.`, {
      hint: 'Take one with `lifeboat snapshot`.',
    });
  }
  const exact = snapshots.find((s) => s.id === ref);
  if (exact) return exact;
  const broken = unreadable.find((s) => s.id === ref);
  if (broken) {
    throw new LifeboatError('SNAPSHOT_CORRUPT', `Snapshot ${ref} has an unreadable manifest (${broken.problem}).`, {
      hint: 'Restore another snapshot (`lifeboat list`); this one cannot be trusted.',
    });
  }
  if (withoutManifest.some((s) => s.id === ref)) {
    throw new LifeboatError('SNAPSHOT_NOT_FOUND', `${ref} in ${store.root} has no ${MANIFEST_FILE}: it is not a snapshot Lifeboat can use.`, {
      hint: `Put its ${MANIFEST_FILE} back if you have it, or pick another snapshot (\`lifeboat list\`). Lifeboat never removes this folder.`,
    });
  }
  const matches = snapshots.filter((s) => s.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new LifeboatError('USAGE', `"${ref}" matches ${matches.length} snapshots: ${matches.map((m) => m.id).join(', ')}.`, {
      hint: 'Give more of the id.',
    });
  }
  throw new LifeboatError('SNAPSHOT_NOT_FOUND', `No snapshot "${ref}" in ${store.root}.`, {
    hint: 'Run `lifeboat list` to see the snapshots in this store (or check --store).',
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function writerAlive(marker: IncompleteMarker): boolean {
  return isAlive({ pid: marker.pid, host: marker.host, ...(marker.start ? { start: marker.start } : {}) });
}
