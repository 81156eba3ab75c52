import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../demo/run.js';
import { adminUrl, databaseNames } from './support/db.js';

const fmt = (n: number) => n.toLocaleString('en-US');

describe('the demo (pnpm demo), on the test server', () => {
  it('a guarded Knex deploy: a good migration kept, a bad archive caught and rolled back, the fixed one applied; then cleans up after itself', async () => {
    const lines: string[] = [];
    const result: DemoResult = await runDemo({ log: (line) => lines.push(line), adminUrl: adminUrl() });
    const { good, bad, fixed } = result.deploys;
    const dataCheck = (report: typeof good) => report.checks.find((c) => c.name === 'data-preservation')!;

    // The shop was built by the app's first migration and its seed.
    expect(result.seeded).toMatchObject({ customers: 1200, products: 120, orders: 6000, order_items: 15_000, orders_archive: null, knex_migrations: 1 });
    expect(result.ordersByYear).toEqual({ 2021: 400, 2022: 800, 2023: 1200, 2024: 1600, 2025: 2000 });
    expect(result.oldOrders).toEqual({ orders: 1200, items: 3000 });

    // The good deploy: applied, its snapshot kept, every check passed.
    expect(good).toMatchObject({ outcome: 'applied', exitCode: 0, migrated: ['20260112090000_add_shipped_at.cjs'] });
    expect(good.snapshot?.strategy).toBe('clone');
    expect(good.checks.every((c) => c.ok)).toBe(true);
    expect(result.shippedAtFilled).toBeGreaterThan(0);

    // The bad deploy: the data-preservation check caught the orders the wrong WHERE deleted, and Lifeboat rolled back.
    expect(bad).toMatchObject({ outcome: 'checks-failed-rolled-back', exitCode: 21 });
    expect(bad.snapshot?.strategy).toBe('clone');
    expect(dataCheck(bad).ok).toBe(false);
    expect(dataCheck(bad).problems).toContain('table public.orders lost 4,000 of 6,000 rows (66.7%), beyond the allowance (allow.rowLoss: at most 25%)');
    expect(result.bad.left).toMatchObject({ orders: 2000, orders_archive: 1200 });
    expect(result.bad.ordersInNeitherTable).toBe(2800);
    // After the rollback: the database as before the deploy, every row of every table.
    expect(result.bad.after).toEqual(result.bad.before);
    expect(result.bad.digestAfter).toEqual(result.bad.digestBefore);
    expect(Object.keys(result.bad.digestBefore)).toEqual(expect.arrayContaining(['public.orders', 'public.order_items', 'public.knex_migrations']));

    // The fixed migration, same file, same command: applied, with the loss the config allows.
    expect(fixed).toMatchObject({ outcome: 'applied', exitCode: 0, migrated: ['20260114090000_archive_old_orders.cjs'] });
    expect(dataCheck(fixed)).toMatchObject({ ok: true, problems: [] });
    expect(dataCheck(fixed).allowed).toContain(`table public.orders lost ${fmt(result.oldOrders.orders)} of 6,000 rows (20%)`);
    expect(result.fixed.after).toMatchObject({ orders: 6000 - result.oldOrders.orders, orders_archive: result.oldOrders.orders });
    expect(result.fixed.archived).toEqual(result.oldOrders);

    // It told the story.
    const text = lines.join('\n');
    for (const heading of ['1. The shop', '2. A good deploy', '3. A bad deploy', '4. The fix', '5. Timings']) expect(text).toContain(heading);
    expect(text).toContain('table public.orders lost 4,000 of 6,000 rows (66.7%), beyond the allowance (allow.rowLoss: at most 25%)');
    expect(text).toContain('identical to before the deploy');
    expect(text).not.toContain(new URL(adminUrl()).password || '\u0000');

    // Nothing of its own is left on the server or on disk.
    expect(result.cloneDatabases).toHaveLength(3);
    expect(result.cleanedUp).toEqual(expect.arrayContaining([result.database, bad.restore!.replaced!, ...result.cloneDatabases]));
    expect(await databaseNames(`${result.database}%`)).toEqual([]);
    for (const clone of result.cloneDatabases) expect(await databaseNames(clone)).toEqual([]);
    expect(existsSync(result.project)).toBe(false);
  });
});
