/**
 * Restoring: `lifeboat restore --to` of a dump snapshot against `createdb` + `pg_restore`
 * of the same archive; and `lifeboat restore --yes` of a clone snapshot, in place, with
 * the time until the live database is the restored one (the swap).
 */
import { join } from 'node:path';
import { alternate, type CaseResult, type Context, dropDatabase, formatMs, ident, lifeboat, medianOf, pgEnv, psql, ratioRow, type Row, timed } from '../lib.js';
import { archiveOf, takeLifeboatSnapshot } from './snapshot.js';

interface RestoreJson {
  database: string;
  replaced?: string;
  durationMs: number;
  phases: { checkMs: number; loadMs: number; verifyMs: number; swapMs: number };
}

async function dumpFixture(ctx: Context) {
  if (!ctx.fixtures.dumpSnapshot) {
    const store = join(ctx.work, 'restore-dump-store');
    ctx.log('  taking the dump snapshot to restore (untimed)');
    const { manifest } = await takeLifeboatSnapshot(ctx, 'dump', store);
    ctx.fixtures.dumpSnapshot = { store, id: manifest.id, archive: archiveOf(store, manifest), sizeBytes: manifest.sizeBytes };
  }
  return ctx.fixtures.dumpSnapshot;
}

async function cloneFixture(ctx: Context) {
  if (!ctx.fixtures.cloneSnapshot) {
    const store = join(ctx.work, 'restore-clone-store');
    ctx.log('  taking the clone snapshot to restore (untimed)');
    const { manifest } = await takeLifeboatSnapshot(ctx, 'clone', store);
    ctx.fixtures.cloneSnapshot = { store, id: manifest.id, database: manifest.clone!.database };
  }
  return ctx.fixtures.cloneSnapshot;
}

export async function restoreDump(ctx: Context): Promise<CaseResult> {
  const snap = await dumpFixture(ctx);
  const runs = await alternate(ctx, 'restore-dump', {
    lifeboat: async (run) => {
      const name = `${ctx.database}_restored_lb_${run}`;
      ctx.track(name);
      const result = await lifeboat(ctx, ['restore', snap.id, '--to', name, '--json', '--store', snap.store]);
      const doc = JSON.parse(result.stdout) as RestoreJson;
      return { ms: result.ms, detail: { durationMs: doc.durationMs, ...doc.phases }, cleanup: () => dropDatabase(ctx, name) };
    },
    baseline: async (run) => {
      // The same archive: what differs is only who drives pg_restore.
      const name = `${ctx.database}_restored_pg_${run}`;
      ctx.track(name);
      const env = pgEnv(ctx.adminUrl);
      const start = performance.now();
      await timed('createdb', ['--no-password', '-T', 'template0', name], { env });
      await timed('pg_restore', ['--no-password', '-d', name, snap.archive], { env });
      return { ms: performance.now() - start, cleanup: () => dropDatabase(ctx, name) };
    },
  });
  const phase = (key: string) => medianOf(runs, 'lifeboat', (s) => s.detail?.[key] as number | undefined);
  const note =
    `restore-dump: inside Lifeboat ${formatMs(phase('durationMs'))}: check ${formatMs(phase('checkMs'))} (sha256 of the archive, pg_restore --list, connection checks), ` +
    `load ${formatMs(phase('loadMs'))} (createdb + pg_restore), verify ${formatMs(phase('verifyMs'))} (fingerprint and row counts of the copy), rename ${formatMs(phase('swapMs'))}; ` +
    `the rest of its ${formatMs(medianOf(runs, 'lifeboat'))} is starting node and the CLI.`;
  return {
    id: 'restore-dump',
    rows: [ratioRow('restore-dump', 'lifeboat restore ID --to NEW (dump)', 'createdb + pg_restore, same archive', runs, 1.05, note)],
    runs,
    details: { phasesMedianMs: { durationMs: phase('durationMs'), checkMs: phase('checkMs'), loadMs: phase('loadMs'), verifyMs: phase('verifyMs'), swapMs: phase('swapMs') } },
  };
}

export async function restoreClone(ctx: Context): Promise<CaseResult> {
  const snap = await cloneFixture(ctx);
  const runs = await alternate(ctx, 'restore-clone', {
    lifeboat: async () => {
      // In place: the live benchmark database is replaced by the snapshot's content (the same data).
      const result = await lifeboat(ctx, ['restore', snap.id, '--yes', '--json', '--store', snap.store]);
      const doc = JSON.parse(result.stdout) as RestoreJson;
      if (doc.replaced) ctx.track(doc.replaced);
      return {
        ms: result.ms,
        detail: { durationMs: doc.durationMs, ...doc.phases, replaced: doc.replaced },
        cleanup: async () => {
          if (doc.replaced) await dropDatabase(ctx, doc.replaced);
        },
      };
    },
    baseline: async (run) => {
      // By hand: copy the clone, then swap the names in one transaction.
      const incoming = `${ctx.database}_incoming_${run}`;
      const old = `${ctx.database}_old_${run}`;
      ctx.track(incoming);
      ctx.track(old);
      const copy = await psql(ctx, `create database ${ident(incoming)} template ${ident(snap.database)}`);
      const swap = await psql(ctx, `alter database ${ident(ctx.database)} rename to ${ident(old)}; alter database ${ident(incoming)} rename to ${ident(ctx.database)}`);
      return { ms: copy.ms + swap.ms, detail: { copyMs: copy.ms, swapMs: swap.ms }, cleanup: () => dropDatabase(ctx, old) };
    },
  });
  const swap = medianOf(runs, 'lifeboat', (s) => s.detail?.swapMs as number | undefined);
  const swapByHand = medianOf(runs, 'baseline', (s) => s.detail?.swapMs as number | undefined);
  const phase = (key: string) => medianOf(runs, 'lifeboat', (s) => s.detail?.[key] as number | undefined);
  const swapRow: Row = {
    id: 'restore-clone-swap',
    measured: 'its swap (phases.swapMs): live = restored',
    measuredMs: swap,
    baseline: 'the two renames by hand (psql)',
    baselineMs: swapByHand,
    compare: 'absolute',
    value: swap,
    target: '< 1 s',
    met: swap < 1000,
    note: `restore-clone-swap: from the moment the verified copy exists; the whole in-place restore took ${formatMs(phase('durationMs'))} inside Lifeboat (check ${formatMs(phase('checkMs'))}, copy ${formatMs(phase('loadMs'))}, verify ${formatMs(phase('verifyMs'))}).`,
  };
  return {
    id: 'restore-clone',
    rows: [ratioRow('restore-clone', 'lifeboat restore ID --yes (clone), whole', 'CREATE DATABASE … TEMPLATE + renames', runs, undefined), swapRow],
    runs,
    details: { phasesMedianMs: { durationMs: phase('durationMs'), checkMs: phase('checkMs'), loadMs: phase('loadMs'), verifyMs: phase('verifyMs'), swapMs: swap } },
  };
}
