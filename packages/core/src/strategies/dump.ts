import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AGE_SUFFIX, type EncryptionSettings, encryptStream } from '../crypto/age.js';
import { childEnv, type DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import type { PgTool } from '../pg-tools/find.js';
import { runPgTool, toolFailure } from '../pg-tools/run.js';
import type { ProgressFn } from '../progress.js';
import { hashing } from '../remote/hashing.js';
import { asStoreFull, freeBytes, isNoSpace, listFiles, makePrivate, sha256File } from '../store/files.js';

export type DumpFormat = 'custom' | 'directory';

/** `auto`: lz4 where pg_dump has it (16+), else gzip level 1: speed over size. */
export type Compression = 'auto' | 'none' | 'lz4' | 'zstd' | `gzip${'' | `:${number}`}`;

/** pg_dump's compression flag for this client version. */
export function compressionArg(compression: Compression, tool: PgTool): string {
  const modern = tool.major >= 16;
  if (compression === 'auto') return modern ? '--compress=lz4' : '--compress=1';
  if (compression === 'none') return modern ? '--compress=none' : '--compress=0';
  if (compression === 'lz4' || compression === 'zstd') {
    if (!modern) {
      throw new LifeboatError('USAGE', `pg_dump ${tool.version} cannot compress with ${compression} (pg_dump 16 or newer can).`, {
        hint: 'Use compression "auto" or "gzip:N", or newer client tools.',
      });
    }
    return `--compress=${compression}`;
  }
  const level = compression === 'gzip' ? 6 : Number(compression.slice(5));
  return modern ? `--compress=gzip:${level}` : `--compress=${level}`;
}

export interface SnapshotFile {
  path: string;
  bytes: number;
  sha256: string;
  /** An encrypted file: what it decrypts to. */
  plain?: { path: string; bytes: number; sha256: string };
}

export interface DumpOptions {
  target: DatabaseTarget;
  tool: PgTool;
  /** The snapshot folder; the dump goes to `data.dump` (custom) or `data/` (directory). */
  dir: string;
  format: DumpFormat;
  jobs: number;
  compression: Compression;
  /** An exported snapshot (pg_export_snapshot) to dump, so the manifest's counts match the data. */
  exportedSnapshot?: string;
  /** Tables dumped without their data. */
  excludeData?: ReadonlyArray<{ schema: string; name: string }>;
  tablesTotal: number;
  /** Encrypt the archive as it is written (custom format only: a directory archive is written by pg_dump itself). */
  encryption?: EncryptionSettings | undefined;
  onProgress: ProgressFn;
  signal?: AbortSignal | undefined;
}

export const DUMP_FILE = 'data.dump';
export const DUMP_DIR = 'data';

/**
 * pg_dump into the snapshot folder. The custom format streams through us so the
 * sha256 is computed as the bytes go by: one pass over the data, not two.
 */
export async function dumpDatabase(options: DumpOptions): Promise<SnapshotFile[]> {
  const { target, tool, dir, format } = options;
  const args = ['--verbose', '--no-password', `--format=${format === 'custom' ? 'custom' : 'directory'}`, compressionArg(options.compression, tool)];
  if (options.exportedSnapshot) args.push(`--snapshot=${options.exportedSnapshot}`);
  for (const table of options.excludeData ?? []) args.push(`--exclude-table-data=${exactPattern(table)}`);
  if (format === 'directory') args.push(`--jobs=${options.jobs}`, `--file=${join(dir, DUMP_DIR)}`);

  let bytes = 0;
  let tablesDone = 0;
  const report = () => options.onProgress({ phase: 'dumping', bytes, tablesDone, tablesTotal: options.tablesTotal });
  report();
  const { process: child, errors } = await runPgTool(tool, args, {
    env: childEnv(target),
    signal: options.signal,
    stdout: format === 'custom' ? 'pipe' : 'ignore',
    onLine: (line) => {
      if (/dumping contents of table/.test(line)) {
        tablesDone++;
        report();
      }
    },
  });

  let files: SnapshotFile[];
  if (format === 'custom') {
    const hash = createHash('sha256');
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        report();
        callback(null, chunk);
      },
    });
    const encryption = options.encryption;
    const path = join(dir, encryption ? `${DUMP_FILE}${AGE_SUFFIX}` : DUMP_FILE);
    // Encrypted at rest, the plain bytes only ever exist in this stream: sha256 of both sides, in the one pass.
    const stored = encryption ? hashing() : undefined;
    const written = encryption
      ? (async () => {
          child.stdout!.on('error', (error) => counter.destroy(error));
          const sealed = await encryptStream(encryption, child.stdout!.pipe(counter));
          await pipeline(sealed, stored!.stream, createWriteStream(path, { mode: 0o600, flush: true }));
        })()
      : pipeline(child.stdout!, counter, createWriteStream(path, { mode: 0o600, flush: true }));
    // A write that fails (a full disk) stops pg_dump: it must not outlive its dump.
    const streamed = written.then(
      () => undefined,
      (error: unknown) => {
        child.kill();
        return error;
      },
    );
    const [streamError, result] = await Promise.all([streamed, child]);
    if (isNoSpace(streamError)) throw await asStoreFull(streamError, path);
    if (result.exitCode !== 0 || result.isCanceled) throw failure(tool, result.exitCode, errors, result.isCanceled);
    if (streamError) throw streamError;
    const plain = { path: DUMP_FILE, bytes, sha256: hash.digest('hex') };
    files = stored ? [{ path: `${DUMP_FILE}${AGE_SUFFIX}`, bytes: stored.bytes(), sha256: stored.digest(), plain }] : [plain];
  } else {
    const result = await child;
    if (result.exitCode !== 0 && !result.isCanceled && (await ranOutOfSpace(errors, dir))) {
      throw await asStoreFull(Object.assign(new Error(errors[0] ?? 'no space left'), { code: 'ENOSPC' }), join(dir, DUMP_DIR));
    }
    if (result.exitCode !== 0 || result.isCanceled) throw failure(tool, result.exitCode, errors, result.isCanceled);
    await makePrivate(join(dir, DUMP_DIR));
    files = [];
    for (const rel of await listFiles(join(dir, DUMP_DIR))) {
      const path = join(DUMP_DIR, rel);
      const { size } = await stat(join(dir, path));
      files.push({ path, bytes: size, sha256: await sha256File(join(dir, path)) });
    }
  }
  return files;
}

/** A pg_dump pattern that matches exactly this table (quoted, so no wildcards or case folding). */
function exactPattern(table: { schema: string; name: string }): string {
  const quote = (part: string) => `"${part.replace(/"/g, '""')}"`;
  return `${quote(table.schema)}.${quote(table.name)}`;
}

/** Less than this free after a failed dump: the failure was the full disk. */
const NEARLY_FULL_BYTES = 1 << 20;

/**
 * Whether pg_dump (directory format, writing its own files) failed for want of space: it
 * says so (in English), or the disk is as good as full (when its messages are translated).
 */
async function ranOutOfSpace(errors: string[], dir: string): Promise<boolean> {
  if (errors.some((line) => /No space left on device|Disk quota exceeded/i.test(line))) return true;
  const free = await freeBytes(dir);
  return free !== undefined && free < NEARLY_FULL_BYTES;
}

function failure(tool: PgTool, exitCode: number | undefined, errors: string[], canceled: boolean) {
  if (canceled) return toolFailure('SNAPSHOT_FAILED', tool, exitCode, ['interrupted'], 'The snapshot was interrupted; nothing was kept.');
  return toolFailure('SNAPSHOT_FAILED', tool, exitCode, errors, 'Nothing was kept; fix the cause above and run the snapshot again.');
}
