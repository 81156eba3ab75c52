import type pg from 'pg';
import { connect, withClient } from '../db/connect.js';
import { copyDatabase, setAllowConnections, withUnsealed } from '../db/databases.js';
import { type CountOptions, type DatabaseState, listTables, readState, type TableInfo } from '../db/introspect.js';
import { fitIdentifier, ident } from '../db/sql.js';
import type { DatabaseTarget } from '../db/target.js';

/** The server-side database that holds a clone snapshot. */
export function cloneDatabaseName(snapshotId: string): string {
  return fitIdentifier('lifeboat_snap_', snapshotId.replace(/-/g, '_'));
}

/**
 * Copy the database with CREATE DATABASE … TEMPLATE, read the copy's state, and seal
 * it (no connections allowed) so nothing can change the snapshot afterwards.
 */
export async function cloneSnapshot(
  maintenance: pg.Client,
  target: DatabaseTarget,
  cloneName: string,
  exclude: (tables: TableInfo[]) => TableInfo[],
  counts: (excluded: TableInfo[]) => CountOptions,
): Promise<{ state: DatabaseState; bytes: number }> {
  await copyDatabase(maintenance, target.database, cloneName);
  const state = await withClient(target, cloneName, async (client) => {
    // The copy keeps every table's schema; derived and ephemeral data is emptied out of it.
    const excluded = exclude(await listTables(client));
    const name = (t: TableInfo) => `${ident(t.schema)}.${ident(t.name)}`;
    const tables = excluded.filter((t) => t.kind !== 'matview');
    if (tables.length > 0) await client.query(`truncate ${tables.map(name).join(', ')}`);
    for (const view of excluded.filter((t) => t.kind === 'matview')) await client.query(`refresh materialized view ${name(view)} with no data`);
    // Its tables are the original's, OIDs and all: it carries the original's identity.
    return readState(client, { ...counts(excluded), identityOf: target.database });
  });
  await setAllowConnections(maintenance, cloneName, false);
  const { rows } = await maintenance.query<{ bytes: string }>('select pg_database_size($1) as bytes', [cloneName]);
  return { state, bytes: Number(rows[0]!.bytes) };
}

/** Read a clone's state, unsealing it for the moment it takes. */
export async function readSealedState(maintenance: pg.Client, target: DatabaseTarget, cloneName: string): Promise<DatabaseState> {
  return withUnsealed(maintenance, cloneName, () => readCloneState(target, cloneName));
}

async function readCloneState(target: DatabaseTarget, cloneName: string, counts: CountOptions = {}): Promise<DatabaseState> {
  const client = await connect(target, cloneName);
  try {
    return await readState(client, counts);
  } finally {
    await client.end().catch(() => {});
  }
}
