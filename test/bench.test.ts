import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { adminUrl, databaseNames, repoRoot } from './support/db.js';

/** Every row the table must have, one per case and phase. */
const ROWS = [
  'floor',
  'snapshot-dump',
  'snapshot-clone',
  'restore-dump',
  'restore-clone',
  'restore-clone-swap',
  'deploy-noop',
  'deploy-one',
  'deploy-one:lock',
  'deploy-one:pending',
  'deploy-one:snapshot',
  'deploy-one:migrate',
  'deploy-one:checks',
  'deploy-additive',
  'deploy-one-table',
  'rollback-one-table',
  'rollback-one-table:reader',
  'plan',
  'push',
  'push-age',
  'restore-remote',
];

// A smoke test only: it checks that the benchmark runs and prints its table. No timing is
// asserted (the figures of one run on a tiny database, on a shared test server, mean nothing).
describe('the benchmark (pnpm bench), on a tiny database', () => {
  it('runs every case once, prints the table with every row and the machine, writes the JSON, and leaves nothing behind', { timeout: 600_000 }, async () => {
    const out = await mkdtemp(join(tmpdir(), 'lifeboat-bench-test-'));
    try {
      const result = await execa('tsx', ['bench/run.ts', '--size', 'tiny', '--runs', '1', '--database-url', adminUrl(), '--out', out], {
        cwd: repoRoot,
        preferLocal: true,
        reject: false,
        stdin: 'ignore',
      });
      const stdout = String(result.stdout);
      expect(result.exitCode, `${stdout}\n${String(result.stderr)}`).toBe(0);

      const lines = stdout.split('\n');
      const header = lines.find((line) => line.startsWith('case '));
      expect(header).toMatch(/case\s+measured\s+median\s+baseline\s+median\s+result\s+target\s+met/);
      for (const id of ROWS) {
        const row = lines.find((line) => line.split(/\s{2,}/)[0]?.trim() === id);
        expect(row, `row ${id} in:\n${stdout}`).toBeDefined();
        expect(row).not.toContain('FAILED');
      }
      expect(stdout).toMatch(/^Machine: \d+ cores .*PostgreSQL \d+.*pg_dump .*pg_restore /m);
      expect(stdout).not.toContain(new URL(adminUrl()).password || '\u0000');

      const files = readdirSync(out).filter((f) => f.endsWith('-tiny.json'));
      expect(files).toHaveLength(1);
      const doc = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
      expect(doc.machine.cores).toBeGreaterThan(0);
      expect(doc.rows.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining(ROWS));
      expect(doc.cases.every((c: { runs: unknown[] }) => c.runs.length === 1)).toBe(true);

      // Its databases are gone (with --database-url it names them lifeboat_bench_<random>).
      expect(await databaseNames('lifeboat\\_bench\\_%')).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
