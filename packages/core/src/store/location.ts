import { join, resolve } from 'node:path';
import type { EncryptionSettings } from '../crypto/age.js';

/** A store, by where it is: everything in it is found from its root. */
export interface Store {
  readonly root: string;
  /**
   * The config's encryption: with `local` on, new dump snapshots are written encrypted;
   * its identity opens encrypted snapshots (restore, verify) whatever `local` says now.
   */
  readonly encryption?: EncryptionSettings | undefined;
}

export function openStore(root: string, encryption?: EncryptionSettings): Store {
  return { root: resolve(root), ...(encryption ? { encryption } : {}) };
}

/** Whether new snapshots in this store are encrypted at rest. */
export function encryptsAtRest(store: Store): boolean {
  return store.encryption?.local === true;
}

export function snapshotsDir(store: Store): string {
  return join(store.root, 'snapshots');
}

export function snapshotDir(store: Store, id: string): string {
  return join(snapshotsDir(store), id);
}
