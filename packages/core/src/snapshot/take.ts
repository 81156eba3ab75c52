import { availableParallelism } from 'node:os';
import type pg from 'pg';
import { connect, connectMaintenance, withClient } from '../db/connect.js';
import { dropDatabase } from '../db/databases.js';
import { classOf } from '../config/classes.js';
import type { DataClass } from '../config/schema.js';
import {
  type CountOptions,
  type DatabaseSettings,
  type DatabaseState,
  databaseSettings,
  listTables,
  readState,
  serverInfo,
  type ServerInfo,
  type TableInfo,
  type TableStats,
  tableStatistics,
} from '../db/introspect.js';
import type { DatabaseTarget } from '../db/target.js';
import { LifeboatError } from '../errors.js';
import { findPgTool, type PgTool } from '../pg-tools/find.js';
import { noProgress, type ProgressFn } from '../progress.js';
import { formatBytes } from '../bytes.js';
import { freeBytes, isStoreFull, sizeOf } from '../store/files.js';
import { type Manifest, MANIFEST_FORMAT } from '../store/manifest.js';
import { assertCanEncrypt } from '../crypto/age.js';
import { encryptsAtRest } from '../store/location.js';
import { beginSnapshot, ensureWritable, finishSnapshot, newSnapshotId, removeSnapshot, snapshotDir, type Store, updateMarker } from '../store/store.js';
import { chooseScoped, chooseStrategy, type DeployScope, type StrategyChoice, type StrategyName } from '../strategies/choose.js';
import { readScope, type Scope } from '../strategies/scoped.js';
import { cloneDatabaseName, cloneSnapshot } from '../strategies/clone.js';
import { type Compression, compressionArg, type DumpFormat, dumpDatabase, type SnapshotFile } from '../strategies/dump.js';
import { LIFEBOAT_VERSION } from '../version.js';
import { failpoint } from '../failpoint.js';

export interface TakeSnapshotOptions {
  /** The new snapshot's id, when the caller must name it before it exists (a deploy's intent record). */
  id?: string;
  target: DatabaseTarget;
  store: Store;
  strategy?: StrategyName;
  label?: string;
  /** Why the snapshot is taken: manual, deploy, safety… */
  reason?: string;
  /** `auto` (default): directory format with parallel jobs for databases over 1 GB on a multi-core machine, else custom. */
  dumpFormat?: DumpFormat | 'auto';
  /** Parallel jobs for the directory format; default: the number of cores. */
  jobs?: number;
  /** pg_dump compression; default `auto` (lz4 on pg_dump 16+, else gzip level 1). */
  compression?: Compression;
  migrations?: string[];
  /** Time for exact row counts; tables left when it runs out are estimated (and labelled so). */
  countBudgetMs?: number;
  /** Data classes: the data of derived and ephemeral tables is left out unless `allData`. */
  classes?: Record<string, DataClass>;
  allData?: boolean;
  onProgress?: ProgressFn;
  /**
   * A deploy's plan: the data at risk and whether every statement reverts in place. With it,
   * `auto` takes a scoped snapshot (the schema, and the data of the at-risk tables only) where
   * it can, and `scoped` requires it.
   */
  scope?: DeployScope;
  /** Said to the user as it happens: which strategy and why, fall-backs. */
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * Take a snapshot: check everything that can be checked before a byte is written
 * (connection, client tool versions, store), then dump or clone, then write the
 * manifest last. Any failure removes what was written; nothing half-made remains.
 */
export async function takeSnapshot(options: TakeSnapshotOptions): Promise<Manifest> {
  const { target } = options;
  const onProgress = options.onProgress ?? noProgress;
  const notice = options.onNotice ?? (() => {});
  const startedAt = new Date();

  // Proves the database exists and the credentials work, with the user's own URL, and
  // decides the strategy. A dump then reads through this same connection; a clone needs
  // it closed first (CREATE DATABASE … TEMPLATE wants the database to itself).
  let probe: pg.Client | undefined = await connect(target);
  let server: ServerInfo;
  let settings: DatabaseSettings;
  let choice: StrategyChoice;
  try {
    server = await serverInfo(probe);
    settings = (await databaseSettings(probe, target.database, server.major))!;
    const requested = options.strategy ?? 'auto';
    const scoped = chooseScoped(requested, options.scope);
    if ('choice' in scoped) choice = scoped.choice;
    else {
      // `scoped` where it cannot be: the full snapshot `auto` takes.
      const full = requested === 'scoped' ? 'auto' : requested;
      choice = encryptsAtRest(options.store) ? dumpForEncryption(full) : await chooseStrategy(probe, target.database, full);
      if (options.scope && scoped.fullBecause) choice = { ...choice, reason: `${choice.reason}; a full snapshot because ${scoped.fullBecause}` };
    }
    if (options.store.encryption?.local) await assertCanEncrypt(options.store.encryption);
  } catch (error) {
    await probe.end().catch(() => {});
    throw error;
  }
  if (choice.strategy === 'clone') {
    await probe.end().catch(() => {});
    probe = undefined;
  }
  try {
    return await snapshotWith(options, { probe, server, settings, choice, startedAt, onProgress, notice });
  } finally {
    await probe?.end().catch(() => {});
  }
}

/**
 * With `encryption.local` every snapshot is a dump: a clone is a database on the server,
 * which Lifeboat cannot encrypt, so asking for one is refused rather than left in clear.
 */
function dumpForEncryption(requested: StrategyName): StrategyChoice {
  if (requested === 'clone') {
    throw new LifeboatError('CONFIG_INVALID', 'encryption.local is on, and a clone snapshot is a database on the server that cannot be encrypted: it would hold the data in clear.', {
      hint: "Use strategy 'dump' (or 'auto', which picks dump when encryption.local is on), or turn encryption.local off.",
    });
  }
  return { strategy: 'dump', reason: `${requested === 'dump' ? 'dump was asked for' : 'auto chose dump: encryption.local is on, and only a dump can be encrypted'}` };
}

async function snapshotWith(
  options: TakeSnapshotOptions,
  context: { probe: pg.Client | undefined; server: ServerInfo; settings: DatabaseSettings; choice: StrategyChoice; startedAt: Date; onProgress: ProgressFn; notice: (m: string) => void },
): Promise<Manifest> {
  const { target, store } = options;
  const { server, settings, startedAt, onProgress, notice } = context;
  let { choice } = context;
  const tool = choice.strategy !== 'clone' ? await findPgTool('pg_dump', server.major, server.version) : undefined;
  // An unsupported compression is refused, like an old client, before a byte is written.
  if (tool) compressionArg(options.compression ?? 'auto', tool);
  const id = options.id ?? newSnapshotId(startedAt);
  const dir = snapshotDir(store, id);
  let cloneName: string | undefined;
  let maintenance: pg.Client | undefined;
  try {
    await ensureWritable(store);
    notice(`strategy: ${choice.strategy} (${choice.reason})`);
    await beginSnapshot(store, id);
    let taken: Taken;
    if (choice.strategy === 'clone') {
      cloneName = cloneDatabaseName(id);
      maintenance = await connectMaintenance(target);
      try {
        await updateMarker(store, id, { cloneDatabase: cloneName });
        onProgress({ phase: 'cloning' });
        const cloned = await cloneSnapshot(
          maintenance,
          target,
          cloneName,
          (tables) => excludedTables(options, tables),
          (excluded) => countOptions(options, excluded),
        );
        // A new database has no statistics of its own: the tables outside the set take the original's, read now.
        const state = boundedSet(options) ? await withClient(target, target.database, async (client) => withStatistics(cloned.state, await tableStatistics(client))) : cloned.state;
        taken = { files: [], state, bytes: cloned.bytes };
      } catch (error) {
        // Someone connected between our check and the copy: under auto, dump instead.
        const auto = options.strategy === undefined || options.strategy === 'auto';
        if (!auto || !(error instanceof LifeboatError) || error.code !== 'DATABASE_BUSY') throw error;
        await dropDatabase(maintenance, cloneName).catch(() => {});
        cloneName = undefined;
        choice = { strategy: 'dump', reason: `auto fell back to dump: ${error.message.replace(/\.$/, '')}` };
        notice(`strategy: dump (${choice.reason})`);
        taken = await dumpWithState(options, dir, await findPgTool('pg_dump', server.major, server.version), onProgress, undefined);
      }
    } else {
      taken = await dumpWithState(options, dir, tool!, onProgress, context.probe, choice.strategy === 'scoped' ? scopedTables(options) : undefined);
    }
    const finishedAt = new Date();
    const manifest = buildManifest({ options, id, server, settings, choice, taken, cloneName, startedAt, finishedAt });
    await failpoint('snapshot:before-manifest');
    return await finishSnapshot(store, manifest);
  } catch (error) {
    const written = isStoreFull(error) ? await sizeOf(dir).catch(() => undefined) : undefined;
    await removeSnapshot(store, id).catch(() => {});
    if (cloneName && maintenance) await dropDatabase(maintenance, cloneName).catch(() => {});
    if (isStoreFull(error)) throw await snapshotDidNotFit(options, written, error);
    throw error;
  } finally {
    await maintenance?.end().catch(() => {});
  }
}

/**
 * The store filled up: how much the snapshot had written (it needed more), the
 * database's size for scale, and the room left now that the partial snapshot is gone.
 */
async function snapshotDidNotFit(options: TakeSnapshotOptions, written: number | undefined, cause: LifeboatError): Promise<LifeboatError> {
  const free = await freeBytes(options.store.root);
  const databaseBytes = await withClient(options.target, options.target.database, async (client) => {
    const { rows } = await client.query<{ bytes: string }>('select pg_database_size(current_database())::text as bytes');
    return Number(rows[0]!.bytes);
  }).catch(() => undefined);
  const facts = [
    written !== undefined ? `it needed more than the ${formatBytes(written)} it had written` : undefined,
    databaseBytes !== undefined ? `the database is ${formatBytes(databaseBytes)} on the server` : undefined,
    free !== undefined ? `${formatBytes(free)} is free there now that the partial snapshot is removed` : undefined,
  ].filter(Boolean);
  return new LifeboatError(
    'STORE_FULL',
    `The disk holding the snapshot store ${options.store.root} is full; the snapshot of "${options.target.database}" did not fit${facts.length > 0 ? ` (${facts.join('; ')})` : ''}.`,
    {
      hint: 'Nothing of the snapshot was kept and the database was not touched. Free space on that disk (`lifeboat prune`) or point --store at a bigger one, then run again.',
      cause,
    },
  );
}

interface Taken {
  files: SnapshotFile[];
  state: DatabaseState;
  bytes: number;
  dump?: NonNullable<Manifest['dump']>;
  scope?: Scope;
}

/** The at-risk tables of a scoped snapshot (empty for a migration that only adds). */
function scopedTables(options: TakeSnapshotOptions): string[] {
  const atRisk = options.scope?.atRisk;
  return atRisk && 'tables' in atRisk ? atRisk.tables : [];
}

/**
 * pg_dump inside an exported snapshot while the same transaction counts rows and
 * fingerprints the schema: both see exactly the data that is dumped, and run side by side.
 */
async function dumpWithState(options: TakeSnapshotOptions, dir: string, tool: PgTool, onProgress: ProgressFn, open: pg.Client | undefined, scoped?: string[]): Promise<Taken> {
  const reader: pg.Client = open ?? (await connect(options.target));
  try {
    await reader.query('begin isolation level repeatable read read only');
    const { rows } = await reader.query<{ id: string }>('select pg_export_snapshot() as id');
    const tables = await listTables(reader);
    // Scoped: the data of the at-risk tables only (a materialized view's "data" is a REFRESH, kept).
    const excluded = scoped ? tables.filter((t) => t.kind !== 'matview' && !scoped.includes(`${t.schema}.${t.name}`)) : excludedTables(options, tables);
    const tablesTotal = tables.filter((t) => t.kind !== 'matview').length - excluded.length;
    // An in-place rollback selects entries of the archive: one custom-format file.
    const format = scoped ? 'custom' : await chooseFormat(reader, options);
    const jobs = format === 'directory' ? (options.jobs ?? Math.max(1, availableParallelism())) : 1;
    const compression = options.compression ?? 'auto';
    const [files, state] = await Promise.all([
      dumpDatabase({
        target: options.target,
        tool,
        dir,
        format,
        jobs,
        compression,
        exportedSnapshot: rows[0]!.id,
        excludeData: excluded,
        tablesTotal,
        ...(encryptsAtRest(options.store) ? { encryption: options.store.encryption } : {}),
        onProgress,
        signal: options.signal,
      }),
      readState(reader, countOptions(options, excluded)).then(async (read) => ({ ...read, ...(scoped ? { scope: await readScope(reader, scoped, tables) } : {}) })),
    ]);
    await reader.query('commit');
    return {
      files,
      state,
      bytes: files.reduce((sum, f) => sum + f.bytes, 0),
      dump: { format, jobs, compression: compressionArg(compression, tool), tool: tool.name, toolVersion: tool.version },
      ...(state.scope ? { scope: state.scope } : {}),
    };
  } catch (error) {
    // Ending the session, not a ROLLBACK: its count may be waiting on a lock, and a queued
    // ROLLBACK would wait with it. Closing cancels both.
    await reader.end().catch(() => {});
    throw error;
  } finally {
    if (!open) await reader.end().catch(() => {});
  }
}

/** Parallel dumps pay off on big databases only: below 1 GB the single-file custom format is as fast. */
const PARALLEL_DUMP_BYTES = 1e9;

async function chooseFormat(client: pg.Client, options: TakeSnapshotOptions): Promise<DumpFormat> {
  const asked = options.dumpFormat ?? 'auto';
  if (encryptsAtRest(options.store)) {
    // pg_dump writes a directory archive itself, in clear; only a custom archive streams through the encryption.
    if (asked === 'directory') {
      throw new LifeboatError('CONFIG_INVALID', 'encryption.local is on, and a directory-format dump is written by pg_dump itself, in clear: it cannot be encrypted as it is written.', {
        hint: "Use dump.format 'custom' (or 'auto'), or turn encryption.local off.",
      });
    }
    return 'custom';
  }
  if (asked !== 'auto') return asked;
  if (availableParallelism() < 2) return 'custom';
  const { rows } = await client.query<{ bytes: string }>('select pg_database_size(current_database())::text as bytes');
  return Number(rows[0]!.bytes) > PARALLEL_DUMP_BYTES ? 'directory' : 'custom';
}

/**
 * Derived and ephemeral tables, whose data the snapshot leaves out (unless --all-data).
 * A table a kept table points to with a foreign key keeps its data: without it the
 * restore could not re-create that constraint.
 */
function excludedTables(options: TakeSnapshotOptions, tables: TableInfo[]): TableInfo[] {
  if (options.allData || !options.classes) return [];
  const classes = options.classes;
  let excluded = tables.filter((t) => ['derived', 'ephemeral'].includes(classOf(classes, t)));
  for (;;) {
    const names = new Set(excluded.map((t) => `${t.schema}.${t.name}`));
    const next = excluded.filter((t) => t.referencedBy.every((ref) => names.has(ref)));
    if (next.length === excluded.length) break;
    excluded = next;
  }
  const kept = tables.filter((t) => ['derived', 'ephemeral'].includes(classOf(classes, t)) && !excluded.includes(t));
  for (const t of kept) options.onNotice?.(`keeping the data of ${t.schema}.${t.name} (${classOf(classes, t)}): ${t.referencedBy.join(', ')} refer to it`);
  return excluded;
}

/**
 * Checks in proportion: the deploy's at-risk set (schema.table) when its plan bounds it,
 * whatever the strategy. Only these tables (and their partitions) are counted exactly,
 * with their contents; every other one gets its statistics instead of a scan.
 */
function boundedSet(options: TakeSnapshotOptions): string[] | undefined {
  const atRisk = options.scope?.atRisk;
  return atRisk && 'tables' in atRisk ? atRisk.tables : undefined;
}

function countOptions(options: TakeSnapshotOptions, excluded: TableInfo[]): CountOptions {
  const bounded = boundedSet(options);
  const atRisk = bounded ? new Set(bounded) : undefined;
  return {
    contents: true,
    excludeData: new Set(excluded.map((t) => `${t.schema}.${t.name}`)),
    // A partition is at risk with its partitioned table; a materialized view is never scanned for contents anyway.
    ...(atRisk ? { statsOnly: (t: TableInfo) => !atRisk.has(`${t.schema}.${t.name}`) && !(t.parent && atRisk.has(t.parent)) } : {}),
    ...(options.countBudgetMs !== undefined ? { budgetMs: options.countBudgetMs } : {}),
  };
}

/** The statistics of `stats` on the tables of `state` that have some (matched by OID: a clone keeps its original's). */
function withStatistics(state: DatabaseState, stats: Map<number, TableStats>): DatabaseState {
  return { ...state, tables: state.tables.map((t) => (t.stats && t.oid !== undefined ? { ...t, stats: stats.get(t.oid) ?? t.stats } : t)) };
}

function buildManifest(input: {
  options: TakeSnapshotOptions;
  id: string;
  server: ServerInfo;
  settings: DatabaseSettings;
  choice: StrategyChoice;
  taken: Taken;
  cloneName: string | undefined;
  startedAt: Date;
  finishedAt: Date;
}): Manifest {
  const { options, taken } = input;
  return {
    format: MANIFEST_FORMAT,
    id: input.id,
    ...(options.label ? { label: options.label } : {}),
    reason: options.reason ?? 'manual',
    database: {
      name: options.target.database,
      host: options.target.host,
      port: options.target.port,
      user: options.target.user,
      ...input.settings,
    },
    server: input.server,
    ...(taken.state.identity ? { identity: taken.state.identity } : {}),
    strategy: input.choice.strategy,
    strategyReason: input.choice.reason,
    ...(taken.dump ? { dump: taken.dump } : {}),
    ...(input.cloneName ? { clone: { database: input.cloneName } } : {}),
    ...(taken.scope ? { scope: taken.scope } : {}),
    createdAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    durationMs: input.finishedAt.getTime() - input.startedAt.getTime(),
    sizeBytes: taken.bytes,
    files: taken.files,
    tables: taken.state.tables,
    schema: taken.state.schema,
    invalidIndexes: taken.state.invalidIndexes ?? [],
    notValidConstraints: taken.state.notValidConstraints ?? [],
    ...(options.migrations ? { migrations: options.migrations } : {}),
    tool: { name: 'lifeboat', version: LIFEBOAT_VERSION },
  };
}
