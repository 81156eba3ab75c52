import { spawn } from 'node:child_process';

/**
 * A child process group that must not outlive Lifeboat, even after `kill -9`: a small
 * `sh` watchdog, in a process group of its own, holds the read end of a pipe whose
 * write end only Lifeboat has. When Lifeboat ends in any way the pipe closes; unless
 * Lifeboat said "done" first, the watchdog sends the group SIGTERM, then SIGKILL two
 * seconds later. No polling, no native code; works wherever there is a POSIX shell.
 */
// Numeric signals and a negative pid: the one spelling of "signal a process group" that dash, bash and zsh all take.
const SCRIPT = `read -r word <&3; [ "$word" = done ] && exit 0; kill -15 "-$1" 2>/dev/null || exit 0; sleep 2; kill -9 "-$1" 2>/dev/null; exit 0`;

export interface Watchdog {
  /** The group ended by itself (or was stopped): let the watchdog go without killing anything. */
  release(): void;
}

/** Watch the process group `pgid` (a child spawned with `detached: true` leads its own group). */
export function watchGroup(pgid: number): Watchdog {
  const dog = spawn('sh', ['-c', SCRIPT, 'lifeboat-watchdog', String(pgid)], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    detached: true,
  });
  dog.on('error', () => {});
  const pipe = dog.stdio[3] as NodeJS.WritableStream & { on(event: 'error', fn: () => void): void };
  pipe.on('error', () => {});
  // Neither the watchdog nor its pipe keeps Lifeboat's event loop alive.
  dog.unref();
  (pipe as unknown as { unref?: () => void }).unref?.();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      pipe.end('done\n');
    },
  };
}

/** Stop a whole process group: SIGTERM, then SIGKILL after `graceMs` if it is still there. */
export async function stopGroup(pgid: number, graceMs = 5_000): Promise<void> {
  const signal = (sig: NodeJS.Signals | 0) => {
    try {
      process.kill(-pgid, sig);
      return true;
    } catch {
      return false;
    }
  };
  if (!signal('SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (!signal(0)) return;
  }
  signal('SIGKILL');
}
