import type pg from 'pg';
import { connect } from '../db/connect.js';
import { copyDatabase, setAllowConnections, withUnsealed } from '../db/databases.js';
import { type CountOptions, type DatabaseState, readState } from '../db/introspect.js';
import { fitIdentifier } from '../db/sql.js';
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
  counts: CountOptions,
): Promise<{ state: DatabaseState; bytes: number }> {
  await copyDatabase(maintenance, target.database, cloneName);
  const state = await readCloneState(target, cloneName, counts);
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
