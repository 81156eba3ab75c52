/** The demo's output: numbered sections, aligned tables, readable numbers. */

export type Log = (line: string) => void;

export function section(log: Log, n: number, title: string): void {
  log(`${n}. ${title}`);
  log(`${' '.repeat(String(n).length + 2)}${'-'.repeat(title.length)}`);
}

/** An aligned table, indented; the first `left` columns left-aligned, the others (numbers) right-aligned. */
export function table(log: Log, head: string[], rows: string[][], left = 1): void {
  const indent = '   ';
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `${indent}${r.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ')}`.trimEnd();
  log(line(head));
  log(`${indent}${widths.map((w) => '-'.repeat(w)).join('   ')}`);
  for (const r of rows) log(line(r));
}

/** A row count with thousands separators; null (no such table) as a dash. */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : n.toLocaleString('en-US');
}

export function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** Sizes as the CLI prints them. */
export { formatBytes as bytes } from '../packages/core/src/bytes.js';
