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
 * `env` (the sessions' settings) goes over the command's own.
 */
export function commandRun(file: string, args: string[], options: { cwd?: string; env?: Record<string, string>; describe?: string } = {}): MigrationRun {
  return {
    describe: options.describe ?? [file, ...args].map((a) => (/[\s"'$]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a)).join(' '),
    async run({ signal, output, onSpawn, env }): Promise<RunOutcome> {
      const { execa } = await import('execa');
      const direct = output === 'inherit' && process.stdout.isTTY === true;
      const child = execa(file, args, {
        cwd: options.cwd,
        env: env ? { ...options.env, ...env } : options.env,
        stdin: 'ignore',
        stdout: direct ? 'inherit' : 'pipe',
        stderr: 'inherit',
        buffer: false,
        reject: false,
        detached: true,
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
        const result = await child;
        if (signal.aborted) return { exitCode: 130, error: 'interrupted' };
        if (result.failed && result.exitCode === undefined) {
          return { exitCode: 127, error: result.code === 'ENOENT' ? `${file} was not found` : result.shortMessage };
        }
        return result.exitCode === 0 ? { exitCode: 0 } : { exitCode: result.exitCode ?? 1, error: `exited with code ${result.exitCode}` };
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
