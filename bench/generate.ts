/**
 * The benchmark's database: an application's, not pgbench's blanks. A multi-tenant shop
 * with wide tables (products, comments, a partitioned events table with jsonb) and narrow
 * ones (order_items, countries), foreign keys, secondary and unique indexes, an enum, a
 * trigger, a view and a materialized view; identity columns with their sequences set.
 *
 * Deterministic from a seed: every value is a function of (seed, row number) through
 * PostgreSQL's hashint8extended, and text is cut from a corpus of pseudo-words that is
 * itself built from the seed. The text compresses about 2.7:1 with gzip, like real prose,
 * not 50:1 like repeated blanks.
 *
 * Fast: the rows are made on the server by set-based INSERT … SELECT over generate_series
 * (no row-by-row inserts, nothing crosses the wire), on one connection per core, into
 * tables without indexes; indexes, keys and foreign keys come after the load, and a
 * VACUUM ANALYZE leaves hint bits and the visibility map set so the first reader of the
 * benchmark does not pay for them.
 *
 *   tsx bench/generate.ts --size 100MB [--seed 1] [--name app] --database-url postgres://…/postgres
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { ident, urlFor } from '../dev/pg.js';

export interface SizeChoice {
  /** As given on the command line: 100MB, 1GB, 10GB, tiny. */
  label: string;
  /** The database size aimed at, in bytes (the result is within about 10 %). */
  bytes: number;
}

const MB = 1024 * 1024;

/** 100MB, 1GB, 10GB, 250MB…; `tiny` (about 5 MB) is for the smoke test. */
export function parseSize(text: string): SizeChoice {
  if (text.toLowerCase() === 'tiny') return { label: 'tiny', bytes: 5 * MB };
  const m = /^(\d+(?:\.\d+)?)\s*(MB|GB)$/i.exec(text.trim());
  if (!m) throw new Error(`--size ${text}: expected a size such as 100MB, 1GB or 10GB`);
  const bytes = Number(m[1]) * (m[2]!.toUpperCase() === 'GB' ? 1024 * MB : MB);
  if (bytes < 5 * MB) throw new Error(`--size ${text}: the smallest size is 5MB`);
  return { label: `${m[1]}${m[2]!.toUpperCase()}`, bytes };
}

/** Rows per MB of database, calibrated on PostgreSQL 15 (tables with their indexes and TOAST). */
const ROWS_PER_MB = {
  accounts: 2,
  users: 250,
  products: 50,
  orders: 560,
  events: 640,
  comments: 150,
} as const;

export type Plan = Record<keyof typeof ROWS_PER_MB, number>;

/** Row counts for a size; order_items follow from orders (1 to 5 lines each, about 3). */
export function planFor(bytes: number): Plan {
  // An empty database is about 7.5 MB of catalogs; the rest scales with the rows.
  const mb = Math.max(bytes / MB - 7.5, bytes / MB / 4) / 1.076;
  const plan = {} as Plan;
  for (const [table, perMb] of Object.entries(ROWS_PER_MB)) plan[table as keyof Plan] = Math.max(5, Math.round(perMb * mb));
  return plan;
}

export interface GenerateOptions {
  /** A superuser (or CREATEDB) URL to any database of the server; the new database is made beside it. */
  adminUrl: string;
  /** The database to create; it must not exist. */
  database: string;
  bytes: number;
  seed: number;
  /** Connections loading in parallel; default: the number of cores. */
  workers?: number;
  log?: (line: string) => void;
}

export interface Generated {
  database: string;
  seed: number;
  sizeBytes: number;
  /** Rows per table (the partitioned events table as a whole). */
  rows: Record<string, number>;
  durationMs: number;
  /** Time of each step: load, indexes, foreign keys, views, vacuum. */
  steps: Record<string, number>;
}

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** Tasks taken from one queue by each client in turn: the longest first keeps the cores busy. */
async function runQueue(clients: pg.Client[], tasks: Array<{ name: string; sql: string[] }>): Promise<void> {
  const queue = [...tasks];
  await Promise.all(
    clients.map(async (c) => {
      for (let task = queue.shift(); task; task = queue.shift()) {
        for (const sql of task.sql) {
          try {
            await c.query(sql);
          } catch (error) {
            throw new Error(`${task.name}: ${(error as Error).message}\n${sql.slice(0, 400)}`);
          }
        }
      }
    }),
  );
}

const SYLLABLES = [
  'ka',
  'lo',
  'mer',
  'tan',
  'ri',
  'sel',
  'on',
  'ba',
  'du',
  'fi',
  'gra',
  'hel',
  'in',
  'jo',
  'ket',
  'lu',
  'ma',
  'nor',
  'op',
  'pra',
  'qui',
  'ros',
  'sta',
  'tu',
  'ul',
  'ven',
  'wi',
  'xa',
  'yor',
  'ze',
  'an',
  'be',
  'ci',
  'de',
  'el',
  'fo',
  'ga',
  'hi',
  'is',
  'ju',
  'ko',
  'la',
  'mi',
  'ne',
  'or',
  'pe',
  'ra',
  'si',
  'te',
  'un',
  'vo',
  'wa',
  'ex',
  'ya',
  'zu',
  'ch',
  'th',
  'sh',
  'br',
  'cr',
  'st',
  'tr',
  'pl',
  'gl',
];

/**
 * The SQL a seed turns into values. `x` is a bigint expression (the row number); `k` a
 * salt per column, so that columns of one row are independent.
 */
function sqlHelpers(seed: number, corpusLength: number) {
  const salt = (k: number) => seed * 1000 + k;
  const hash = (x: string, k: number) => `hashint8extended(${x}, ${salt(k)})`;
  /** An integer in [0, n). */
  const int = (x: string, k: number, n: number) => `abs(${hash(x, k)} % ${n})`;
  /** Text of min to min+spread bytes cut from the corpus (ASCII, so any cut is valid UTF-8). */
  const text = (x: string, k: number, min: number, spread: number) =>
    `convert_from(substring(c.corpus from (1 + ${int(x, k, corpusLength - min - spread - 1)})::int for (${min} + ${int(x, k + 1, spread + 1)})::int), 'UTF8')`;
  /** One whole word of the corpus. */
  const word = (x: string, k: number) => `rtrim(split_part(convert_from(substring(c.corpus from (1 + ${int(x, k, corpusLength - 64)})::int for 48), 'UTF8'), ' ', 2), ',.')`;
  const pick = (x: string, k: number, values: string[]) => `(array[${values.map((v) => `'${v}'`).join(', ')}])[1 + ${int(x, k, values.length)}::int]`;
  const time = (x: string, k: number, from: string, days: number) => `(timestamptz '${from}' + ${int(x, k, days * 86400)} * interval '1 second')`;
  /** The corpus in memory, once per statement (OFFSET 0 keeps the planner from re-reading it per row). */
  const from = (rows: number) => `from generate_series(1, ${rows}) g(i) cross join (select corpus || ''::bytea as corpus from pg_temp.bench_corpus offset 0) c`;
  return { hash, int, text, word, pick, time, from };
}

/** A corpus of about 1.3 MB of pseudo-words (4,096 of them, Zipf-like frequencies), from the seed. */
function corpusSql(seed: number): string[] {
  const s = (k: number) => seed * 1000 + k;
  const syl = `array[${SYLLABLES.map((x) => `'${x}'`).join(',')}]`;
  const part = (k: number) => `(${syl})[1 + abs(hashint8extended(j, ${s(k)}) % ${SYLLABLES.length})::int]`;
  return [
    `create temp table bench_corpus as
     with w as (
       select j, ${part(901)} || ${part(902)}
              || case when abs(hashint8extended(j, ${s(903)}) % 3) = 0 then ${part(904)} else '' end
              || case when abs(hashint8extended(j, ${s(905)}) % 5) = 0 then ${part(906)} else '' end as word
         from generate_series(0, 4095) j),
     picks as (
       select k, floor(4096 * power((abs(hashint8extended(k, ${s(907)})) % 1000000)::float8 / 1e6, 2.5))::int as j
         from generate_series(1, 200000) k)
     select convert_to(string_agg(w.word
              || case when abs(hashint8extended(k, ${s(908)}) % 11) = 0 then '. ' when abs(hashint8extended(k, ${s(909)}) % 13) = 0 then ', ' else ' ' end,
              '' order by k), 'UTF8') as corpus
       from picks join w using (j)`,
  ];
}

const SCHEMA = `
create type order_status as enum ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');

create table countries (code char(2) not null, name text not null);

create table accounts (
  id bigint generated by default as identity,
  name text not null,
  slug text not null,
  plan text not null,
  country char(2) not null,
  settings jsonb not null,
  created_at timestamptz not null
);

create table users (
  id bigint generated by default as identity,
  account_id bigint not null,
  email text not null,
  full_name text not null,
  password_hash text not null,
  bio text,
  locale_hint text,
  created_at timestamptz not null,
  last_login_at timestamptz,
  deleted_at timestamptz
);

create table products (
  id bigint generated by default as identity,
  account_id bigint not null,
  sku text not null,
  title text not null,
  description text not null,
  price_cents integer not null,
  stock integer not null,
  attributes jsonb not null,
  created_at timestamptz not null,
  updated_at timestamptz not null
);

create table orders (
  id bigint generated by default as identity,
  account_id bigint not null,
  user_id bigint not null,
  status order_status not null,
  total_cents bigint not null,
  currency char(3) not null,
  shipping_address text not null,
  note text,
  placed_at timestamptz not null,
  refund_id uuid
);

create table order_items (
  order_id bigint not null,
  line smallint not null,
  product_id bigint not null,
  quantity integer not null,
  unit_price_cents integer not null
);

create table comments (
  id bigint generated by default as identity,
  product_id bigint not null,
  user_id bigint not null,
  body text not null,
  rating smallint,
  created_at timestamptz not null
);

create table events (
  id bigint not null,
  account_id bigint not null,
  user_id bigint,
  kind text not null,
  payload jsonb not null,
  created_at timestamptz not null
) partition by range (created_at);
${Array.from({ length: 12 }, (_, m) => {
  const from = `2025-${String(m + 1).padStart(2, '0')}-01`;
  const to = m === 11 ? '2026-01-01' : `2025-${String(m + 2).padStart(2, '0')}-01`;
  return `create table events_2025_${String(m + 1).padStart(2, '0')} partition of events for values from ('${from}') to ('${to}');`;
}).join('\n')}
create table events_default partition of events default;
`;

const AFTER_LOAD_OBJECTS = [
  `create function touch_updated_at() returns trigger language plpgsql as $$ begin new.updated_at := now(); return new; end $$`,
  `create trigger products_touch before update on products for each row execute function touch_updated_at()`,
  `create view active_users as select id, account_id, email, full_name, last_login_at from users where deleted_at is null`,
];

export async function generateDatabase(options: GenerateOptions): Promise<Generated> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const steps: Record<string, number> = {};
  const step = async (name: string, fn: () => Promise<void>) => {
    const t = performance.now();
    await fn();
    steps[name] = Math.round(performance.now() - t);
  };
  const plan = planFor(options.bytes);
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), 4));
  const { seed } = options;

  const admin = await client(options.adminUrl);
  try {
    await admin.query(`create database ${ident(options.database)}`);
  } finally {
    await admin.end();
  }
  const url = urlFor(options.adminUrl, options.database);
  const clients = await Promise.all(Array.from({ length: workers }, () => client(url)));
  try {
    await step('corpus', async () => {
      await Promise.all(
        clients.map(async (c) => {
          await c.query(`set maintenance_work_mem = '256MB'`);
          await c.query(`set synchronous_commit = off`);
          for (const sql of corpusSql(seed)) await c.query(sql);
        }),
      );
    });
    const { rows: lengthRows } = await clients[0]!.query<{ n: number }>('select length(corpus) as n from pg_temp.bench_corpus');
    const h = sqlHelpers(seed, lengthRows[0]!.n);
    const { int, text, word, pick, time, from } = h;
    await clients[0]!.query(SCHEMA);

    const nAccounts = Math.max(5, plan.accounts);
    const accountOf = (userExpr: string) => `(1 + (${userExpr} - 1) % ${nAccounts})`;
    const userFor = (x: string, k: number) => `(1 + ${int(x, k, plan.users)})`;
    const COUNTRIES = ['US', 'DE', 'FR', 'GB', 'NL', 'SE', 'ES', 'IT', 'PL', 'CA', 'BR', 'JP', 'IN', 'AU', 'MX', 'CH'];
    const DOMAINS = ['example.com', 'mail.test', 'corp.example', 'shop.test', 'inbox.example', 'post.test'];
    const AGENTS = [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Safari/537.36',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0',
    ];

    const load: Array<{ name: string; sql: string[] }> = [
      {
        name: 'events',
        sql: [
          `insert into events (id, account_id, user_id, kind, payload, created_at)
           select i, ${accountOf(userFor('i', 10))},
                  case when ${int('i', 11, 10)} = 0 then null else ${userFor('i', 10)} end,
                  ${pick('i', 12, ['page_view', 'page_view', 'page_view', 'click', 'click', 'search', 'login', 'logout', 'add_to_cart', 'purchase', 'signup', 'error'])},
                  jsonb_build_object(
                    'ip', (1 + ${int('i', 13, 223)}) || '.' || ${int('i', 14, 256)} || '.' || ${int('i', 15, 256)} || '.' || ${int('i', 16, 256)},
                    'path', '/' || ${word('i', 17)} || '/' || ${int('i', 18, 100000)},
                    'agent', ${pick('i', 19, AGENTS)},
                    'session', md5(i::text || '${seed}'),
                    'props', jsonb_build_object('ref', ${text('i', 20, 10, 60)}, 'count', ${int('i', 22, 1000)}, 'ok', ${int('i', 23, 7)} <> 0),
                    'message', ${text('i', 24, 20, 160)}),
                  ${time('i', 26, '2025-01-01', 365)}
           ${from(plan.events)}`,
        ],
      },
      {
        name: 'orders, order_items',
        sql: [
          `insert into orders (id, account_id, user_id, status, total_cents, currency, shipping_address, note, placed_at)
           overriding system value
           select i, ${accountOf(userFor('i', 30))}, ${userFor('i', 30)},
                  (${pick('i', 31, ['delivered', 'delivered', 'delivered', 'shipped', 'paid', 'pending', 'cancelled', 'refunded'])})::order_status,
                  500 + ${int('i', 32, 250000)},
                  ${pick('i', 33, ['USD', 'EUR', 'EUR', 'GBP', 'SEK'])},
                  (1 + ${int('i', 34, 9999)}) || ' ' || initcap(${word('i', 35)}) || ' Street, ' || lpad(${int('i', 36, 99999)}::text, 5, '0') || ' ' || initcap(${word('i', 37)}),
                  case when ${int('i', 38, 5)} = 0 then ${text('i', 39, 10, 110)} end,
                  ${time('i', 41, '2023-01-01', 1000)}
           ${from(plan.orders)}`,
          `insert into order_items (order_id, line, product_id, quantity, unit_price_cents)
           select o, l, 1 + ${int('o * 8 + l', 42, plan.products)}, 1 + ${int('o * 8 + l', 43, 4)}, 100 + ${int('o * 8 + l', 44, 20000)}
             from generate_series(1, ${plan.orders}) o, generate_series(1, 1 + ${int('o', 45, 5)}::int) l`,
        ],
      },
      {
        name: 'comments',
        sql: [
          `insert into comments (id, product_id, user_id, body, rating, created_at)
           overriding system value
           select i, 1 + ${int('i', 50, plan.products)}, ${userFor('i', 51)}, ${text('i', 52, 80, 2400)},
                  case when ${int('i', 54, 10)} < 3 then null else 1 + ${int('i', 55, 5)} end,
                  ${time('i', 56, '2023-01-01', 1000)}
           ${from(plan.comments)}`,
        ],
      },
      {
        name: 'products',
        sql: [
          `insert into products (id, account_id, sku, title, description, price_cents, stock, attributes, created_at, updated_at)
           overriding system value
           select i, 1 + (i - 1) % ${nAccounts}, 'SKU-' || lpad(i::text, 9, '0'), initcap(${text('i', 60, 12, 40)}), ${text('i', 62, 150, 1300)},
                  99 + ${int('i', 64, 50000)}, ${int('i', 65, 500)},
                  jsonb_build_object('color', ${pick('i', 66, ['red', 'blue', 'green', 'black', 'white', 'grey', 'navy', 'olive'])},
                                     'size', ${pick('i', 67, ['XS', 'S', 'M', 'L', 'XL'])},
                                     'weight_g', 50 + ${int('i', 68, 5000)},
                                     'tags', jsonb_build_array(${word('i', 69)}, ${word('i', 70)}, ${word('i', 71)})),
                  ${time('i', 72, '2022-01-01', 1000)}, ${time('i', 73, '2024-06-01', 400)}
           ${from(plan.products)}`,
        ],
      },
      {
        name: 'users',
        sql: [
          `insert into users (id, account_id, email, full_name, password_hash, bio, locale_hint, created_at, last_login_at, deleted_at)
           overriding system value
           select i, ${accountOf('i')}, lower(${word('i', 80)}) || '.' || i || '@' || ${pick('i', 81, DOMAINS)},
                  initcap(${word('i', 82)}) || ' ' || initcap(${word('i', 83)}),
                  '$2b$10$' || left(md5(i::text || ':${seed}') || md5(':${seed}:' || i::text), 53),
                  case when ${int('i', 84, 10)} < 4 then null else ${text('i', 85, 20, 300)} end,
                  ${pick('i', 87, ['en', 'en', 'de', 'fr', 'es', 'sv', 'nl'])},
                  ${time('i', 88, '2021-01-01', 1500)},
                  case when ${int('i', 89, 10)} = 0 then null else ${time('i', 90, '2025-01-01', 365)} end,
                  case when ${int('i', 91, 100)} = 0 then ${time('i', 92, '2025-01-01', 365)} end
           ${from(plan.users)}`,
        ],
      },
      {
        name: 'accounts, countries',
        sql: [
          `insert into accounts (id, name, slug, plan, country, settings, created_at)
           overriding system value
           select i, initcap(${word('i', 100)}) || ' ' || ${pick('i', 101, ['Ltd', 'GmbH', 'Inc', 'AB', 'BV', 'SA'])},
                  lower(${word('i', 100)}) || '-' || i,
                  ${pick('i', 102, ['free', 'free', 'starter', 'team', 'business', 'enterprise'])},
                  ${pick('i', 103, COUNTRIES)},
                  jsonb_build_object('timezone', ${pick('i', 104, ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'])}, 'invoice_email', lower(${word('i', 105)}) || '@' || ${pick('i', 106, DOMAINS)}, 'seats', 1 + ${int('i', 107, 200)}),
                  ${time('i', 108, '2020-01-01', 1500)}
           ${from(nAccounts)}`,
          `insert into countries (code, name) select code, initcap(${word('n::bigint', 110)}) from unnest(array[${COUNTRIES.map((c) => `'${c}'`).join(', ')}]) with ordinality as t(code, n) cross join (select corpus || ''::bytea as corpus from pg_temp.bench_corpus offset 0) c`,
        ],
      },
    ];
    log(
      `  loading ${Object.entries(plan)
        .map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`)
        .join(', ')} on ${workers} connection(s)`,
    );
    await step('load', () => runQueue(clients, load));

    const keys = [
      {
        name: 'events',
        sql: ['alter table events add primary key (id, created_at)', 'create index events_account_created on events (account_id, created_at)', 'create index events_user on events (user_id)'],
      },
      { name: 'order_items', sql: ['alter table order_items add primary key (order_id, line)', 'create index order_items_product on order_items (product_id)'] },
      {
        name: 'orders',
        sql: [
          'alter table orders add primary key (id)',
          'create index orders_user on orders (user_id)',
          'create index orders_account_placed on orders (account_id, placed_at)',
          "create index orders_status on orders (status) where status in ('pending', 'paid')",
        ],
      },
      { name: 'comments', sql: ['alter table comments add primary key (id)', 'create index comments_product on comments (product_id)', 'create index comments_user on comments (user_id)'] },
      { name: 'users', sql: ['alter table users add primary key (id)', 'create unique index users_email on users (lower(email))', 'create index users_account on users (account_id)'] },
      { name: 'products', sql: ['alter table products add primary key (id)', 'alter table products add constraint products_sku unique (account_id, sku)'] },
      { name: 'accounts', sql: ['alter table accounts add primary key (id)', 'alter table accounts add constraint accounts_slug unique (slug)', 'alter table countries add primary key (code)'] },
    ];
    await step('indexes', () => runQueue(clients, keys));

    // NOT VALID first (instant), then VALIDATE on each core: validation takes no lock that
    // conflicts across tables. A partitioned table cannot take a NOT VALID foreign key.
    const fks: Array<[string, string, string]> = [
      ['order_items', 'order_id', 'orders'],
      ['order_items', 'product_id', 'products'],
      ['orders', 'user_id', 'users'],
      ['orders', 'account_id', 'accounts'],
      ['comments', 'product_id', 'products'],
      ['comments', 'user_id', 'users'],
      ['users', 'account_id', 'accounts'],
      ['products', 'account_id', 'accounts'],
      ['accounts', 'country', 'countries'],
    ];
    await step('foreign keys', async () => {
      for (const [table, column, ref] of fks) {
        await clients[0]!.query(`alter table ${table} add constraint ${table}_${column}_fkey foreign key (${column}) references ${ref} not valid`);
      }
      const byTable = new Map<string, string[]>();
      for (const [table, column] of fks) byTable.set(table, [...(byTable.get(table) ?? []), `alter table ${table} validate constraint ${table}_${column}_fkey`]);
      await runQueue(clients, [
        { name: 'events fk', sql: ['alter table events add constraint events_user_id_fkey foreign key (user_id) references users'] },
        ...[...byTable].map(([name, sql]) => ({ name, sql })),
      ]);
    });

    await step('views', async () => {
      const c = clients[0]!;
      for (const sql of AFTER_LOAD_OBJECTS) await c.query(sql);
      await c.query(`create materialized view daily_revenue as
        select account_id, date_trunc('day', placed_at) as day, count(*) as orders, sum(total_cents) as revenue_cents
          from orders where status not in ('cancelled', 'refunded') group by 1, 2`);
      await c.query('create unique index daily_revenue_key on daily_revenue (account_id, day)');
      for (const table of ['accounts', 'users', 'products', 'orders', 'comments']) {
        await c.query(`select setval(pg_get_serial_sequence('${table}', 'id'), (select max(id) from ${table}))`);
      }
    });

    await step('vacuum', async () => {
      const tables = ['events', 'order_items', 'orders', 'comments', 'users', 'products', 'accounts', 'countries', 'daily_revenue'];
      await runQueue(
        clients,
        tables.map((t) => ({ name: `vacuum ${t}`, sql: [`vacuum (analyze) ${t}`] })),
      );
      await clients[0]!.query('checkpoint');
    });

    const counts = await clients[0]!.query<{ table: string; n: string }>(
      `select 'accounts' as table, count(*) as n from accounts union all select 'users', count(*) from users
       union all select 'products', count(*) from products union all select 'orders', count(*) from orders
       union all select 'order_items', count(*) from order_items union all select 'comments', count(*) from comments
       union all select 'events', count(*) from events union all select 'daily_revenue', count(*) from daily_revenue`,
    );
    const { rows: size } = await clients[0]!.query<{ bytes: string }>('select pg_database_size(current_database()) as bytes');
    return {
      database: options.database,
      seed,
      sizeBytes: Number(size[0]!.bytes),
      rows: Object.fromEntries(counts.rows.map((r) => [r.table, Number(r.n)])),
      durationMs: Math.round(performance.now() - started),
      steps,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/** Standalone: make the database and leave it there. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '100MB' },
      seed: { type: 'string', default: '1' },
      name: { type: 'string', default: 'lifeboat_bench' },
      'database-url': { type: 'string' },
    },
  });
  const adminUrl = values['database-url'] ?? process.env.BENCH_DATABASE_URL;
  if (!adminUrl) throw new Error('give --database-url (or BENCH_DATABASE_URL): a superuser URL of the server to create the database on');
  const size = parseSize(values.size!);
  const result = await generateDatabase({ adminUrl, database: values.name!, bytes: size.bytes, seed: Number(values.seed), log: console.log });
  console.log(JSON.stringify(result, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
