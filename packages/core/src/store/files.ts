import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm, stat, statfs, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { formatBytes } from '../bytes.js';
import { LifeboatError } from '../errors.js';

/** Folders are private to the user: snapshots hold the whole database. */
export async function mkdirPrivate(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw await asStoreFull(error, path);
  }
}

/** The file system (or the user's quota there) has no room left. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function isStoreFull(error: unknown): error is LifeboatError {
  return error instanceof LifeboatError && error.code === 'STORE_FULL';
}

/** Bytes an unprivileged writer can still use on the file system holding `path` (its nearest existing folder). */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const fs = await statfs(dir);
      return fs.bavail * fs.bsize;
    } catch {
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/** A write that failed for want of space becomes STORE_FULL (with the free space); any other error is left as it is. */
export async function asStoreFull(error: unknown, path: string): Promise<unknown> {
  if (!isNoSpace(error)) return error;
  const free = await freeBytes(path);
  return new LifeboatError('STORE_FULL', `The disk holding ${dirname(path)} is full${free === undefined ? '' : ` (${formatBytes(free)} free)`}: ${basename(path)} could not be written.`, {
    hint: 'Free space on that disk, or point --store at a folder on a bigger one, then run the command again.',
    cause: error,
  });
}

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the data files themselves were synced.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL' && (error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
}

/** Write a file so that readers see either the old content or the whole new one. */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw await asStoreFull(error, path);
  }
  await fsyncPath(dirname(path));
}

/** Append one line durably (the journal). A line that does not fit is cut off again: the next append starts on a line of its own. */
export async function appendLine(path: string, line: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'a', 0o600);
  } catch (error) {
    throw await asStoreFull(error, path);
  }
  let before: number | undefined;
  try {
    before = (await handle.stat()).size;
    await handle.appendFile(`${line}\n`);
    await handle.sync();
  } catch (error) {
    if (before !== undefined) await handle.truncate(before).catch(() => {});
    throw await asStoreFull(error, path);
  } finally {
    await handle.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every regular file below `root`, as paths relative to it, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push(relative(root, full));
    }
  }
  await walk(root);
  return out.sort();
}

/** Make what a child process wrote private (it used its own umask). */
export async function makePrivate(path: string): Promise<void> {
  const info = await stat(path);
  if (info.isDirectory()) {
    await chmod(path, 0o700);
    for (const entry of await readdir(path)) await makePrivate(join(path, entry));
  } else {
    await chmod(path, 0o600);
  }
}

export async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

/**
 * Folders named `<pid>-<random>` below `root` whose process is gone: what a crash left
 * between making a working copy (a fetched snapshot, a decrypted archive) and removing it.
 */
export async function removeFoldersOfGoneProcesses(root: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) await rm(join(root, name), { recursive: true, force: true }).catch(() => {});
  }
}
