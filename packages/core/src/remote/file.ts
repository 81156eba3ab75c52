import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { debug } from '../debug.js';
import { LifeboatError } from '../errors.js';
import { fsyncPath } from '../store/files.js';
import type { Remote, RemoteObject, StoredFacts } from './interface.js';
import type { RemoteLocation } from './url.js';

/**
 * A folder as a remote (another disk, a mounted drive or share). Objects are written to a
 * temporary name, synced and renamed, so a reader never sees half a file. The folder must
 * exist: a missing one is most likely a drive that is not mounted, and creating it would
 * put the copies on the wrong disk.
 */
export function fileRemote(location: Extract<RemoteLocation, { kind: 'file' }>): Remote {
  const { root } = location;
  const pathOf = (key: string) => join(root, ...key.split('/'));
  const fail = (error: unknown, what: string) => fileError(error, location.display, what);

  return {
    location,
    async check() {
      const info = await stat(root).catch((error: unknown) => {
        throw fail(error, 'open the folder');
      });
      if (!info.isDirectory()) throw new LifeboatError('REMOTE_NOT_FOUND', `The remote ${location.display} is not a folder.`, { hint: 'Point remote.url at a folder: file:///absolute/path.' });
    },
    async put(key, body) {
      const path = pathOf(key);
      const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
      debug(`file remote: write ${key}`);
      try {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await pipeline(body, createWriteStream(temp, { mode: 0o600, flush: true }));
        const handle = await open(temp, 'r');
        await handle.sync().finally(() => handle.close());
        await rename(temp, path);
        await fsyncPath(dirname(path)).catch(() => {});
        return {};
      } catch (error) {
        await rm(temp, { force: true }).catch(() => {});
        throw fail(error, `write ${key}`);
      }
    },
    async get(key) {
      const path = pathOf(key);
      await stat(path).catch((error: unknown) => {
        throw fail(error, `read ${key}`);
      });
      return createReadStream(path);
    },
    async head(key): Promise<(StoredFacts & { bytes: number }) | undefined> {
      const info = await stat(pathOf(key)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw fail(error, `look at ${key}`);
      });
      if (!info) return undefined;
      // A folder has no server to vouch for its files: reading the local disk back is the check.
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(pathOf(key))) hash.update(chunk as Buffer);
      return { bytes: info.size, checksums: { sha256: hash.digest('hex') } };
    },
    async list(prefix) {
      const out: RemoteObject[] = [];
      const start = pathOf(prefix.replace(/\/+$/, ''));
      async function walk(dir: string): Promise<void> {
        let entries: Dirent[];
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw error;
        }
        for (const entry of entries) {
          const full = join(dir, entry.name);
          if (entry.isDirectory()) await walk(full);
          else if (entry.isFile() && !/\.tmp-[0-9a-f]{12}$/.test(entry.name)) {
            const info = await stat(full);
            out.push({ key: relative(root, full).split(sep).join('/'), bytes: info.size, lastModified: info.mtime.toISOString() });
          }
        }
      }
      await this.check();
      await walk(start).catch((error: unknown) => {
        throw fail(error, `list ${prefix}`);
      });
      return out.sort((a, b) => a.key.localeCompare(b.key));
    },
    async remove(keys) {
      for (const key of keys) {
        await rm(pathOf(key), { force: true }).catch((error: unknown) => {
          throw fail(error, `remove ${key}`);
        });
      }
      // Folders left empty go too, so a removed snapshot leaves no trace.
      for (const dir of new Set(keys.map((k) => dirname(pathOf(k))))) {
        for (let d = dir; d.startsWith(`${root}${sep}`); d = dirname(d)) {
          if ((await readdir(d).catch(() => ['?'])).length > 0) break;
          await rm(d, { recursive: false, force: true }).catch(() => {});
        }
      }
    },
    close() {},
  };
}

function fileError(error: unknown, display: string, what: string): unknown {
  if (error instanceof LifeboatError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new LifeboatError('REMOTE_NOT_FOUND', `The remote ${display} does not exist (could not ${what}).`, {
      hint: 'Mount the drive or create the folder, or fix remote.url; Lifeboat does not create it (it could be a drive that is not mounted).',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new LifeboatError('REMOTE_AUTH', `The remote ${display} refused access (${code}: could not ${what}).`, {
      hint: 'Give this user read and write access to the folder.',
      cause: error,
    });
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new LifeboatError('REMOTE_FAILED', `The disk of the remote ${display} is full (could not ${what}).`, { hint: 'Free space there (lifeboat prune) and push again.', cause: error });
  }
  if (code === 'EIO' || code === 'ENOTCONN' || code === 'ESTALE' || code === 'EHOSTDOWN') {
    return new LifeboatError('REMOTE_UNREACHABLE', `The remote ${display} cannot be reached (${code}: could not ${what}).`, {
      hint: 'Check that the drive or network share is mounted and answering.',
      cause: error,
    });
  }
  return new LifeboatError('REMOTE_FAILED', `The remote ${display} failed: could not ${what} (${code ?? (error instanceof Error ? error.message : String(error))}).`, {
    hint: 'Fix the cause above and run the command again.',
    cause: error,
  });
}
