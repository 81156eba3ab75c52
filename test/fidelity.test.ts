import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dataDigest, databaseNames, databases, hasPagila, json, lifeboat, loadPagila, pagilaDir, query, schemaDump, urlFor } from './support/db.js';

if (!hasPagila) console.warn(`fidelity tests skipped: the pagila fixture is not at ${pagilaDir}`);

describe.skipIf(!hasPagila)('fidelity on pagila', () => {
  const dbs = databases();
  let source: { name: string; url: string };
  let store: string;
  let schema: string;
  let data: Record<string, string>;

  beforeAll(async () => {
    source = await dbs.create('pagila');
    await loadPagila(source.url);
    store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
    schema = await schemaDump(source.url);
    data = await dataDigest(source.url);
    expect(Object.keys(data).length).toBeGreaterThan(20);
  });

  for (const [strategy, extra] of [
    ['dump', []],
    ['dump', ['--format', 'directory', '--jobs', '2']],
    ['clone', []],
  ] as const) {
    it(`${strategy} ${extra.join(' ')} snapshot restored with --to is identical: schema and every row`, async () => {
      const taken = await lifeboat(['snapshot', '--strategy', strategy, ...extra, '--store', store, '--json'], { url: source.url });
      expect(taken.exitCode, taken.stderr).toBe(0);
      const manifest = json(taken);
      expect(manifest.strategy).toBe(strategy);
      expect(manifest.tables.find((t: { name: string }) => t.name === 'rental').rows).toBe(16044);

      const copy = `${source.name}_to_${strategy}_${extra.length}`;
      dbs.track(copy);
      const restored = await lifeboat(['restore', manifest.id, '--to', copy, '--store', store, '--json'], { url: source.url });
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(json(restored).database).toBe(copy);

      const copyUrl = urlFor(copy);
      expect(await schemaDump(copyUrl)).toBe(schema);
      expect(await dataDigest(copyUrl)).toEqual(data);
      // The original was not touched and nothing half-made is left.
      expect(await dataDigest(source.url)).toEqual(data);
      expect(await databaseNames(`${source.name}__lifeboat_restoring%`)).toEqual([]);
    });
  }
});

describe('in-place restore after damage', () => {
  const dbs = databases();

  for (const strategy of ['dump', 'clone'] as const) {
    it(`${strategy}: gives back exactly the snapshot and keeps the replaced database`, async () => {
      const shop = await dbs.create('shop');
      await query(
        shop.url,
        `
        create table customers (id serial primary key, name text not null);
        create table orders (id serial primary key, customer_id int references customers, total numeric(10,2));
        insert into customers (name) select 'customer ' || i from generate_series(1, 200) i;
        insert into orders (customer_id, total) select 1 + i % 200, i * 1.5 from generate_series(1, 1000) i;`,
      );
      const store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
      const before = { schema: await schemaDump(shop.url), data: await dataDigest(shop.url) };

      const taken = await lifeboat(['snapshot', '--strategy', strategy, '--store', store, '--json'], { url: shop.url });
      expect(taken.exitCode, taken.stderr).toBe(0);
      const id = json(taken).id as string;

      await query(
        shop.url,
        `
        drop table orders;
        delete from customers where id > 50;
        create table stray (x int);`,
      );
      const damaged = await dataDigest(shop.url);

      const restored = await lifeboat(['restore', id, '--yes', '--store', store, '--json'], { url: shop.url });
      expect(restored.exitCode, restored.stderr).toBe(0);
      const result = json(restored);

      expect(await schemaDump(shop.url)).toBe(before.schema);
      expect(await dataDigest(shop.url)).toEqual(before.data);
      expect(result.replaced).toMatch(new RegExp(`^${shop.name}__lifeboat_replaced_\\d{14}$`));
      expect(await dataDigest(urlFor(result.replaced))).toEqual(damaged);
      expect(await databaseNames(`${shop.name}__lifeboat_restoring%`)).toEqual([]);
    });
  }
});
