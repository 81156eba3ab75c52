import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AGE_SUFFIX, assertCanEncrypt, type EncryptionSettings, encryptStream } from '../crypto/age.js';
import { connectMaintenance } from '../db/connect.js';
import { databaseExists, withUnsealed } from '../db/databases.js';
import { childEnv, type DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { failpoint } from '../failpoint.js';
import { findPgTool } from '../pg-tools/find.js';
import { runPgTool, toolFailure } from '../pg-tools/run.js';
import { noProgress, type ProgressFn } from '../progress.js';
import { appendJournal } from '../store/journal.js';
import { MANIFEST_FILE, sealManifest } from '../store/manifest-checksum.js';
import { encryptedAtRest, type Manifest } from '../store/manifest.js';
import { snapshotDir, type Store } from '../store/store.js';
import { type Compression, compressionArg, DUMP_FILE } from '../strategies/dump.js';
import { INDEX_FILE, listRemote, REMOTE_FORMAT, type RemoteIndex, snapshotPrefix } from './layout.js';
import { hashing } from './hashing.js';
import type { Remote } from './remote.js';

export interface PushOptions {
  store: Store;
  manifest: Manifest;
  remote: Remote;
  encryption?: EncryptionSettings | undefined;
  /** The database's server: a clone snapshot is dumped from its sealed database there. */
  target?: DatabaseTarget | undefined;
  /** pg_dump compression for a clone snapshot's dump (the config's dump.compression). */
  compression?: Compression;
  /** Push again even when the remote already has this snapshot. */
  force?: boolean;
  onProgress?: ProgressFn;
  signal?: AbortSignal | undefined;
}

export interface PushResult {
  snapshot: string;
  remote: string;
  /** Already on the remote (finished): nothing was uploaded. */
  skipped: boolean;
  /** Bytes stored on the remote (after encryption). */
  bytes: number;
  objects: number;
  encryption: RemoteIndex['encryption'];
  durationMs: number;
  /** How a clone snapshot went off-site: as a pg_dump archive of its database. */
  pushedAs: 'files' | 'dump of the clone';
}

/**
 * Copy one snapshot off the machine, streamed end to end (disk or pg_dump → sha256 →
 * age → sha256 → multipart upload), the manifest last: until it is there the remote
 * lists nothing, so a push cut short at any point is invisible and the next one finishes
 * it by writing every object again. Every push, good or failed, goes into the journal.
 */
export async function pushSnapshot(options: PushOptions): Promise<PushResult> {
  const { store, manifest, remote } = options;
  const started = Date.now();
  const encryption: RemoteIndex['encryption'] = !options.encryption ? 'none' : options.encryption.passphraseEnv ? 'age-passphrase' : 'age-recipients';
  const base = { snapshot: manifest.id, database: manifest.database.name, createdAt: manifest.createdAt, remote: remote.location.display, encryption };
  try {
    await remote.check();
    if (options.encryption) await assertCanEncrypt(options.encryption);
    if (!options.force) {
      const existing = (await listRemote(remote)).snapshots.find((s) => s.id === manifest.id);
      if (existing) {
        return { snapshot: manifest.id, remote: remote.location.display, skipped: true, bytes: existing.bytes, objects: 0, encryption, durationMs: Date.now() - started, pushedAs: 'files' };
      }
    }
    const upload = new Uploader(options);
    let remoteManifest: Manifest;
    if (manifest.strategy === 'clone') {
      remoteManifest = await pushCloneAsDump(options, upload);
    } else {
      if (encryptedAtRest(manifest) && !options.encryption) {
        throw new LifeboatError('CONFIG_INVALID', `Snapshot ${manifest.id} is encrypted at rest, and the config has no encryption now: pushed, it would be listed as unencrypted.`, {
          hint: 'Put the encryption section (with the recipients it was encrypted to) back in lifeboat.config, then push again.',
        });
      }
      for (const file of manifest.files) {
        const path = join(snapshotDir(store, manifest.id), file.path);
        // Encrypted at rest, the file already is the age object the remote holds: sent as it is, never encrypted twice.
        const sent = file.plain ? await upload.sealedFile(file.plain.path, createReadStream(path), file.bytes) : await upload.file(file.path, createReadStream(path), file.bytes);
        if (sent.sha256 !== file.sha256 || sent.bytes !== file.bytes) {
          throw new LifeboatError('SNAPSHOT_CORRUPT', `${file.path} of snapshot ${manifest.id} does not match its manifest here (sha256 or size): it was not pushed as a good copy.`, {
            hint: `Run \`lifeboat verify ${manifest.id}\`; push a snapshot that verifies.`,
          });
        }
      }
      // The remote manifest describes the plain files, as for every pushed snapshot: objects.json has the stored bytes.
      const { checksum: _own, ...content } = manifest;
      remoteManifest = { ...content, files: manifest.files.map((file) => file.plain ?? file) };
    }
    const index: RemoteIndex = {
      format: REMOTE_FORMAT,
      id: manifest.id,
      createdAt: manifest.createdAt,
      pushedAt: new Date().toISOString(),
      encryption,
      manifestKey: `${MANIFEST_FILE}${options.encryption ? AGE_SUFFIX : ''}`,
      objects: upload.objects,
    };
    await remote.put(`${snapshotPrefix(manifest.id)}${INDEX_FILE}`, Readable.from([Buffer.from(`${JSON.stringify(index, null, 2)}\n`)]));
    await failpoint('push:before-manifest');
    const sealed = sealManifest(remoteManifest);
    await upload.raw(index.manifestKey, Buffer.from(sealed.text));
    const result: PushResult = {
      snapshot: manifest.id,
      remote: remote.location.display,
      skipped: false,
      bytes: upload.objects.reduce((sum, o) => sum + o.bytes, 0),
      objects: upload.objects.length + 2,
      encryption,
      durationMs: Date.now() - started,
      pushedAs: manifest.strategy === 'clone' ? 'dump of the clone' : 'files',
    };
    await appendJournal(store, { event: 'push', ...base, ok: true, bytes: result.bytes, durationMs: result.durationMs, pushedAs: result.pushedAs }).catch(() => {});
    return result;
  } catch (error) {
    const code = error instanceof LifeboatError ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    await appendJournal(store, { event: 'push', ...base, ok: false, code, error: message, durationMs: Date.now() - started }).catch(() => {});
    throw error;
  }
}

/** Uploads objects of one snapshot, hashing the plain and the stored bytes on the way. */
class Uploader {
  readonly objects: RemoteIndex['objects'] = [];
  private sent = 0;

  constructor(private readonly options: PushOptions) {}

  /** A data file: its plain sha256 and size (to compare with the manifest), after storing it (encrypted if configured). */
  async file(path: string, source: Readable, expectedBytes: number): Promise<{ sha256: string; bytes: number }> {
    const encryption = this.options.encryption;
    // Unencrypted, the stored bytes are the plain ones: one hash serves both.
    const plain = hashing(encryption ? undefined : (n) => this.progress(n));
    source.on('error', (error) => plain.stream.destroy(error));
    const body = source.pipe(plain.stream);
    if (!encryption) {
      const facts = await this.put(path, body, expectedBytes);
      this.objects.push({ key: path, file: path, bytes: plain.bytes(), sha256: plain.digest(), ...facts });
      return { sha256: plain.digest(), bytes: plain.bytes() };
    }
    // Encrypted on the way: stored exactly as a file encrypted at rest would be.
    await this.sealedFile(path, await encryptStream(encryption, body), expectedBytes);
    return { sha256: plain.digest(), bytes: plain.bytes() };
  }

  /** A file encrypted at rest: stored as it is, under the key an encrypted push gives it; its stored sha256 and size. */
  async sealedFile(path: string, source: Readable, expectedBytes: number): Promise<{ sha256: string; bytes: number }> {
    const stored = hashing((n) => this.progress(n));
    source.on('error', (error) => stored.stream.destroy(error));
    const key = `${path}${AGE_SUFFIX}`;
    const facts = await this.put(key, source.pipe(stored.stream), expectedBytes);
    this.objects.push({ key, file: path, bytes: stored.bytes(), sha256: stored.digest(), ...facts });
    return { sha256: stored.digest(), bytes: stored.bytes() };
  }

  /** A small document (the manifest), encrypted if configured; not listed in the index (it is written after it). */
  async raw(key: string, content: Buffer): Promise<void> {
    const source = Readable.from([content]);
    const body = this.options.encryption ? await encryptStream(this.options.encryption, source) : source;
    await this.put(key, body, content.length);
  }

  private put(key: string, body: Readable, expectedBytes: number) {
    return this.options.remote.put(`${snapshotPrefix(this.options.manifest.id)}${key}`, body, {
      expectedBytes,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
  }

  private progress(n: number): void {
    this.sent += n;
    (this.options.onProgress ?? noProgress)({ phase: 'pushing', bytes: this.sent });
  }
}

/**
 * A clone snapshot is a database on the same server; off-site it becomes a pg_dump
 * archive of it. The clone is sealed (no session can write to it), so the dump is
 * consistent and the live database pays nothing; it is opened only while pg_dump reads,
 * as verify does. The remote manifest is the clone's (row counts, fingerprint: the same
 * data) as a dump snapshot, saying where it came from.
 */
async function pushCloneAsDump(options: PushOptions, upload: Uploader): Promise<Manifest> {
  const { manifest, target } = options;
  const cloneName = manifest.clone!.database;
  if (!target) {
    throw new LifeboatError('URL_INVALID', `Snapshot ${manifest.id} is a clone on the server; pushing it (as a dump of it) needs the database URL.`, {
      hint: 'Pass --database-url or set DATABASE_URL.',
    });
  }
  const tool = await findPgTool('pg_dump', manifest.server.major, manifest.server.version);
  const compression = compressionArg(options.compression ?? 'auto', tool);
  const maintenance = await connectMaintenance(target);
  try {
    if (!(await databaseExists(maintenance, cloneName))) {
      throw new LifeboatError('SNAPSHOT_CORRUPT', `Snapshot ${manifest.id} is a clone and its database "${cloneName}" is gone from the server; it cannot be pushed.`, {
        hint: 'Take a new snapshot and push that one.',
      });
    }
    const { bytes, sha256 } = await withUnsealed(maintenance, cloneName, async () => {
      const { process: child, errors } = await runPgTool(tool, ['--no-password', '--format=custom', compression], {
        env: childEnv(target, cloneName),
        stdout: 'pipe',
        signal: options.signal,
      });
      const sent = upload.file(DUMP_FILE, child.stdout!, manifest.sizeBytes).catch((error: unknown) => {
        child.kill();
        throw error;
      });
      const [result, done] = await Promise.allSettled([child, sent]);
      const exit = result.status === 'fulfilled' ? result.value : undefined;
      if (!exit || exit.exitCode !== 0 || exit.isCanceled) {
        throw toolFailure('SNAPSHOT_FAILED', tool, exit?.exitCode, exit?.isCanceled ? ['interrupted'] : errors, 'Nothing was listed on the remote; fix the cause and push again.');
      }
      if (done.status === 'rejected') throw done.reason;
      return done.value;
    });
    const { checksum: _own, clone: _clone, ...content } = manifest;
    return {
      ...content,
      strategy: 'dump',
      strategyReason: `${manifest.strategyReason}; off-site as a pg_dump of its clone database`,
      dump: { format: 'custom', jobs: 1, compression, tool: tool.name, toolVersion: tool.version },
      sizeBytes: bytes,
      files: [{ path: DUMP_FILE, bytes, sha256 }],
      origin: { strategy: 'clone', database: cloneName },
    };
  } finally {
    await maintenance.end().catch(() => {});
  }
}
