import type { Readable } from 'node:stream';
import type { RemoteLocation } from './url.js';

/** An object as a listing shows it. Keys are relative to the remote's prefix. */
export interface RemoteObject {
  key: string;
  bytes: number;
  lastModified: string | undefined;
}

/** What the server says about an object it stores: its ETag and checksums (S3), or a sha256 of the file (file://). */
export interface StoredFacts {
  etag?: string;
  checksums?: Record<string, string>;
}

/**
 * A place off the machine that holds copies: S3 (and S3-compatible services) or a folder.
 * Every method turns its failures into REMOTE_* errors a user can act on.
 */
export interface Remote {
  readonly location: RemoteLocation;
  /** Prove the remote exists and takes these credentials, before any work. */
  check(): Promise<void>;
  /** Stream `body` into `key`; resolves once the server has all of it. Memory stays flat whatever the size. */
  put(key: string, body: Readable, options?: { expectedBytes?: number; signal?: AbortSignal }): Promise<StoredFacts>;
  get(key: string): Promise<Readable>;
  /** Size and stored facts, or undefined when there is no such object. */
  head(key: string): Promise<(StoredFacts & { bytes: number }) | undefined>;
  list(prefix: string): Promise<RemoteObject[]>;
  remove(keys: string[]): Promise<void>;
  close(): void;
}
