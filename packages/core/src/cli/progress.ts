import type { spinner } from '@clack/prompts';
import type { Progress, ProgressReporter } from '../progress.js';
import { formatBytes } from './output.js';

/**
 * Progress on stderr for operations that take more than a second, on a TTY only:
 * what is happening and how far (bytes written, tables done). Nothing otherwise.
 */
export function progressOnTty(enabled: boolean): ProgressReporter {
  if (!enabled || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  let latest: Progress | undefined;
  let shown: ReturnType<typeof spinner> | undefined;
  let stopped = false;
  const timer = setTimeout(() => {
    // clack is loaded only when there is something to show.
    void import('@clack/prompts').then(({ spinner: start }) => {
      if (stopped) return;
      shown = start({ output: process.stderr, indicator: 'timer', withGuide: false });
      shown.start(describe(latest));
    });
  }, 1000);
  return {
    onProgress: (progress) => {
      latest = progress;
      shown?.message(describe(progress));
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      shown?.clear();
    },
  };
}

function describe(progress: Progress | undefined): string {
  if (!progress) return 'working';
  const parts = [progress.phase];
  if (progress.bytes !== undefined) parts.push(`${formatBytes(progress.bytes)} written`);
  if (progress.tablesTotal !== undefined) parts.push(`table ${progress.tablesDone ?? 0}/${progress.tablesTotal}`);
  return parts.join(', ');
}
