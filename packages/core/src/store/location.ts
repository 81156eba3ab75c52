import { join, resolve } from 'node:path';

/** A store, by where it is: everything in it is found from its root. */
export interface Store {
  readonly root: string;
}

export function openStore(root: string): Store {
  return { root: resolve(root) };
}

export function snapshotsDir(store: Store): string {
  return join(store.root, 'snapshots');
}

export function snapshotDir(store: Store, id: string): string {
  return join(snapshotsDir(store), id);
}
