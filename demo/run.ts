/**
 * The Lifeboat demo: a small shop database, a snapshot before a deploy, an accident
 * (two tables dropped), and the way back with the real `lifeboat` CLI.
 *
 *   pnpm demo                      # embedded PostgreSQL 15 of its own
 *   runDemo({ log, adminUrl })     # on an existing server (tests): a database of its own there
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import pg from 'pg';
import { startEmbedded } from '../dev/embedded-postgres.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cliPath = join(repoRoot, 'packages/core/dist/cli.js');

/** The shop's tables, parents first. */
export const SHOP_TABLES = ['customers', 'products', 'orders', 'order_items'] as const;
export type ShopTable = (typeof SHOP_TABLES)[number];

/** Per table: the row count, or null when the table does not exist. */
export type Counts = Record<ShopTable, number | null>;
/** Per table: an md5 over all its rows in a fixed order, or null when the table does not exist. */
export type Digests = Record<ShopTable, string | null>;

export interface SnapshotSummary {
  id: string;
  label: string;
  strategy: 'dump' | 'clone';
  strategyReason: string;
  sizeBytes: number;
  durationMs: number;
  /** The manifest's row counts for the shop's tables. */
  rows: Record<string, number>;
  /** The server-side copy, for clone snapshots. */
  cloneDatabase?: string;
}

export interface RestoreSummary {
  snapshot: string;
  database: string;
  replaced?: string;
  strategy: 'dump' | 'clone';
  durationMs: number;
  phases: { checkMs: number; loadMs: number; verifyMs: number; swapMs: number };
}

export interface DemoResult {
  /** The shop database's name on the server. */
  database: string;
  server: { embedded: boolean; version: string };
  rowsBefore: Counts;
  rowsAfterDamage: Counts;
  rowsAfterRestore: Counts;
  /** The damaged database, kept by the restore under `replaced`. */
  rowsInReplaced: Counts;
  /** The dump snapshot restored beside the live database with --to. */
  rowsFromDump: Counts;
  digestBefore: Digests;
  digestAfterRestore: Digests;
  digestFromDump: Digests;
  snapshots: { auto: SnapshotSummary; dump: SnapshotSummary };
  restore: RestoreSummary;
  dumpRestore: RestoreSummary;
  /** The name the damaged database is kept under (the restore's `replaced`). */
  replaced: string;
  /** The database the dump snapshot was restored into. */
  dumpCopy: string;
  /** Databases dropped at the end (external server only; empty with the embedded one). */
  cleanedUp: string[];
  totalMs: number;
}

export interface DemoOptions {
  log: (line: string) => void;
  /** A superuser URL to an existing server's `postgres` database; without it, an embedded PostgreSQL 15 is started. */
  adminUrl?: string;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { log } = options;
  const started = Date.now();
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`pnpm build\` first`);

  log('Lifeboat demo: an accident on deploy day, and the way back');
  log('=========================================================');
  log('');

  const serverStart = Date.now();
  const embedded = options.adminUrl === undefined ? await startEmbedded() : undefined;
  const adminUrl = options.adminUrl ?? embedded!.url();
  const database = embedded ? 'shop' : `shop_demo_${randomBytes(4).toString('hex')}`;
  const dumpCopy = `${database}_from_dump`;
  const url = urlFor(adminUrl, database);
  const serverMs = Date.now() - serverStart;
  let store: string | undefined;
  let created = false;
  const cloneDatabases: string[] = [];
  const cleanedUp: string[] = [];
  let result: DemoResult | undefined;
  let succeeded = false;

  try {
    // ── 1. A shop database ────────────────────────────────────────────────
    const version = (await queryOne<{ v: string }>(adminUrl, "select current_setting('server_version') as v")).v.split(' ')[0]!;
    section(log, 1, 'A shop database');
    log(
      embedded
        ? `   PostgreSQL ${version}, embedded, started in ${ms(serverMs)} (a throwaway server in a temp folder).`
        : `   PostgreSQL ${version} on the given server; the demo works in a database of its own.`,
    );
    const buildStart = Date.now();
    await exec(adminUrl, `create database ${ident(database)}`);
    created = true;
    await exec(url, SHOP_SQL);
    const buildMs = Date.now() - buildStart;
    const rowsBefore = await counts(url);
    const digestBefore = await digests(url);
    log(`   Database "${database}": customers, products, orders and order_items, with foreign keys,`);
    log(`   built and filled in ${ms(buildMs)}:`);
    log('');
    table(log, ['table', 'rows'], SHOP_TABLES.map((t) => [t, count(rowsBefore[t])]));
    log('');

    // ── 2. Snapshots before the deploy ────────────────────────────────────
    store = await mkdtemp(join(tmpdir(), 'lifeboat-demo-store-'));
    section(log, 2, 'Snapshots before the deploy');
    log(`   The store is a folder: ${store}`);
    log('');
    // A clone needs the database to itself: wait until our own sessions are really gone.
    await waitForNoSessions(adminUrl, database);
    log('   $ lifeboat snapshot --label before-accident');
    const auto = summarize(await lifeboat(['snapshot', '--json', '--store', store, '--label', 'before-accident'], url), 'before-accident');
    if (auto.cloneDatabase) cloneDatabases.push(auto.cloneDatabase);
    log(`     ${auto.id}: ${auto.strategy}, ${bytes(auto.sizeBytes)}, ${ms(auto.durationMs)}`);
    log(`     why ${auto.strategy}: ${auto.strategyReason}`);
    log('');
    log('   $ lifeboat snapshot --strategy dump --label before-accident-dump');
    const dump = summarize(
      await lifeboat(['snapshot', '--json', '--store', store, '--strategy', 'dump', '--label', 'before-accident-dump'], url),
      'before-accident-dump',
    );
    if (dump.cloneDatabase) cloneDatabases.push(dump.cloneDatabase);
    log(`     ${dump.id}: ${dump.strategy}, ${bytes(dump.sizeBytes)}, ${ms(dump.durationMs)}`);
    log(`     a pg_dump archive in the store: portable, a real backup that can live elsewhere`);
    log('');
    table(
      log,
      ['table', 'rows now', `in ${auto.strategy}`, `in ${dump.strategy}`],
      SHOP_TABLES.map((t) => [t, count(rowsBefore[t]), count(auto.rows[t] ?? null), count(dump.rows[t] ?? null)]),
    );
    log('');

    // ── 3. The accident ───────────────────────────────────────────────────
    section(log, 3, 'The accident');
    log('   A cleanup migration meant for the staging copy runs against this database:');
    log('');
    log('     sql> drop table order_items;');
    log('     sql> drop table orders;');
    await exec(url, 'drop table order_items; drop table orders;');
    const rowsAfterDamage = await counts(url);
    log('');
    table(log, ['table', 'before', 'now'], SHOP_TABLES.map((t) => [t, count(rowsBefore[t]), count(rowsAfterDamage[t])]));
    log('');
    const lost = SHOP_TABLES.reduce((sum, t) => sum + (rowsBefore[t] ?? 0) - (rowsAfterDamage[t] ?? 0), 0);
    log(`   ${count(lost)} rows (every order and its items) are gone.`);
    log('');

    // ── 4. Restore ────────────────────────────────────────────────────────
    section(log, 4, 'Restore');
    log(`   $ lifeboat restore ${auto.id} --yes`);
    const restore = restoreSummary(await lifeboat(['restore', auto.id, '--yes', '--json', '--store', store], url));
    const p = restore.phases;
    log(`     restored from the ${restore.strategy} snapshot in ${ms(restore.durationMs)}`);
    log(`     check ${ms(p.checkMs)}, load ${ms(p.loadMs)}, verify ${ms(p.verifyMs)}, swap ${ms(p.swapMs)}`);
    log('     (loaded into a new database, checked against the manifest, then swapped in by renaming)');
    log('');
    if (!restore.replaced) throw new Error('the restore did not report the database it replaced');

    // ── 5. Everything is back ─────────────────────────────────────────────
    section(log, 5, 'Everything is back');
    const rowsAfterRestore = await counts(url);
    const digestAfterRestore = await digests(url);
    const rowsInReplaced = await counts(urlFor(adminUrl, restore.replaced));
    table(
      log,
      ['table', 'before', 'after accident', 'restored', 'rows identical'],
      SHOP_TABLES.map((t) => [
        t,
        count(rowsBefore[t]),
        count(rowsAfterDamage[t]),
        count(rowsAfterRestore[t]),
        digestAfterRestore[t] !== null && digestAfterRestore[t] === digestBefore[t] ? 'yes' : 'NO',
      ]),
    );
    log('');
    log(`   The damaged database was not thrown away: it is kept as`);
    log(`     "${restore.replaced}"`);
    log(`   (there: ${SHOP_TABLES.map((t) => `${t} ${count(rowsInReplaced[t])}`).join(', ')}),`);
    log('   to inspect or copy rows from; drop it when it is no longer needed.');
    log('');

    // ── 6. The portable copy ──────────────────────────────────────────────
    section(log, 6, 'The dump snapshot, restored beside the live database');
    log(`   $ lifeboat restore ${dump.id} --to ${dumpCopy}`);
    const dumpRestore = restoreSummary(await lifeboat(['restore', dump.id, '--to', dumpCopy, '--json', '--store', store], url));
    const q = dumpRestore.phases;
    log(`     restored with pg_restore in ${ms(dumpRestore.durationMs)}`);
    log(`     check (checksums) ${ms(q.checkMs)}, load ${ms(q.loadMs)}, verify ${ms(q.verifyMs)}, rename ${ms(q.swapMs)}`);
    const rowsFromDump = await counts(urlFor(adminUrl, dumpCopy));
    const digestFromDump = await digests(urlFor(adminUrl, dumpCopy));
    const same = SHOP_TABLES.every((t) => digestFromDump[t] !== null && digestFromDump[t] === digestBefore[t]);
    log(`     "${dumpCopy}": ${SHOP_TABLES.map((t) => `${t} ${count(rowsFromDump[t])}`).join(', ')}`);
    log(`     every row identical to before the accident: ${same ? 'yes' : 'NO'}`);
    log('');

    // ── Timings ───────────────────────────────────────────────────────────
    section(log, 7, 'Timings');
    table(log, ['strategy', 'snapshot', 'restore', 'size'], [
      [auto.strategy, ms(auto.durationMs), ms(restore.durationMs), bytes(auto.sizeBytes)],
      [dump.strategy, ms(dump.durationMs), ms(dumpRestore.durationMs), bytes(dump.sizeBytes)],
    ]);
    log('');

    result = {
      database,
      server: { embedded: embedded !== undefined, version },
      rowsBefore,
      rowsAfterDamage,
      rowsAfterRestore,
      rowsInReplaced,
      rowsFromDump,
      digestBefore,
      digestAfterRestore,
      digestFromDump,
      snapshots: { auto, dump },
      restore,
      dumpRestore,
      replaced: restore.replaced,
      dumpCopy,
      cleanedUp,
      totalMs: 0,
    };
    const mismatch = SHOP_TABLES.filter((t) => rowsAfterRestore[t] !== rowsBefore[t] || digestAfterRestore[t] !== digestBefore[t]);
    if (mismatch.length > 0) throw new Error(`after the restore, ${mismatch.join(', ')} differ from before the accident`);
    if (!same) throw new Error(`the dump snapshot restored into "${dumpCopy}" differs from before the accident`);
    succeeded = true;
    return result;
  } finally {
    // Cleanup runs on failure too; its own errors must not hide the first one.
    if (!embedded && created) cleanedUp.push(...(await dropOwnDatabases(adminUrl, database, dumpCopy, cloneDatabases).catch(() => [])));
    if (store) await rm(store, { recursive: true, force: true }).catch(() => {});
    if (embedded) await embedded.stop();
    if (succeeded) {
      result!.totalMs = Date.now() - started;
      log(
        embedded
          ? `All good in ${ms(result!.totalMs)}; the embedded server is stopped and its folder removed.`
          : `All good in ${ms(result!.totalMs)}; the demo's ${cleanedUp.length} databases on the server are dropped.`,
      );
    }
  }
}

// ── The shop ──────────────────────────────────────────────────────────────

const SHOP_SQL = `
create table customers (
  id          bigint generated always as identity primary key,
  first_name  text not null,
  last_name   text not null,
  email       text not null unique,
  city        text not null,
  created_at  timestamptz not null
);
create table products (
  id           bigint generated always as identity primary key,
  sku          text not null unique,
  name         text not null,
  price_cents  integer not null check (price_cents > 0),
  stock        integer not null check (stock >= 0)
);
create table orders (
  id           bigint generated always as identity primary key,
  customer_id  bigint not null references customers,
  status       text not null check (status in ('pending', 'paid', 'shipped', 'delivered', 'refunded')),
  placed_at    timestamptz not null
);
create index orders_customer_id_idx on orders (customer_id);
create table order_items (
  order_id     bigint not null references orders on delete cascade,
  line         integer not null,
  product_id   bigint not null references products,
  quantity     integer not null check (quantity > 0),
  unit_cents   integer not null,
  primary key (order_id, line)
);
create index order_items_product_id_idx on order_items (product_id);

insert into customers (first_name, last_name, email, city, created_at)
select f, l, lower(f || '.' || l || '.' || g || '@example.com'), c,
       timestamptz '2024-01-01 09:00+00' + (g * 97 % 600) * interval '1 day' + (g * 7919 % 86400) * interval '1 second'
  from generate_series(1, 2400) g,
       lateral (select (array['Ada','Grace','Linus','Margaret','Alan','Barbara','Edsger','Frances','Ken','Radia','Dennis','Hedy'])[1 + g % 12] as f,
                       (array['Lovelace','Hopper','Torvalds','Hamilton','Turing','Liskov','Dijkstra','Allen','Thompson','Perlman','Ritchie','Lamarr','Knuth','Wirth'])[1 + (g * 7) % 14] as l,
                       (array['Lisbon','Oslo','Porto','Lyon','Leeds','Ghent','Graz','Turin','Malmo','Cork'])[1 + (g * 3) % 10] as c) names;

insert into products (sku, name, price_cents, stock)
select 'SKU-' || lpad(g::text, 5, '0'),
       (array['Oak','Linen','Copper','Wool','Stone','Cedar','Glass','Cotton'])[1 + g % 8] || ' ' ||
       (array['Lamp','Mug','Blanket','Chair','Bowl','Shelf','Vase','Towel','Clock','Basket'])[1 + (g * 3) % 10],
       499 + (g * 1237 % 24000), g * 31 % 140
  from generate_series(1, 240) g;

insert into orders (customer_id, status, placed_at)
select 1 + (g * 37) % 2400,
       (array['delivered','delivered','delivered','shipped','paid','pending','refunded'])[1 + g % 7],
       timestamptz '2025-01-01 00:00+00' + (g * 4241 % (300 * 86400)) * interval '1 second'
  from generate_series(1, 6000) g;

insert into order_items (order_id, line, product_id, quantity, unit_cents)
select o.id, i, p.id, 1 + (o.id + i) % 3, p.price_cents
  from orders o
  cross join lateral generate_series(1, 1 + o.id % 4) i
  join products p on p.id = 1 + (o.id * 13 + i * 71) % 240;

analyze;
`;

// ── The CLI ───────────────────────────────────────────────────────────────

/** Run the real CLI with --json and return its document; a failure throws its one-line message. */
async function lifeboat(args: string[], databaseUrl: string): Promise<Record<string, unknown>> {
  const result = await execa(process.execPath, [cliPath, ...args], {
    env: { DATABASE_URL: databaseUrl },
    cwd: repoRoot,
    reject: false,
    stdin: 'ignore',
  });
  let doc: Record<string, unknown> | undefined;
  try {
    doc = JSON.parse(String(result.stdout)) as Record<string, unknown>;
  } catch {
    doc = undefined;
  }
  if (result.exitCode !== 0 || !doc || doc.ok === false) {
    const error = doc?.error as { code?: string; message?: string } | undefined;
    const why = error?.message ?? (String(result.stderr).trim().split('\n')[0] || `exit code ${result.exitCode}`);
    throw new Error(`lifeboat ${args[0]} failed${error?.code ? ` (${error.code})` : ''}: ${why}`);
  }
  return doc;
}

function summarize(manifest: Record<string, unknown>, label: string): SnapshotSummary {
  const tables = manifest.tables as Array<{ schema: string; name: string; rows: number }>;
  const clone = manifest.clone as { database?: string } | undefined;
  return {
    id: String(manifest.id),
    label,
    strategy: manifest.strategy as 'dump' | 'clone',
    strategyReason: String(manifest.strategyReason),
    sizeBytes: Number(manifest.sizeBytes),
    durationMs: Number(manifest.durationMs),
    rows: Object.fromEntries(tables.filter((t) => t.schema === 'public').map((t) => [t.name, t.rows])),
    ...(clone?.database ? { cloneDatabase: clone.database } : {}),
  };
}

function restoreSummary(doc: Record<string, unknown>): RestoreSummary {
  return {
    snapshot: String(doc.snapshot),
    database: String(doc.database),
    ...(typeof doc.replaced === 'string' ? { replaced: doc.replaced } : {}),
    strategy: doc.strategy as 'dump' | 'clone',
    durationMs: Number(doc.durationMs),
    phases: doc.phases as RestoreSummary['phases'],
  };
}

// ── The database ──────────────────────────────────────────────────────────

function urlFor(base: string, database: string): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function exec(url: string, sql: string): Promise<void> {
  await withClient(url, (client) => client.query(sql));
}

async function queryOne<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  return withClient(url, async (client) => (await client.query<T>(sql, params)).rows[0]!);
}

async function counts(url: string): Promise<Counts> {
  return withClient(url, async (client) => {
    const out = {} as Counts;
    for (const t of SHOP_TABLES) {
      const { rows } = await client.query<{ exists: boolean }>('select to_regclass($1) is not null as exists', [`public.${t}`]);
      out[t] = rows[0]!.exists ? Number((await client.query<{ n: string }>(`select count(*) as n from public.${ident(t)}`)).rows[0]!.n) : null;
    }
    return out;
  });
}

async function digests(url: string): Promise<Digests> {
  return withClient(url, async (client) => {
    const out = {} as Digests;
    for (const t of SHOP_TABLES) {
      const { rows } = await client.query<{ exists: boolean }>('select to_regclass($1) is not null as exists', [`public.${t}`]);
      out[t] = rows[0]!.exists
        ? ((await client.query<{ md5: string | null }>(`select md5(string_agg(x::text, E'\\n' order by x::text)) as md5 from public.${ident(t)} x`)).rows[0]!.md5 ?? '')
        : null;
    }
    return out;
  });
}

/** A closed connection's backend can linger in pg_stat_activity for a moment. */
async function waitForNoSessions(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [database]);
      if (rows[0]!.n === 0 || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

/** Drop only what this run made: the shop, Lifeboat's databases beside it, the dump copy, and our clone snapshots. */
async function dropOwnDatabases(adminUrl: string, database: string, dumpCopy: string, clones: string[]): Promise<string[]> {
  return withClient(adminUrl, async (client) => {
    const like = (name: string) => `${name.replace(/[\\%_]/g, (c) => `\\${c}`)}\\_\\_lifeboat\\_%`;
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database
        where datname = any($1::text[]) or datname like $2 or datname like $3
        order by 1`,
      [[database, dumpCopy, ...clones], like(database), like(dumpCopy)],
    );
    for (const { datname } of rows) await client.query(`drop database if exists ${ident(datname)} with (force)`);
    return rows.map((r) => r.datname);
  });
}

// ── Output ────────────────────────────────────────────────────────────────

function section(log: (line: string) => void, n: number, title: string): void {
  log(`${n}. ${title}`);
  log(`${' '.repeat(String(n).length + 2)}${'-'.repeat(title.length)}`);
}

/** An aligned table, indented; the first column left-aligned, the others right-aligned. */
function table(log: (line: string) => void, head: string[], rows: string[][]): void {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `   ${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ')}`.trimEnd();
  log(line(head));
  log(`   ${widths.map((w) => '-'.repeat(w)).join('   ')}`);
  for (const r of rows) log(line(r));
}

function count(n: number | null): string {
  return n === null ? '(missing)' : n.toLocaleString('en-US');
}

function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

// ── Run directly: `tsx demo/run.ts` ───────────────────────────────────────

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await runDemo({ log: (line) => console.log(line) });
  } catch (error) {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    // Not process.exitCode: embedded-postgres (async-exit-hook) calls process.exit(0) on beforeExit.
    process.exit(1);
  }
}
