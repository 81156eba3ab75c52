import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Failpoints: a test-only setting that stops the process at a named phase, so crash
 * and concurrency tests are deterministic instead of a matter of sleeps and luck.
 *
 * `LIFEBOAT_FAILPOINT` lists `name` or `name=action`, comma-separated:
 * - `kill` (the default): the process sends itself SIGKILL there, as `kill -9` would;
 * - `pause`: it writes `<LIFEBOAT_FAILPOINT_DIR>/<name>.paused` (its pid inside) and
 *   waits until `<name>.resume` appears beside it, so a test can act at that moment.
 *
 * Unset, a failpoint is one lookup in a map read once: nothing for production to pay.
 */
type Action = 'kill' | 'pause';

let table: Map<string, Action> | undefined;

function actions(): Map<string, Action> {
  if (table) return table;
  table = new Map();
  for (const item of (process.env.LIFEBOAT_FAILPOINT ?? '').split(',')) {
    const [name, action = 'kill'] = item.trim().split('=');
    if (name && (action === 'kill' || action === 'pause')) table.set(name, action);
  }
  return table;
}

export async function failpoint(name: string): Promise<void> {
  const action = actions().get(name);
  if (!action) return;
  if (action === 'kill') {
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is delivered before the next tick; never go on past a kill failpoint.
    await new Promise(() => {});
  }
  const dir = process.env.LIFEBOAT_FAILPOINT_DIR;
  if (!dir) throw new Error(`failpoint ${name}=pause needs LIFEBOAT_FAILPOINT_DIR`);
  writeFileSync(join(dir, `${name}.paused`), String(process.pid));
  while (!existsSync(join(dir, `${name}.resume`))) await new Promise((resolve) => setTimeout(resolve, 50));
}
