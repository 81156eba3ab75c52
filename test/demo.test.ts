import { describe, expect, it } from 'vitest';
import { type DemoResult, runDemo, SHOP_TABLES } from '../demo/run.js';
import { adminUrl, databaseNames } from './support/db.js';

describe('the demo (pnpm demo), on the test server', () => {
  it('loses orders to an accident and gets every row back with the real CLI, then cleans up after itself', async () => {
    const lines: string[] = [];
    const result: DemoResult = await runDemo({ log: (line) => lines.push(line), adminUrl: adminUrl() });

    // The shop was really built.
    expect(result.rowsBefore.customers).toBe(2400);
    expect(result.rowsBefore.products).toBe(240);
    expect(result.rowsBefore.orders).toBe(6000);
    expect(result.rowsBefore.order_items).toBeGreaterThan(10_000);

    // The snapshots' manifests counted the same rows; both strategies appeared.
    expect(result.snapshots.auto.strategy).toBe('clone');
    expect(result.snapshots.dump.strategy).toBe('dump');
    expect(result.snapshots.auto.id).not.toBe(result.snapshots.dump.id);
    for (const t of SHOP_TABLES) {
      expect(result.snapshots.auto.rows[t], t).toBe(result.rowsBefore[t]);
      expect(result.snapshots.dump.rows[t], t).toBe(result.rowsBefore[t]);
    }

    // The accident really removed the two tables, and only those.
    expect(result.rowsAfterDamage).toEqual({ ...result.rowsBefore, orders: null, order_items: null });

    // The restore gave back every table, row for row.
    expect(result.restore.snapshot).toBe(result.snapshots.auto.id);
    expect(result.restore.database).toBe(result.database);
    expect(result.rowsAfterRestore).toEqual(result.rowsBefore);
    expect(result.digestAfterRestore).toEqual(result.digestBefore);

    // The damaged database was kept, as it was after the accident.
    expect(result.replaced).toMatch(/__lifeboat_replaced_/);
    expect(result.replaced.startsWith(`${result.database}__lifeboat_replaced_`)).toBe(true);
    expect(result.rowsInReplaced).toEqual(result.rowsAfterDamage);

    // The dump snapshot restored beside it is the same data.
    expect(result.dumpRestore.database).toBe(result.dumpCopy);
    expect(result.rowsFromDump).toEqual(result.rowsBefore);
    expect(result.digestFromDump).toEqual(result.digestBefore);

    // It told the story.
    const text = lines.join('\n');
    for (const heading of ['1. A shop database', '3. The accident', '5. Everything is back']) expect(text).toContain(heading);
    expect(text).toContain(result.replaced);
    expect(text).not.toContain(new URL(adminUrl()).password || '\u0000');

    // Nothing of its own is left on the server.
    expect(result.cleanedUp).toEqual(expect.arrayContaining([result.database, result.replaced, result.dumpCopy, result.snapshots.auto.cloneDatabase]));
    expect(await databaseNames(`${result.database}%`)).toEqual([]);
    expect(await databaseNames(result.snapshots.auto.cloneDatabase!)).toEqual([]);
  });
});
