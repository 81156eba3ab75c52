import type { MigrationRun, RunOutcome } from './adapter.js';

/**
 * A migrate command as a child process: the real tool with the user's arguments,
 * its output streamed live, its exit code kept. Aborting sends it SIGTERM.
 */
export function commandRun(file: string, args: string[], options: { cwd?: string; env?: Record<string, string>; describe?: string } = {}): MigrationRun {
  return {
    describe: options.describe ?? [file, ...args].map((a) => (/[\s"'$]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a)).join(' '),
    async run({ signal, output }): Promise<RunOutcome> {
      const { execa } = await import('execa');
      const child = execa(file, args, {
        cwd: options.cwd,
        env: options.env,
        stdin: 'inherit',
        stdout: output === 'inherit' ? 'inherit' : 'pipe',
        stderr: 'inherit',
        buffer: false,
        reject: false,
        cancelSignal: signal,
        forceKillAfterDelay: 10_000,
      });
      if (output === 'stderr') child.stdout?.pipe(process.stderr, { end: false });
      const result = await child;
      if (result.failed && result.exitCode === undefined) {
        const reason = result.isCanceled ? 'interrupted' : result.code === 'ENOENT' ? `${file} was not found` : result.shortMessage;
        return { exitCode: result.isCanceled ? 130 : 127, error: reason };
      }
      return result.exitCode === 0 ? { exitCode: 0 } : { exitCode: result.exitCode ?? 1, error: `exited with code ${result.exitCode}` };
    },
  };
}
