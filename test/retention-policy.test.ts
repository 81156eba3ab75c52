import { describe, expect, it } from 'vitest';
import { retained } from '../packages/core/src/retention/policy.js';

/** restic's forget, read the same way: any rule keeps a snapshot; a bucket rule keeps the newest of each of its newest N buckets. */
describe('retention policy', () => {
  const now = new Date('2026-03-31T12:00:00Z');
  // Two a day from 1 January to 31 March.
  const items = Array.from({ length: 90 * 2 }, (_, i) => {
    const at = new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 2) * 86_400_000 + (i % 2) * 43_200_000);
    return { id: at.toISOString(), createdAt: at.toISOString() };
  });

  it('keeps everything without a rule, the newest N with keep, and what any rule keeps', () => {
    expect(retained(items, {}, now).size).toBe(items.length);
    expect([...retained(items, { keep: 3 }, now).keys()]).toEqual(['2026-03-31T12:00:00.000Z', '2026-03-31T00:00:00.000Z', '2026-03-30T12:00:00.000Z']);
    expect(retained(items, { maxAgeDays: 2 }, now).size).toBe(4);
  });

  it('daily, weekly and monthly keep the newest of each of the last N days, ISO weeks and months', () => {
    const daily = retained(items, { daily: 7 }, now);
    expect([...daily.keys()]).toEqual(Array.from({ length: 7 }, (_, d) => new Date(Date.UTC(2026, 2, 31 - d, 12)).toISOString()));
    expect(daily.get('2026-03-31T12:00:00.000Z')).toBe('the newest of its day (2026-03-31)');
    const weekly = [...retained(items, { weekly: 3 }, now)];
    // 31 March 2026 is a Tuesday: its week (W14) began on Monday 30 March; the weeks before end on Sundays.
    expect(weekly).toEqual([
      ['2026-03-31T12:00:00.000Z', 'the newest of its week (2026-W14)'],
      ['2026-03-29T12:00:00.000Z', 'the newest of its week (2026-W13)'],
      ['2026-03-22T12:00:00.000Z', 'the newest of its week (2026-W12)'],
    ]);
    expect([...retained(items, { monthly: 12 }, now).keys()]).toEqual(['2026-03-31T12:00:00.000Z', '2026-02-28T12:00:00.000Z', '2026-01-31T12:00:00.000Z']);
    // Together: the union, each with the first rule that keeps it.
    const all = retained(items, { keep: 1, daily: 2, monthly: 2 }, now);
    expect([...all]).toEqual([
      ['2026-03-31T12:00:00.000Z', 'one of the newest 1'],
      ['2026-03-30T12:00:00.000Z', 'the newest of its day (2026-03-30)'],
      ['2026-02-28T12:00:00.000Z', 'the newest of its month (2026-02)'],
    ]);
  });
});
