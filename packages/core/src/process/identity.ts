import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * A process as a record can name it: pid, machine, and (on Linux) its start time, so a
 * pid the kernel reused for another program is not taken for the one that wrote it.
 */
export interface ProcessIdentity {
  pid: number;
  host: string;
  /** /proc/<pid>/stat's start time in clock ticks since boot; absent where there is no /proc. */
  start?: string;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function identify(pid = process.pid): ProcessIdentity {
  const start = startTime(pid);
  return { pid, host: hostname(), ...(start ? { start } : {}) };
}

/**
 * Whether that process still runs. On another machine we cannot tell and say yes, so
 * nothing is cleaned up under a writer that may be alive.
 */
export function isAlive(who: ProcessIdentity): boolean {
  if (who.host !== hostname()) return true;
  try {
    process.kill(who.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (who.start === undefined) return true;
  return startTime(who.pid) === who.start;
}
