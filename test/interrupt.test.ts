import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { cliPath, databases, query } from './support/db.js';

describe('a snapshot that takes a while', () => {
  const dbs = databases();

  /** A database whose table is locked by another session: a snapshot of it waits until released. */
  async function lockedDatabase() {
    const db = await dbs.create('slow');
    await query(db.url, 'create table t (id int primary key); insert into t select generate_series(1, 1000);');
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table t in access exclusive mode');
    return { db, blocker };
  }

  it('shows its progress on a terminal after a second, and nothing extra with --json', async () => {
    for (const json of [false, true]) {
      const { db, blocker } = await lockedDatabase();
      const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
      const command = [process.execPath, cliPath, 'snapshot', '--strategy', 'dump', '--store', store, ...(json ? ['--json'] : [])];
      // `script` gives the CLI a pseudo-terminal, as a person at a shell has.
      const child = execa('script', ['-qec', `stty cols 120 rows 40; ${command.map((a) => `'${a}'`).join(' ')}`, '/dev/null'], {
        env: { DATABASE_URL: db.url, TERM: 'xterm' },
        reject: false,
      });
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await blocker.query('rollback');
      await blocker.end();
      const result = await child;
      expect(result.exitCode, String(result.stdout)).toBe(0);
      // What a person would read: the terminal's control sequences removed.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what it removes
      const screen = String(result.stdout).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      if (json) {
        expect(screen).not.toMatch(/dumping/);
        expect(JSON.parse(screen.slice(screen.indexOf('{'))).strategy).toBe('dump');
      } else {
        // The lock holds pg_dump before its first table: the spinner shows the dump under way.
        expect(screen).toMatch(/dumping, [\d.]+ k?B written, table 0\/1/);
        expect(screen).toMatch(/Snapshot \S+ of slow_/);
      }
    }
  });

  it('Ctrl-C stops pg_dump, removes what was written, exits 130', async () => {
    const { db, blocker } = await lockedDatabase();
    const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
    const child = execa(process.execPath, [cliPath, 'snapshot', '--strategy', 'dump', '--store', store], {
      env: { DATABASE_URL: db.url },
      reject: false,
    });
    try {
      await waitFor(async () => {
        const waiting = await query(db.url, "select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = $1", [db.name]);
        return waiting.length > 0 && existsSync(join(store, 'snapshots')) && (await readdir(join(store, 'snapshots'))).length > 0;
      });
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(130);
      expect(String(result.stderr)).toMatch(/SIGINT received, stopping and cleaning up/);
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    expect(await readdir(join(store, 'snapshots'))).toEqual([]);
    // Nothing of the snapshot is left waiting on the server either.
    const left = await query(db.url, "select pid from pg_stat_activity where datname = $1 and application_name in ('lifeboat', 'pg_dump')", [db.name]);
    expect(left).toEqual([]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
