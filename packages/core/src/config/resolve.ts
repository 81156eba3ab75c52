import { resolve } from 'node:path';
import type { CheckSettings } from '../checks/run.js';
import type { RetentionPolicy } from '../retention/prune.js';
import type { StrategyName } from '../strategies/choose.js';
import type { LoadedConfig } from './load.js';
import type { Compression, DumpFormat } from '../strategies/dump.js';
import type { DataClass, LifeboatConfig } from './schema.js';

/** Everything a command needs to know, from the config file, then flags over it. */
export interface Settings {
  /** The database URL from the config file, if it names one (after --database-url, before DATABASE_URL). */
  databaseUrl: string | undefined;
  store: string;
  strategy: StrategyName;
  dump: { format: DumpFormat | 'auto'; jobs: number | undefined; compression: Compression };
  onFailure: 'rollback' | 'keep';
  lockTimeoutMs: number;
  countBudgetMs: number;
  retention: RetentionPolicy;
  checks: CheckSettings;
  objectives: { rpoSeconds: number | undefined; rtoSeconds: number | undefined };
  /** Table (`table` or `schema.table`) → its data class; tables not named are critical. */
  classes: Record<string, DataClass>;
}

/** Seconds in "90s", "15m", "24h", "7d" (or a number of seconds). */
export function durationSeconds(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value)!;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/** The class of a table by the config's names; critical unless named. */
export function classOf(classes: Record<string, DataClass>, table: { schema: string; name: string; parent?: string }): DataClass {
  const parentName = table.parent?.slice(table.parent.indexOf('.') + 1);
  return classes[`${table.schema}.${table.name}`] ?? classes[table.name] ?? (table.parent ? (classes[table.parent] ?? classes[parentName!]) : undefined) ?? 'critical';
}

/** Retention without a setting: bounded, so that neither the store nor the server fills up by itself. */
export const DEFAULT_RETENTION = { keep: 10, keepOnServer: 3 } as const satisfies RetentionPolicy;

export interface SettingFlags {
  store?: string | undefined;
  strategy?: StrategyName | undefined;
  /** --no-rollback */
  rollback?: boolean | undefined;
  allowDataLoss?: boolean | undefined;
  /** prune's --keep, --max-age, --keep-on-server: over the config's retention. */
  keep?: number | undefined;
  maxAgeDays?: number | undefined;
  keepOnServer?: number | undefined;
}

/**
 * Flags over the config, key by key; the default count (keep 10) only when neither names a
 * count or an age, and the default bound on copies on the server always unless one is named.
 */
function retentionOf(config: LifeboatConfig['retention'], flags: SettingFlags): RetentionPolicy {
  const keep = flags.keep ?? config?.keep;
  const maxAgeDays = flags.maxAgeDays ?? config?.maxAgeDays;
  return {
    ...(keep !== undefined ? { keep } : maxAgeDays === undefined ? { keep: DEFAULT_RETENTION.keep } : {}),
    ...(maxAgeDays !== undefined ? { maxAgeDays } : {}),
    keepOnServer: flags.keepOnServer ?? config?.keepOnServer ?? DEFAULT_RETENTION.keepOnServer,
  };
}

export function resolveSettings(loaded: LoadedConfig, flags: SettingFlags, cwd: string): Settings {
  const { config } = loaded;
  const checks = config.checks ?? {};
  const countBudgetMs = (config.rowCountBudgetSeconds ?? 30) * 1000;
  return {
    databaseUrl: config.databaseUrl,
    store: flags.store !== undefined ? resolve(cwd, flags.store) : resolve(loaded.dir, config.store ?? '.lifeboat'),
    strategy: flags.strategy ?? config.strategy ?? 'auto',
    dump: { format: config.dump?.format ?? 'auto', jobs: config.dump?.jobs, compression: (config.dump?.compression ?? 'auto') as Compression },
    onFailure: flags.rollback === false ? 'keep' : (config.onFailure ?? 'rollback'),
    lockTimeoutMs: (config.lockTimeoutSeconds ?? 600) * 1000,
    countBudgetMs,
    retention: retentionOf(config.retention, flags),
    checks: {
      migrations: checks.migrations ?? true,
      invalidIndexes: checks.invalidIndexes ?? true,
      notValidConstraints: checks.notValidConstraints ?? true,
      dataPreservation: checks.dataPreservation ?? true,
      sequences: checks.sequences ?? true,
      sql: checks.sql ?? [],
      allow: {
        all: flags.allowDataLoss === true,
        droppedTables: config.allow?.droppedTables ?? [],
        rowLoss: config.allow?.rowLoss ?? [],
        droppedColumns: config.allow?.droppedColumns ?? [],
      },
      countBudgetMs,
      classes: config.classes ?? {},
    },
    objectives: { rpoSeconds: durationSeconds(config.objectives?.rpo), rtoSeconds: durationSeconds(config.objectives?.rto) },
    classes: config.classes ?? {},
  };
}
