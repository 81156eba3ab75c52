// Archive orders placed before 2023: copy them, with their items, into orders_archive,
// then delete them from orders (their order_items go with them: ON DELETE CASCADE).
exports.up = async (knex) => {
  await knex.schema.createTable('orders_archive', (t) => {
    t.integer('id').primary();
    t.integer('customer_id').notNullable();
    t.text('status').notNullable();
    t.timestamp('placed_at', { useTz: true }).notNullable();
    t.timestamp('shipped_at', { useTz: true });
    t.jsonb('items').notNullable();
  });
  await knex.raw(`
    insert into orders_archive (id, customer_id, status, placed_at, shipped_at, items)
    select o.id, o.customer_id, o.status, o.placed_at, o.shipped_at,
           (select jsonb_agg(to_jsonb(i) - 'order_id' order by i.line) from order_items i where i.order_id = o.id)
      from orders o
     where o.placed_at < '2023-01-01'
  `);
  await knex('orders').where('placed_at', '<', '2025-01-01').del();
};

exports.down = async (knex) => {
  await knex.raw(`
    insert into orders (id, customer_id, status, placed_at, shipped_at)
    select id, customer_id, status, placed_at, shipped_at from orders_archive
  `);
  await knex.raw(`
    insert into order_items (order_id, line, product_id, quantity, unit_cents)
    select a.id, i.line, i.product_id, i.quantity, i.unit_cents
      from orders_archive a, jsonb_populate_recordset(null::order_items, a.items) i
  `);
  await knex.schema.dropTable('orders_archive');
};
