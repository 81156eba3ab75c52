import { spawn } from 'node:child_process';
import { stopGroup, watchGroup } from '../process/watchdog.js';
import type { MigrationRun, RunOutcome } from './adapter.js';

/**
 * A migrate command as a child process: the real tool with the user's arguments, its
 * output streamed live, its exit code kept. It leads a process group of its own, watched
 * so that it never outlives Lifeboat, even after `kill -9` (process/watchdog.ts).
 * Aborting (Ctrl-C) sends the whole group SIGTERM, then SIGKILL after 10 s. Its stdin is
 * not the terminal: a group that is not in the foreground must not read it, and a guarded
 * migration has nothing to ask. Its stdout is the terminal when Lifeboat's is one (colours,
 * progress); otherwise it flows through Lifeboat, so a reader that goes away
 * (`lifeboat knex migrate:latest | head`) ends the output, never the migration. The run's
 * `env` (the sessions' settings) goes over the command's own. Node's own `spawn`, not
 * execa: this runs on every deploy, the no-op one included, and execa's two dozen modules
 * cost more to load than the whole pending read.
 */
export function commandRun(file: string, args: string[], options: { cwd?: string; env?: Record<string, string>; describe?: string } = {}): MigrationRun {
  const describe = options.describe ?? [file, ...args].map((a) => (/[\s"'$]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a)).join(' ');
  return {
    describe,
    async run({ signal, output, onSpawn, env }): Promise<RunOutcome> {
      const direct = output === 'inherit' && process.stdout.isTTY === true;
      const child = spawn(file, args, {
        cwd: options.cwd,
        env: { ...process.env, ...options.env, ...env },
        stdio: ['ignore', direct ? 'inherit' : 'pipe', 'inherit'],
        detached: true,
      });
      // Listened to at once: a command that cannot start reports 'error' on the next tick.
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
        child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, error }));
        child.once('close', (code, signal) => resolve({ code, signal }));
      });
      const pid = child.pid;
      const watchdog = pid === undefined ? undefined : watchGroup(pid);
      if (pid !== undefined) onSpawn?.(pid);
      const stop = () => {
        if (pid !== undefined) void stopGroup(pid, 10_000);
      };
      signal.addEventListener('abort', stop, { once: true });
      if (!direct && child.stdout) forward(child.stdout, output === 'stderr' ? process.stderr : process.stdout);
      try {
        const result = await ended;
        if (signal.aborted) return { exitCode: 130, error: 'interrupted' };
        if (result.error) return { exitCode: 127, error: result.error.code === 'ENOENT' ? `${file} was not found` : `${file} could not start: ${result.error.message}` };
        if (result.code === null) return { exitCode: 127, error: `${describe} was killed with ${result.signal ?? 'a signal'}` };
        return result.code === 0 ? { exitCode: 0 } : { exitCode: result.code, error: `exited with code ${result.code}` };
      } finally {
        signal.removeEventListener('abort', stop);
        // Whatever the tool left running in its group goes with it.
        if (pid !== undefined && !signal.aborted) await stopGroup(pid, 2_000);
        watchdog?.release();
      }
    },
  };
}

/** Copy a child's output to ours for as long as ours takes it, and keep draining the child's after: it must never block on a full pipe. */
function forward(from: NodeJS.ReadableStream, to: NodeJS.WriteStream): void {
  const ignore = () => {};
  to.on('error', ignore);
  from.on('data', (chunk: Buffer) => {
    if (to.writable && !to.destroyed) to.write(chunk, ignore);
  });
  from.once('close', () => to.off('error', ignore));
}
