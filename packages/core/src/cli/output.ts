import { redact } from '../secrets.js';

import { formatBytes } from '../bytes.js';

export { formatBytes };

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

/**
 * Streams whose reader went away (\`lifeboat status | head -1\`) or that failed to write.
 * Output is a report, not the work: a command in the middle of a deploy or a restore
 * stops writing there and finishes what it is doing.
 */
const closed = new Set<NodeJS.WritableStream>();

/** Call once at start-up: a closed stdout or stderr ends the output quietly, never the command. */
export function tolerateClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => closed.add(stream));
  }
}

/** Write unless the stream is closed; a write that fails at once (a file on a full disk) closes it too. */
export function writeTo(stream: NodeJS.WriteStream, text: string): void {
  if (closed.has(stream)) return;
  try {
    stream.write(text);
  } catch {
    closed.add(stream);
  }
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
      if (!json) writeTo(process.stdout, `${redact(text)}\n`);
    },
    note: (text) => {
      writeTo(process.stderr, `${redact(text)}\n`);
    },
    document: (value) => {
      if (!json || documentWritten) return;
      documentWritten = true;
      writeTo(process.stdout, `${redact(JSON.stringify(value, null, 2))}\n`);
    },
  };
}

/** One folder in the store that is not a snapshot (no manifest, no marker), as list, prune and status report it. */
export function notASnapshot(folder: { id: string; bytes: number }): string {
  return `${folder.id} (${formatBytes(folder.bytes)}) is not a snapshot Lifeboat can use: it has no manifest.json and no .incomplete marker; prune never removes it`;
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
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}
