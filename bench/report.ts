/** The printed table: one line per row, the notes under it, the machine line. */
import { formatBytes, formatMs, type Row } from './lib.js';
import type { Probe } from './probes.js';

export interface Machine {
  cores: number;
  cpu: string;
  memoryBytes: number;
  os: string;
  node: string;
  server: 'embedded' | 'external';
  postgres: string;
  postgresVersion: string;
  pgDump: string;
  pgRestore: string;
  settings: Record<string, string>;
  loadAverage: { start: number[]; end?: number[] };
}

function comparison(row: Row): string {
  if (row.value === undefined || Number.isNaN(row.value)) return '—';
  switch (row.compare) {
    case 'ratio':
      return `×${row.value.toFixed(2)}`;
    case 'difference':
      return `${row.value >= 0 ? '+' : '−'}${formatMs(Math.abs(row.value))}`;
    case 'share':
      return `${(row.value * 100).toFixed(1)} %`;
    case 'absolute':
      return formatMs(row.value);
    default:
      return '—';
  }
}

export function formatTable(rows: Row[], floorMs: number | undefined): string[] {
  const header = ['case', 'measured', 'median', 'baseline', 'median', 'result', 'target', 'met', '÷ floor'];
  const body = rows.map((row) => [
    row.id,
    row.measured,
    formatMs(row.measuredMs),
    row.baseline,
    row.baselineMs === undefined ? '' : formatMs(row.baselineMs),
    comparison(row),
    row.target,
    row.met === undefined ? '' : row.met ? 'yes' : 'NO',
    floorMs && row.measuredMs !== undefined && !row.id.includes(':') && row.id !== 'floor' && row.id !== 'deploy-noop' && row.compare !== 'absolute' ? `×${(row.measuredMs / floorMs).toFixed(1)}` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const right = new Set([2, 4, 5, 8]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

export function machineLine(m: Machine): string {
  return (
    `Machine: ${m.cores} cores (${m.cpu}), ${formatBytes(m.memoryBytes)} RAM, ${m.os}, Node ${m.node}; ` +
    `PostgreSQL ${m.postgresVersion} (${m.server}; shared_buffers ${m.settings.shared_buffers}, max_wal_size ${m.settings.max_wal_size}); ` +
    `${m.pgDump}; ${m.pgRestore}; load average ${m.loadAverage.start.map((l) => l.toFixed(2)).join(' ')} at start` +
    (m.loadAverage.end ? `, ${m.loadAverage.end.map((l) => l.toFixed(2)).join(' ')} at end` : '')
  );
}

export function formatProbes(probes: Probe[]): string[] {
  if (probes.length === 0) return [];
  const width = Math.max(...probes.map((p) => p.what.length));
  return ["Where Lifeboat's time goes (each piece timed alone, once):", ...probes.map((p) => `  ${p.what.padEnd(width)}  ${formatMs(p.ms).padStart(9)}`)];
}
