import { z } from 'zod';

const tableList = z.array(z.string().min(1));

/** A table that may lose rows: every row (a name), or at most `max` rows / `maxPercent` of them. */
const rowLossAllowance = z.union([
  z.string().min(1),
  z
    .object({
      table: z.string().min(1),
      max: z.number().int().nonnegative().optional(),
      maxPercent: z.number().min(0).max(100).optional(),
    })
    .strict(),
]);

/** A column whose values may be wiped (set to NULL or emptied): every value (a name), or at most `max` / `maxPercent` of them. */
const valueLossAllowance = z.union([
  z.string().min(1),
  z
    .object({
      column: z.string().min(1),
      max: z.number().int().nonnegative().optional(),
      maxPercent: z.number().min(0).max(100).optional(),
    })
    .strict(),
]);

/** `lifeboat.config.ts`: every key optional, unknown keys refused (a typo must not pass silently). */
/** "90s", "15m", "24h", "7d", or a number of seconds. */
const duration = z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?\s*(s|m|h|d)$/, 'a duration such as "15m", "24h" or "7d"')]);

/**
 * What retention keeps, as restic's `forget` reads: the newest N, those younger than D days,
 * and the newest of each of the last N days / ISO weeks / months that have one (UTC).
 */
const retentionSchema = z
  .object({
    keep: z.number().int().positive().optional(),
    maxAgeDays: z.number().positive().optional(),
    daily: z.number().int().positive().optional(),
    weekly: z.number().int().positive().optional(),
    monthly: z.number().int().positive().optional(),
  })
  .strict();

export const DATA_CLASSES = ['critical', 'configuration', 'derived', 'ephemeral'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

export const configSchema = z
  .object({
    /** The database; `--database-url` comes first, this second, then `DATABASE_URL`. */
    databaseUrl: z.string().optional(),
    /** The snapshot store folder, relative to the config file. Default `.lifeboat`. */
    store: z.string().optional(),
    strategy: z.enum(['auto', 'dump', 'clone', 'scoped']).optional(),
    /** The dump strategy's pg_dump settings. */
    dump: z
      .object({
        /** auto (default): directory format with parallel jobs over 1 GB on several cores, else custom. */
        format: z.enum(['auto', 'custom', 'directory']).optional(),
        jobs: z.number().int().positive().optional(),
        /** auto (default: lz4 with pg_dump 16+, else gzip level 1), none, lz4, zstd, gzip or gzip:N. */
        compression: z
          .string()
          .regex(/^(auto|none|lz4|zstd|gzip(:[0-9])?)$/, 'auto, none, lz4, zstd, gzip or gzip:0-9')
          .optional(),
      })
      .strict()
      .optional(),
    /** What a failed deploy does: restore the snapshot (default) or leave the database as the migration left it. */
    onFailure: z.enum(['rollback', 'keep']).optional(),
    /**
     * Default: keep the newest 10 snapshots (unless another rule is given), and at most 3 full
     * copies per database on the server (clone snapshots and replaced databases together).
     */
    retention: retentionSchema.extend({ keepOnServer: z.number().int().nonnegative().optional() }).strict().optional(),
    /**
     * The off-site copy: `s3://bucket/prefix` (AWS S3 and S3-compatible services) or
     * `file:///path`. Credentials come from the AWS SDK's own chain (environment, profile,
     * role), never from here: there is no key for them.
     */
    remote: z
      .object({
        url: z.string().min(1),
        /** An S3-compatible service's endpoint, e.g. https://<account>.r2.cloudflarestorage.com. */
        endpoint: z.string().url().optional(),
        region: z.string().min(1).optional(),
        /** Path-style requests (endpoint/bucket/key), as MinIO and most self-hosted services need. */
        forcePathStyle: z.boolean().optional(),
        /** 'always': push every snapshot as soon as it is taken (a failed push never fails the deploy); 'manual' (default): `lifeboat push`. */
        push: z.enum(['always', 'manual']).optional(),
        /** Retention of the remote copies, separate from the local store's. */
        retention: retentionSchema.optional(),
      })
      .strict()
      .optional(),
    /**
     * age encryption of everything that leaves the machine: `recipients` (age1… public keys),
     * or a passphrase read from the environment variable `passphraseEnv`. Restoring needs
     * the identity: `identityFile`, or the variable `identityEnv` (default LIFEBOAT_AGE_IDENTITY).
     * `local: true` encrypts the dump snapshots in the local store too (dumps only: a clone
     * snapshot is a database on the server, so `auto` picks dump and `clone` is refused).
     */
    encryption: z
      .object({
        recipients: z
          .array(z.string().regex(/^age1[0-9a-z]+$/, 'an age recipient (age1…)'))
          .min(1)
          .optional(),
        passphraseEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable')
          .optional(),
        identityFile: z.string().min(1).optional(),
        /** Encrypt dump snapshots at rest in the local store too (default false). */
        local: z.boolean().optional(),
        identityEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable')
          .optional(),
      })
      .strict()
      .refine((e) => !(e.recipients && e.passphraseEnv), 'recipients or passphraseEnv, not both (age encrypts to a passphrase alone)')
      .refine((e) => e.recipients || e.passphraseEnv, 'recipients (age1… public keys) or passphraseEnv')
      .optional(),
    /** How long a command that changes the database waits for another one on it (deploy, restore, rollback, recover, prune). Default 600. */
    lockTimeoutSeconds: z.number().nonnegative().optional(),
    /** Time for exact row counts; bigger tables left when it runs out are estimated. Default 30. */
    rowCountBudgetSeconds: z.number().nonnegative().optional(),
    checks: z
      .object({
        migrations: z.boolean().optional(),
        invalidIndexes: z.boolean().optional(),
        notValidConstraints: z.boolean().optional(),
        dataPreservation: z.boolean().optional(),
        sequences: z.boolean().optional(),
        /** Your own checks: SQL that must return no rows, or exactly `expectRows` rows. */
        sql: z
          .array(
            z
              .object({
                name: z.string().min(1),
                sql: z.string().min(1),
                expectRows: z.number().int().nonnegative().optional(),
              })
              .strict(),
          )
          .optional(),
      })
      .strict()
      .optional(),
    /**
     * `lifeboat plan`, which a guarded deploy runs first: the pending SQL parsed, checked
     * against the live data, rehearsed on the schema alone. A finding of severity error
     * refuses the deploy before anything is written, unless allowed here or by a comment
     * `-- lifeboat:allow rule-name` in the migration.
     */
    plan: z
      .object({
        /** Run the plan before every guarded deploy (default true). */
        enabled: z.boolean().optional(),
        /** Rules (`adding-not-null`), migrations (`20240101_init`) or `rule@migration` whose findings never block. */
        allow: z.array(z.string().min(1)).optional(),
        /** A rule's severity over its default; `off` leaves the rule out. */
        severity: z.record(z.string().min(1), z.enum(['error', 'warning', 'info', 'off'])).optional(),
        /** The schema-only rehearsal: `auto` (default) where the SQL must be captured (Knex, `lifeboat run`), `always`, or `never`. */
        rehearse: z.enum(['auto', 'always', 'never']).optional(),
        /** Time for each pre-check query against the live data. Default 5s. */
        precheckTimeout: duration.optional(),
      })
      .strict()
      .optional(),
    /**
     * The migrate tool's sessions: how long a statement waits for a lock before it gives up
     * (default "5s": never queue the app behind a long transaction), an optional statement
     * timeout, and how many times a deploy that gave up on a lock is retried (default 3,
     * with back-off) before it fails and rolls back like any failure.
     */
    locks: z
      .object({
        timeout: duration.optional(),
        statementTimeout: duration.optional(),
        retries: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
    /** Recovery objectives, checked by `lifeboat status`. */
    objectives: z
      .object({
        /** The newest good (verified) snapshot must be younger than this. */
        rpo: duration.optional(),
        /** The newest drill must have restored within this. */
        rto: duration.optional(),
        /** The newest snapshot pushed off-site (`remote`) must be younger than this. */
        offsite: duration.optional(),
      })
      .strict()
      .optional(),
    /**
     * What each table's data is (`table` or `schema.table`; default critical). Snapshots keep the
     * schema of every table but the data of derived and ephemeral ones only with --all-data, and
     * lost rows in those classes are allowed.
     */
    classes: z.record(z.string().min(1), z.enum(DATA_CLASSES)).optional(),
    /**
     * Data loss a migration may cause on purpose: `table` or `schema.table`, and `table.column`
     * (a renamed table or column by its old or its new name; a rename itself needs none).
     */
    allow: z
      .object({
        droppedTables: tableList.optional(),
        rowLoss: z.array(rowLossAllowance).optional(),
        droppedColumns: tableList.optional(),
        valueLoss: z.array(valueLossAllowance).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type LifeboatConfig = z.input<typeof configSchema>;

/** Identity, for types and editor completion in `lifeboat.config.ts`. */
export function defineConfig(config: LifeboatConfig): LifeboatConfig {
  return config;
}
