// The shop's data: 1,200 customers, 120 products, and 6,000 orders over 2021–2025 (the
// shop grows: 400, 800, 1,200, 1,600 and 2,000 a year), each with 1 to 4 items.
exports.seed = async (knex) => {
  await knex.raw('truncate order_items, orders, products, customers restart identity');

  await knex.raw(`
    insert into customers (name, email, city, created_at)
    select f || ' ' || l, lower(f || '.' || l || '.' || g || '@example.com'), c,
           timestamptz '2020-06-01 09:00+00' + (g * 97 % 1500) * interval '1 day'
      from generate_series(1, 1200) g,
           lateral (select (array['Ada','Grace','Linus','Margaret','Alan','Barbara','Edsger','Frances','Ken','Radia','Dennis','Hedy'])[1 + g % 12] as f,
                           (array['Lovelace','Hopper','Torvalds','Hamilton','Turing','Liskov','Dijkstra','Allen','Thompson','Perlman','Ritchie','Lamarr','Knuth','Wirth'])[1 + (g * 7) % 14] as l,
                           (array['Lisbon','Oslo','Porto','Lyon','Leeds','Ghent','Graz','Turin','Malmo','Cork'])[1 + (g * 3) % 10] as c) names`);

  await knex.raw(`
    insert into products (sku, name, price_cents)
    select 'SKU-' || lpad(g::text, 4, '0'),
           (array['Oak','Linen','Copper','Wool','Stone','Cedar','Glass','Cotton'])[1 + g % 8] || ' ' ||
           (array['Lamp','Mug','Blanket','Chair','Bowl','Shelf','Vase','Towel','Clock','Basket'])[1 + (g * 3) % 10],
           499 + (g * 1237 % 24000)
      from generate_series(1, 120) g`);

  // Placed between 2 January and 31 December (UTC) of each year, so that a date literal
  // such as '2023-01-01' splits them by year in any session time zone. Inserted in date
  // order: ids follow the calendar.
  await knex.raw(`
    insert into orders (customer_id, status, placed_at)
    select 1 + (i * 37 + year) % 1200,
           case when placed_at >= '2025-11-15' then (array['pending','paid','shipped','delivered'])[1 + i % 4]
                when i % 12 = 0 then 'refunded' else 'delivered' end,
           placed_at
      from (values (2021, 400), (2022, 800), (2023, 1200), (2024, 1600), (2025, 2000)) as per_year (year, n),
           generate_series(1, n) i,
           lateral (select make_timestamptz(year, 1, 2, 0, 0, 0, 'UTC') + (i::bigint * 104729 % (363 * 86400)) * interval '1 second' as placed_at) p
     order by placed_at`);

  await knex.raw(`
    insert into order_items (order_id, line, product_id, quantity, unit_cents)
    select o.id, line, p.id, 1 + (o.id + line) % 3, p.price_cents
      from orders o
     cross join lateral generate_series(1, 1 + o.id % 4) line
      join products p on p.id = 1 + (o.id * 13 + line * 71) % 120`);
};
