/**
 * The Lifeboat demo: a guarded Knex deploy. The shop app (demo/shop/) changes one line
 * of its deploy script, `knex migrate:latest` → `lifeboat knex migrate:latest`. A good
 * migration is kept; an archive migration with the wrong year in its WHERE deletes most
 * orders, the data-preservation check catches it and Lifeboat rolls the database back;
 * the fixed migration goes through, with the loss the config allows.
 *
 *   pnpm demo                      # embedded PostgreSQL 15 of its own
 *   runDemo({ log, adminUrl })     # on an existing server (tests): a database of its own there
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type DeployReport, listStore, openStore } from '@lifeboat/core';
import { startEmbedded } from '../dev/embedded-postgres.js';
import { type Counts, counts, type Digests, digests, dropOwnDatabases, exec, ident, query, queryOne, urlFor, waitForNoSessions } from './db.js';
import { bytes, count, type Log, ms, section, table } from './output.js';
import { cliPath, copyShop, type ShopProject } from './project.js';

/** The tables the story counts; orders_archive comes with the archive migration. */
export const SHOP_TABLES = ['customers', 'products', 'orders', 'order_items', 'orders_archive', 'knex_migrations'] as const;

/** The migrations of the story, from demo/shop/upcoming/. */
const SHIPPED_AT = '20260112090000_add_shipped_at.cjs';
const ARCHIVE = '20260114090000_archive_old_orders.cjs';
/** The year the archive's delete should have used, and the one it has. */
const CUTOFF = "'2023-01-01'";
const TYPO = "'2025-01-01'";

export interface DemoResult {
  /** The shop database's name on the server. */
  database: string;
  server: { embedded: boolean; version: string };
  /** The working copy of demo/shop/ the story ran in (removed at the end). */
  project: string;
  /** Rows after the app's first migration and its seed. */
  seeded: Counts;
  ordersByYear: Record<number, number>;
  /** What the archive is meant to move: orders placed before 2023, and their items. */
  oldOrders: { orders: number; items: number };
  deploys: { good: DeployReport; bad: DeployReport; fixed: DeployReport };
  /** Orders with shipped_at set by the good deploy's backfill. */
  shippedAtFilled: number;
  /** The bad deploy: before it, as it left the database (kept by the rollback under `replaced`), after the rollback. */
  bad: { before: Counts; left: Counts; after: Counts; digestBefore: Digests; digestAfter: Digests; ordersInNeitherTable: number };
  fixed: { before: Counts; after: Counts; archived: { orders: number; items: number } };
  /** The server-side copies behind the deploys' clone snapshots. */
  cloneDatabases: string[];
  /** Databases dropped at the end (external server only; empty with the embedded one). */
  cleanedUp: string[];
  totalMs: number;
}

export interface DemoOptions {
  log: Log;
  /** A superuser URL to an existing server's `postgres` database; without it, an embedded PostgreSQL 15 is started. */
  adminUrl?: string;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { log } = options;
  const started = Date.now();
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`pnpm build\` first`);

  log('Lifeboat demo: a guarded Knex deploy');
  log('====================================');
  log('');

  const serverStart = Date.now();
  const embedded = options.adminUrl === undefined ? await startEmbedded() : undefined;
  const adminUrl = options.adminUrl ?? embedded!.url();
  const database = embedded ? 'shop' : `shop_demo_${randomBytes(4).toString('hex')}`;
  const url = urlFor(adminUrl, database);
  const serverMs = Date.now() - serverStart;
  let project: ShopProject | undefined;
  let created = false;
  const cloneDatabases: string[] = [];
  const cleanedUp: string[] = [];
  let result: DemoResult | undefined;

  try {
    // ── 1. The shop ───────────────────────────────────────────────────────
    const version = (await queryOne<{ v: string }>(adminUrl, "select current_setting('server_version') as v")).v.split(' ')[0]!;
    section(log, 1, 'The shop: a Knex app');
    log(
      embedded
        ? `   PostgreSQL ${version}, embedded, started in ${ms(serverMs)} (a throwaway server in a temp folder).`
        : `   PostgreSQL ${version} on the given server; the demo works in a database of its own, "${database}".`,
    );
    await exec(adminUrl, `create database ${ident(database)}`);
    created = true;
    project = await copyShop(url);
    log(`   The app is demo/shop/ (knexfile.js, migrations/, seeds/, lifeboat.config.js), copied to`);
    log(`   ${project.path}/. Until today its deploy ran plain knex:`);
    log('');
    const buildStart = Date.now();
    await project.knex(['migrate:latest']);
    await project.knex(['seed:run']);
    log(`   $ knex migrate:latest && knex seed:run          (${ms(Date.now() - buildStart)})`);
    log('');
    const seeded = await counts(url, SHOP_TABLES);
    const years = await query<{ year: number; n: number }>(url, 'select extract(year from placed_at)::int as year, count(*)::int as n from orders group by 1 order by 1');
    const ordersByYear = Object.fromEntries(years.map((r) => [r.year, r.n]));
    const oldOrders = await queryOne<{ orders: number; items: number }>(
      url,
      `select count(distinct o.id)::int as orders, count(*)::int as items from orders o join order_items i on i.order_id = o.id where o.placed_at < ${CUTOFF}`,
    );
    table(
      log,
      ['table', 'rows'],
      SHOP_TABLES.filter((t) => seeded[t] !== null).map((t) => [t, count(seeded[t])]),
    );
    log('');
    log(`   Orders by year: ${years.map((r) => `${r.year} ${count(r.n)}`).join(' · ')}`);
    log('');

    // ── 2. A good deploy ──────────────────────────────────────────────────
    section(log, 2, 'A good deploy: orders get a shipped_at');
    log('   The deploy script changes one line: `knex migrate:latest` → `lifeboat knex migrate:latest`.');
    log(`   New: migrations/${SHIPPED_AT} (adds the column, backfills it).`);
    log('');
    await project.addMigration(SHIPPED_AT);
    const good = await deploy(log, project, adminUrl, database);
    if (good.outcome !== 'applied') throw new Error(`the good deploy was not applied (outcome ${good.outcome})`);
    const { filled: shippedAtFilled } = await queryOne<{ filled: number }>(url, 'select count(shipped_at)::int as filled from orders');
    log('');
    log(`   shipped_at is now set on ${count(shippedAtFilled)} of ${count(seeded.orders)} orders (the shipped and delivered ones).`);
    log('');

    // ── 3. A bad deploy ───────────────────────────────────────────────────
    section(log, 3, 'A bad deploy: archive the orders placed before 2023');
    await project.addMigration(ARCHIVE);
    log(`   New: migrations/${ARCHIVE}. It copies the old orders, with`);
    log('   their items, into orders_archive, then deletes them from orders; but the delete has');
    log('   the wrong year:');
    log('');
    for (const line of await project.linesOf(ARCHIVE, '01-01')) log(`     ${line}`);
    log('');
    log('   lifeboat.config.js allows a migration to remove up to 25% of orders and of order_items');
    log(`   (allow.rowLoss); ${count(oldOrders.orders)} of the ${count(seeded.orders)} orders were placed before 2023.`);
    log('');
    const badBefore = await counts(url, SHOP_TABLES);
    const digestBefore = await digests(url);
    const bad = await deploy(log, project, adminUrl, database);
    if (bad.exitCode !== 21 || !bad.restore?.replaced) throw new Error(`the bad deploy was not caught and rolled back (outcome ${bad.outcome}, exit ${bad.exitCode})`);
    const badLeft = await counts(urlFor(adminUrl, bad.restore.replaced), SHOP_TABLES);
    const badAfter = await counts(url, SHOP_TABLES);
    const digestAfter = await digests(url);
    const same = (t: string) => digestAfter[`public.${t}`] !== undefined && digestAfter[`public.${t}`] === digestBefore[`public.${t}`];
    log('');
    table(
      log,
      ['table', 'before', 'left by the migration', 'after the rollback', 'md5 of the rows'],
      SHOP_TABLES.map((t) => [t, count(badBefore[t]), count(badLeft[t]), count(badAfter[t]), badAfter[t] === null ? '' : same(t) ? 'identical' : 'DIFFERENT']),
    );
    const allSame = sameDigests(digestBefore, digestAfter);
    const ordersInNeitherTable = (badBefore.orders ?? 0) - (badLeft.orders ?? 0) - (badLeft.orders_archive ?? 0);
    log('');
    log(`   ${count(ordersInNeitherTable)} orders were in neither orders nor orders_archive: its down() could not have`);
    log('   brought them back. After the rollback, an md5 of every row of every table');
    log(`   (${Object.keys(digestAfter).length} tables, knex_migrations included) is ${allSame ? 'identical to before the deploy' : 'DIFFERENT from before the deploy'}.`);
    log(`   The database as the migration left it is kept as "${bad.restore.replaced}".`);
    log('');
    if (!allSame) throw new Error('after the rollback, the database differs from before the bad deploy');

    // ── 4. The fix ────────────────────────────────────────────────────────
    section(log, 4, 'The fix, deployed again');
    log('   The developer fixes the WHERE in the same migration file and runs the same command;');
    log('   knex_migrations came back with the rollback, so knex sees the migration as pending again:');
    log('');
    const edit = await project.editMigration(ARCHIVE, '.del()', TYPO, CUTOFF);
    log(`     - ${edit.before}`);
    log(`     + ${edit.after}`);
    log('');
    const fixedBefore = await counts(url, SHOP_TABLES);
    const fixed = await deploy(log, project, adminUrl, database);
    if (fixed.outcome !== 'applied') throw new Error(`the fixed deploy was not applied (outcome ${fixed.outcome})`);
    const fixedAfter = await counts(url, SHOP_TABLES);
    const archived = await queryOne<{ orders: number; items: number }>(url, 'select count(*)::int as orders, coalesce(sum(jsonb_array_length(items)), 0)::int as items from orders_archive');
    log('');
    table(
      log,
      ['table', 'before', 'after'],
      SHOP_TABLES.map((t) => [t, count(fixedBefore[t]), count(fixedAfter[t])]),
    );
    log('');
    log(`   orders_archive holds the ${count(archived.orders)} orders placed before 2023, with their ${count(archived.items)} items.`);
    log('');

    // ── 5. Timings ────────────────────────────────────────────────────────
    section(log, 5, 'Timings');
    const phase = (n: number) => (n > 0 ? ms(n) : '-');
    const deploys: Array<[string, DeployReport]> = [
      ['add shipped_at', good],
      ['archive, wrong year', bad],
      ['archive, fixed', fixed],
    ];
    table(
      log,
      ['deploy', 'outcome', 'snapshot', 'migrate', 'checks', 'restore', 'total'],
      deploys.map(([name, { outcome, timings: t }]) => [name, outcome, phase(t.snapshotMs), phase(t.migrateMs), phase(t.checksMs), phase(t.restoreMs), ms(t.totalMs)]),
      2,
    );
    log('');

    result = {
      database,
      server: { embedded: embedded !== undefined, version },
      project: project.dir,
      seeded,
      ordersByYear,
      oldOrders,
      deploys: { good, bad, fixed },
      shippedAtFilled,
      bad: { before: badBefore, left: badLeft, after: badAfter, digestBefore, digestAfter, ordersInNeitherTable },
      fixed: { before: fixedBefore, after: fixedAfter, archived },
      cloneDatabases,
      cleanedUp,
      totalMs: 0,
    };
    return result;
  } finally {
    // Cleanup runs on failure too; its own errors must not hide the first one.
    if (project) cloneDatabases.push(...(await clonesIn(project.store).catch(() => [])));
    if (!embedded && created) cleanedUp.push(...(await dropOwnDatabases(adminUrl, database, cloneDatabases).catch(() => [])));
    if (project) await project.remove().catch(() => {});
    if (embedded) await embedded.stop();
    if (result) {
      result.totalMs = Date.now() - started;
      log(
        embedded
          ? `All good in ${ms(result.totalMs)}; the embedded server is stopped and its folder removed, and so is ${project!.path}/.`
          : `All good in ${ms(result.totalMs)}; the demo's ${cleanedUp.length} databases on the server are dropped, and ${project!.path}/ removed.`,
      );
    }
  }
}

/** `lifeboat knex migrate:latest` in the project, and what it reported. */
async function deploy(log: Log, project: ShopProject, adminUrl: string, database: string): Promise<DeployReport> {
  // `auto` clones only a database nobody else is on: our own sessions are closed, wait until they are gone.
  await waitForNoSessions(adminUrl, database);
  log('   $ lifeboat knex migrate:latest');
  const r = await project.lifeboatKnex(['migrate:latest']);
  const out = (label: string, text: string) => log(`     ${label.padEnd(10)} ${text}`);
  out('outcome', `${r.outcome} (exit ${r.exitCode})`);
  if (r.migrated?.length) out('migrated', `${r.migrated.join(', ')}${r.restore ? ', undone by the rollback' : ''}`);
  if (r.snapshot) {
    out('snapshot', `${r.snapshot.id} (${r.snapshot.strategy}, ${bytes(r.snapshot.sizeBytes)}), ${r.outcome === 'applied' ? 'kept as the restore point' : 'kept'}`);
    out('', r.snapshot.strategyReason);
  }
  const width = Math.max(...r.checks.map((c) => c.name.length));
  r.checks.forEach((c, i) => {
    out(i === 0 ? 'checks' : '', `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.summary}`);
    for (const problem of c.problems) out('', `      ${' '.repeat(width)}  ! ${problem}`);
    for (const allowed of c.allowed) out('', `      ${' '.repeat(width)}  allowed: ${allowed}`);
  });
  if (r.restore) {
    const p = r.restore.phases;
    out('rollback', `restored and verified in ${ms(r.restore.durationMs)}: load ${ms(p.loadMs)}, verify ${ms(p.verifyMs)}, swap ${ms(p.swapMs)}`);
  }
  const t = r.timings;
  const phases: Array<[string, number]> = [
    ['lock', t.lockMs],
    ['pending', t.pendingMs],
    ['snapshot', t.snapshotMs],
    ['migrate', t.migrateMs],
    ['checks', t.checksMs],
    ['restore', t.restoreMs],
  ];
  out('timings', [...phases.filter(([name, n]) => name !== 'restore' || n > 0).map(([name, n]) => `${name} ${ms(n)}`), `total ${ms(t.totalMs)}`].join(' · '));
  return r;
}

function sameDigests(a: Digests, b: Digests): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** The server-side databases behind the clone snapshots in the project's store. */
async function clonesIn(store: string): Promise<string[]> {
  const { snapshots } = await listStore(openStore(store));
  return snapshots.flatMap((s) => (s.clone ? [s.clone.database] : []));
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
