import { redact } from '../secrets.js';

/** How a command talks: human lines on stdout, or one JSON document with --json. */
export interface Output {
  json: boolean;
  /** A line for people (suppressed with --json). */
  line(text?: string): void;
  /** A side remark for people, on stderr (also with --json: stdout keeps the one document). */
  note(text: string): void;
  /** The command's one JSON document (only with --json). */
  document(value: unknown): void;
}

/** Whether this process already wrote its JSON document (there is only ever one). */
let documentWritten = false;

export function hasWrittenDocument(): boolean {
  return documentWritten;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    line: (text = '') => {
      if (!json) process.stdout.write(`${redact(text)}\n`);
    },
    note: (text) => {
      process.stderr.write(`${redact(text)}\n`);
    },
    document: (value) => {
      if (!json || documentWritten) return;
      documentWritten = true;
      process.stdout.write(`${redact(JSON.stringify(value, null, 2))}\n`);
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Left-aligned columns for small tables. */
export function columns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}
