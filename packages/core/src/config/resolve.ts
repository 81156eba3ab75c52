import { resolve } from 'node:path';
import type { CheckSettings } from '../checks/run.js';
import type { RetentionPolicy } from '../retention/policy.js';
import type { StrategyName } from '../strategies/choose.js';
import type { LoadedConfig } from './load.js';
import type { Compression, DumpFormat } from '../strategies/dump.js';
import type { DataClass, LifeboatConfig } from './schema.js';
import type { EncryptionSettings } from '../crypto/age.js';
import type { RemoteSettings } from '../remote/url.js';

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
  objectives: { rpoSeconds: number | undefined; rtoSeconds: number | undefined; offsiteSeconds: number | undefined };
  /** The off-site store, when the config names one (`--remote URL` overrides its URL). */
  remote: RemoteSettings | undefined;
  /** age encryption of what leaves the machine, when configured. */
  encryption: EncryptionSettings | undefined;
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

export interface SettingFlags {
  store?: string | undefined;
  strategy?: StrategyName | undefined;
  /** --no-rollback */
  rollback?: boolean | undefined;
  allowDataLoss?: boolean | undefined;
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
    retention: retentionPolicy(config.retention),
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
        valueLoss: config.allow?.valueLoss ?? [],
      },
      countBudgetMs,
      classes: config.classes ?? {},
    },
    objectives: {
      rpoSeconds: durationSeconds(config.objectives?.rpo),
      rtoSeconds: durationSeconds(config.objectives?.rto),
      offsiteSeconds: durationSeconds(config.objectives?.offsite),
    },
    classes: config.classes ?? {},
    remote: config.remote && {
      url: config.remote.url,
      ...(config.remote.endpoint ? { endpoint: config.remote.endpoint } : {}),
      ...(config.remote.region ? { region: config.remote.region } : {}),
      ...(config.remote.forcePathStyle !== undefined ? { forcePathStyle: config.remote.forcePathStyle } : {}),
      push: config.remote.push ?? 'manual',
      retention: retentionPolicy(config.remote.retention),
    },
    encryption: config.encryption && {
      recipients: config.encryption.recipients ?? [],
      ...(config.encryption.passphraseEnv ? { passphraseEnv: config.encryption.passphraseEnv } : {}),
      ...(config.encryption.identityFile ? { identityFile: resolve(loaded.dir, config.encryption.identityFile) } : {}),
      identityEnv: config.encryption.identityEnv ?? 'LIFEBOAT_AGE_IDENTITY',
    },
  };
}

function retentionPolicy(config: LifeboatConfig['retention']): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const key of ['keep', 'maxAgeDays', 'daily', 'weekly', 'monthly'] as const) {
    if (config?.[key] !== undefined) policy[key] = config[key];
  }
  return policy;
}
