import { defineConfig } from '@lifeboat/core';

export default defineConfig({
  allow: {
    // Archiving moves old orders (and, through ON DELETE CASCADE, their items) out of
    // the live tables on purpose: a bounded share of them, never most of them.
    rowLoss: [
      { table: 'orders', maxPercent: 25 },
      { table: 'order_items', maxPercent: 25 },
    ],
  },
});
