import type { ResultPromise } from 'execa';
import { debug } from '../debug.js';
import { LifeboatError, firstLine } from '../errors.js';
import { watchGroup } from '../process/watchdog.js';
import type { PgTool } from './find.js';

/**
 * Start a PostgreSQL client tool with the connection in its environment, reading
 * its verbose stderr line by line (progress) and keeping its errors for the report.
 */
export async function runPgTool(
  tool: PgTool,
  args: string[],
  options: { env: Record<string, string>; onLine?: (line: string) => void; signal?: AbortSignal | undefined; stdout?: 'pipe' | 'ignore'; stdin?: 'pipe' | 'ignore' },
): Promise<{ process: ResultPromise; errors: string[] }> {
  // execa is loaded when a tool first runs: it is the heaviest import at start-up.
  const { execa } = await import('execa');
  const errors: string[] = [];
  debug(
    `run ${tool.path} ${args.join(' ')} (connection in PG* environment: ${Object.keys(options.env)
      .filter((k) => k !== 'PGPASSWORD')
      .join(', ')})`,
  );
  const child = execa(tool.path, args, {
    env: { ...options.env, PGCONNECT_TIMEOUT: options.env.PGCONNECT_TIMEOUT ?? '10' },
    extendEnv: true,
    stdin: options.stdin ?? 'ignore',
    stdout: options.stdout ?? 'ignore',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: false },
    reject: false,
    // Its own process group: a Ctrl-C at the terminal reaches Lifeboat only, which stops the
    // tool when it means to (cancelSignal) and never in the middle of a rollback's restore.
    detached: true,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  // Its own group is watched too: a pg_restore must not go on loading after Lifeboat was killed.
  if (child.pid !== undefined) {
    const watchdog = watchGroup(child.pid);
    child.finally(() => watchdog.release()).catch(() => {});
  }
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (/\b(error|fatal|warning)\b:/i.test(line) || /^(pg_dump|pg_restore|psql): (error|detail|hint)/.test(line)) errors.push(line);
      options.onLine?.(line);
    }
  });
  return { process: child, errors };
}

/** The error a failed tool run becomes: its first error line, secrets removed. */
export function toolFailure(code: 'SNAPSHOT_FAILED' | 'RESTORE_FAILED' | 'SNAPSHOT_CORRUPT', tool: PgTool, exitCode: number | undefined, errors: string[], hint: string): LifeboatError {
  const detail = errors.length > 0 ? firstLine(errors.join('\n')).replace(/^(pg_dump|pg_restore): (error: )?/, '') : `exited with code ${exitCode ?? 'unknown'}`;
  return new LifeboatError(code, `${tool.name} failed: ${detail}`, { hint });
}
