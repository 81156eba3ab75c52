// The shop's first migration: customers, products, orders and their items.
exports.up = async (knex) => {
  await knex.schema.createTable('customers', (t) => {
    t.increments('id');
    t.text('name').notNullable();
    t.text('email').notNullable().unique();
    t.text('city').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });
  await knex.schema.createTable('products', (t) => {
    t.increments('id');
    t.text('sku').notNullable().unique();
    t.text('name').notNullable();
    t.integer('price_cents').notNullable();
  });
  await knex.schema.createTable('orders', (t) => {
    t.increments('id');
    t.integer('customer_id').notNullable().references('customers.id');
    t.enu('status', ['pending', 'paid', 'shipped', 'delivered', 'refunded']).notNullable();
    t.timestamp('placed_at', { useTz: true }).notNullable().index();
  });
  await knex.schema.createTable('order_items', (t) => {
    t.integer('order_id').notNullable().references('orders.id').onDelete('CASCADE');
    t.smallint('line').notNullable();
    t.integer('product_id').notNullable().references('products.id').index();
    t.integer('quantity').notNullable();
    t.integer('unit_cents').notNullable();
    t.primary(['order_id', 'line']);
  });
};

exports.down = async (knex) => {
  for (const table of ['order_items', 'orders', 'products', 'customers']) await knex.schema.dropTable(table);
};
