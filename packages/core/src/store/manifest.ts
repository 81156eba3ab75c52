import { z } from 'zod';

export const MANIFEST_FORMAT = 'lifeboat.snapshot/v1';

const tableCount = z.object({
  schema: z.string(),
  name: z.string(),
  kind: z.enum(['table', 'partition', 'matview']),
  rows: z.number().int().nonnegative(),
  exact: z.boolean(),
  columns: z.array(z.string()).optional(),
  parent: z.string().optional(),
  /** Written by versions before `values`; still read. */
  filledColumns: z.array(z.string()).optional(),
  dataExcluded: z.boolean().optional(),
  oid: z.number().int().nonnegative().optional(),
  /** Parallel to `columns`, like `values` and `nonEmpty`. */
  attnums: z.array(z.number().int()).optional(),
  values: z.array(z.number().int().nonnegative()).optional(),
  nonEmpty: z.array(z.number().int().nonnegative().nullable()).optional(),
  buckets: z.object({ key: z.array(z.string()), types: z.array(z.string()), hash: z.literal('pg-hash-64'), counts: z.array(z.number().int().nonnegative()) }).optional(),
  /** Each column's type (with its collation), parallel to `columns`. */
  types: z.array(z.string()).optional(),
  /** Outside the deploy's at-risk set: not counted (`exact: false`); its statistics when the snapshot was taken (db/introspect.ts `TableStats`). */
  stats: z.object({ inserted: z.number().int().nonnegative(), updated: z.number().int().nonnegative(), deleted: z.number().int().nonnegative(), live: z.number().int().nonnegative() }).optional(),
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string(),
  label: z.string().optional(),
  reason: z.string(),
  database: z.object({
    name: z.string(),
    host: z.string(),
    port: z.number(),
    user: z.string(),
    owner: z.string(),
    encoding: z.string(),
    collate: z.string(),
    ctype: z.string(),
    localeProvider: z.string(),
    icuLocale: z.string().nullable(),
  }),
  server: z.object({ version: z.string(), major: z.number() }),
  /** The database's OID and its cluster's system identifier: whether the tables' OIDs are comparable with the live database's. */
  identity: z.object({ databaseOid: z.number().int().nonnegative(), systemIdentifier: z.string().nullable() }).optional(),
  /** `scoped`: a custom-format dump of the whole schema with the data of `scope.tables` only (strategies/scoped.ts); reverted in place, never restored as a database. */
  strategy: z.enum(['dump', 'clone', 'scoped']),
  /** Why this strategy: "asked for", or what `auto` found. */
  strategyReason: z.string(),
  dump: z
    .object({
      format: z.enum(['custom', 'directory']),
      jobs: z.number().int().positive(),
      /** The pg_dump flag used, e.g. --compress=1 or --compress=lz4. */
      compression: z.string().optional(),
      tool: z.string(),
      toolVersion: z.string(),
    })
    .optional(),
  clone: z.object({ database: z.string() }).optional(),
  /** A scoped snapshot: what its data covers, and what an in-place rollback (restore/in-place.ts) compares and recreates. */
  scope: z
    .object({
      /** The at-risk tables whose data the archive holds ("public.users"). */
      tables: z.array(z.string()),
      /** The whole schema, per object: [kind, ident, sha256 of its definition], as db/introspect.ts's FINGERPRINT_SQL lists it. */
      objects: z.array(z.tuple([z.string(), z.string(), z.string()])),
      /** Every index ("public.users_email_key") → its table ("public.users"). */
      indexes: z.record(z.string(), z.string()),
      /** What DROP … CASCADE of the scoped tables removes, as the archive's TOC names it: catalog (pg_class, pg_constraint… OID), object OID, and for relations and constraints their names. */
      dependents: z.array(z.object({ catalog: z.number().int(), oid: z.number().int(), relkind: z.string().optional(), name: z.string().optional(), table: z.string().optional() })),
    })
    .optional(),
  /** Off-site copies of clone snapshots are dumps: the clone database the dump was made from. */
  origin: z.object({ strategy: z.literal('clone'), database: z.string() }).optional(),
  createdAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  sizeBytes: z.number(),
  /**
   * The files as stored: their sizes and sha256 are of the bytes on disk. A file encrypted
   * at rest (`encryption.local`) is an age file (`data.dump.age`) and `plain` describes
   * what it decrypts to.
   */
  files: z.array(
    z.object({
      path: z.string(),
      bytes: z.number(),
      sha256: z.string(),
      plain: z.object({ path: z.string(), bytes: z.number(), sha256: z.string() }).optional(),
    }),
  ),
  tables: z.array(tableCount),
  schema: z.object({ hash: z.string(), objects: z.record(z.string(), z.number()) }),
  invalidIndexes: z.array(z.string()).optional(),
  notValidConstraints: z.array(z.string()).optional(),
  /** The ORM's applied migrations at snapshot time, when an adapter supplied them. */
  migrations: z.array(z.string()).optional(),
  tool: z.object({ name: z.literal('lifeboat'), version: z.string() }),
  /** sha256 of the manifest as written, without this field (store/manifest-checksum.ts). Absent in manifests of older Lifeboats. */
  checksum: z.string().optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;

/** Whether the snapshot's data is encrypted at rest in the store. */
export function encryptedAtRest(manifest: Manifest): boolean {
  return manifest.files.some((file) => file.plain !== undefined);
}
